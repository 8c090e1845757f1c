//! Fuzz target: expressions in Cloudflare's Rules language (`bot_policy::Expression`).
//!
//! The input, if UTF-8, is compiled with one named list of each kind (`$ips`, `$names`,
//! `$asns`). Never panics: neither compiling, nor evaluating a compiled expression against three
//! fixed requests (huge and non-UTF-8 header values, IPv4 and IPv6 clients, every `bot.*` field,
//! an empty request), nor rendering an error (`render`, `line_col`). An expression that reports
//! itself constant (`Expression::constant`) has that value on every request.
#![no_main]

use bot_policy::{Expression, Limits};
use libfuzzer_sys::fuzz_target;
use web_bot_auth_fuzz::policy::{lists, with_requests};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match Expression::compile_with(src, lists(), &Limits::default()) {
        Ok(expr) => {
            assert_eq!(expr.source(), src);
            let constant = expr.constant();
            with_requests(|facts| {
                let matched = expr.matches(facts);
                if let Some(value) = constant {
                    assert_eq!(
                        matched, value,
                        "constant() is {value}, yet {src:?} gave {matched} on {facts:?}"
                    );
                }
            });
        }
        Err(err) => {
            let (line, column) = err.line_col(src);
            assert!(line >= 1 && column >= 1, "line_col {line}:{column}");
            assert!(err.start() <= err.end());
            let rendered = err.render(src);
            assert!(rendered.contains(err.message()));
            let _ = (err.kind(), err.to_string());
        }
    }
});
