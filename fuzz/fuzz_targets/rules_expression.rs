//! Fuzz target: expressions in Cloudflare's Rules language (`bot_policy::Expression`).
//!
//! The input, if UTF-8, is compiled with one named list of each kind (`$ips`, `$names`,
//! `$asns`). Never panics: neither compiling, nor evaluating a compiled expression against three
//! fixed requests (huge and non-UTF-8 header values, IPv4 and IPv6 clients, every `bot.*` field,
//! an empty request), nor rendering an error (`render`, `line_col`). An expression that reports
//! itself constant (`Expression::constant`) has that value on every request; the expression
//! under `not`, `and` itself and `or not` itself keeps boolean logic.
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
            // The same expression under `not`, `and` and `or`: compiled into the jumps of the
            // flat form, they must keep boolean logic.
            let compose =
                |text: String| Expression::compile_with(&text, lists(), &Limits::default()).ok();
            let negated = compose(format!("not ({src}\n)"));
            let both = compose(format!("({src}\n) and ({src}\n)"));
            let either = compose(format!("({src}\n) or not ({src}\n)"));
            with_requests(|facts| {
                let matched = expr.matches(facts);
                if let Some(value) = constant {
                    assert_eq!(
                        matched, value,
                        "constant() is {value}, yet {src:?} gave {matched} on {facts:?}"
                    );
                }
                if let Some(negated) = &negated {
                    assert_eq!(negated.matches(facts), !matched, "not ({src:?})");
                }
                if let Some(both) = &both {
                    assert_eq!(both.matches(facts), matched, "({src:?}) and itself");
                }
                if let Some(either) = &either {
                    assert!(either.matches(facts), "({src:?}) or not itself");
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
