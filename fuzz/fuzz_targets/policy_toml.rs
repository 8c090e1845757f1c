//! Fuzz target: policy files (`bot_policy::Policy::from_toml_str_with`).
//!
//! The input, if UTF-8, is loaded as a policy, with list files read from the fixture directory
//! `data/policy-lists/` (inputs naming any other list file are skipped, so that a mutated path
//! never reads `/dev/stdin` or the like). Never panics. A policy that loads is evaluated, traced
//! and dry, on three fixed requests (the deciding rule ends the trace) and linted
//! (`Policy::lint`, each warning rendered); a policy that does not load renders its errors
//! (`PolicyError::render`).
#![no_main]

use bot_policy::Policy;
use bot_policy::policy::LoadOptions;
use libfuzzer_sys::fuzz_target;
use web_bot_auth_fuzz::policy::{LIST_DIR, list_files_are_fixtures, with_requests};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    if !list_files_are_fixtures(src) {
        return;
    }
    let options = LoadOptions::new().base_dir(LIST_DIR);
    match Policy::from_toml_str_with(src, &options) {
        Ok(policy) => {
            with_requests(|facts| {
                let decision = policy.evaluate_traced(facts);
                assert!(decision.trace().len() <= policy.rules().len());
                if let Some(rule) = decision.rule() {
                    let last = decision.trace().last().map(|entry| entry.rule);
                    assert_eq!(last, Some(rule), "the deciding rule ends the trace");
                }
                let dry = policy.evaluate_dry(facts);
                assert!(dry.trace().len() <= policy.rules().len());
                let _ = (
                    decision.status(),
                    dry.status(),
                    policy.evaluate(facts).verdict().name(),
                );
            });
            for rule in policy.rules() {
                let _ = (
                    rule.id(),
                    rule.position(),
                    rule.hits(),
                    rule.action().name(),
                );
            }
            for diagnostic in policy.lint() {
                let rendered = diagnostic.render("policy.toml");
                assert!(rendered.starts_with("policy.toml:"), "{rendered}");
            }
        }
        Err(err) => {
            assert!(
                !err.diagnostics().is_empty(),
                "an error with no diagnostics"
            );
            let rendered = err.render("policy.toml");
            assert!(rendered.starts_with("policy.toml:"), "{rendered}");
            let _ = err.to_string();
        }
    }
});
