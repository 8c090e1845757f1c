//! Fuzz target: bot catalog files (`bot_policy::catalog::Catalog::from_toml_str`).
//!
//! The input, if UTF-8, is parsed as catalog data. Never panics. A catalog that loads:
//! `match_user_agent` on fixed user agents, on each entry's tokens and on the input's own bytes
//! returns one of its entries and agrees with a naive matcher following the documented rules (a
//! named bot's token, alone, finds that bot); `by_signature_agent` finds every entry's agents
//! (also quoted, with a trailing `/`, in another case) and `get` every entry's name. An error
//! names a line and column inside the input; one about a value (everything but a TOML syntax or
//! shape error) points at that value's opening quote.
#![no_main]

use bot_policy::catalog::{BotKind, Catalog, CatalogError};
use libfuzzer_sys::fuzz_target;
use web_bot_auth_fuzz::catalog::{Reference, check_match, entry_index};

/// User agents matched against every catalog that loads.
const USER_AGENTS: &[&[u8]] = &[
    b"",
    b"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.1; +https://openai.com/gptbot)",
    b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0 Safari/537.36",
    b"curl/8.7.1",
    b"Feedly/1.0 (+http://www.feedly.com/fetcher.html; like FeedFetcher-Google)",
    b"Java/17.0.2 (Java; U; MIDP-2.0) Bytespider CompanySpiderman ExampleBot",
    b"\xff\xfeClaude-User\x80python-requests/2.31\x00sqlmap",
];

/// Signature agents looked up in every catalog that loads.
const AGENTS: &[&str] = &[
    "",
    "\"",
    "\"\"",
    "/",
    "https://chatgpt.com",
    " \"HTTPS://ChatGPT.com/\" ",
    "https://bot.example.com//",
];

/// Whether `(line, column)` (from 1; columns count characters) is a position in `src`: at most
/// one past the end of its line.
fn position_in(src: &str, line: usize, column: usize) -> bool {
    line >= 1
        && column >= 1
        && src
            .split('\n')
            .nth(line - 1)
            .is_some_and(|text| column <= text.chars().count() + 1)
}

/// The character at `(line, column)` of `src`.
fn char_at(src: &str, line: usize, column: usize) -> Option<char> {
    src.split('\n')
        .nth(line.checked_sub(1)?)?
        .chars()
        .nth(column.checked_sub(1)?)
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match Catalog::from_toml_str(src) {
        Ok(catalog) => {
            assert_eq!(catalog.len(), catalog.entries().len());
            assert_eq!(catalog.is_empty(), catalog.entries().is_empty());
            let reference = Reference::new(&catalog);
            for ua in USER_AGENTS {
                check_match(&catalog, &reference, ua);
            }
            check_match(&catalog, &reference, data);
            for agent in AGENTS {
                if let Some(entry) = catalog.by_signature_agent(agent) {
                    assert!(entry_index(&catalog, entry).is_some());
                }
            }
            for (index, entry) in catalog.entries().iter().enumerate() {
                assert!(!entry.name.is_empty() && entry.name.trim() == entry.name);
                let got = catalog.get(&entry.name);
                assert!(
                    got.is_some_and(|g| std::ptr::eq(g, entry)),
                    "get({:?}) does not find its entry",
                    entry.name
                );
                let upper = entry.name.to_ascii_uppercase();
                assert!(
                    catalog.get(&upper).is_some_and(|g| std::ptr::eq(g, entry)),
                    "get({upper:?}) does not find {:?}",
                    entry.name
                );
                assert!(
                    !entry.tokens.is_empty() || !entry.signature_agents.is_empty(),
                    "{:?} can be found neither way",
                    entry.name
                );
                for token in &entry.tokens {
                    check_match(&catalog, &reference, token.as_bytes());
                    let found = catalog.match_user_agent(token.as_bytes());
                    assert!(found.is_some(), "token {token:?} alone matches nothing");
                    if entry.kind == BotKind::Bot {
                        assert!(
                            found.is_some_and(|f| std::ptr::eq(f, entry)),
                            "token {token:?} of bot {:?} alone finds {:?}",
                            entry.name,
                            found.map(|f| &f.name)
                        );
                    }
                }
                for agent in &entry.signature_agents {
                    for spelling in [
                        agent.clone(),
                        format!(" \"{}/\" ", agent.trim().to_ascii_uppercase()),
                    ] {
                        let found = catalog.by_signature_agent(&spelling);
                        // The last entry naming the agent wins: this one or a later one.
                        let found_at = found.and_then(|f| entry_index(&catalog, f));
                        assert!(
                            found_at.is_some_and(|at| at >= index),
                            "by_signature_agent({spelling:?}) of {:?} finds {:?}",
                            entry.name,
                            found.map(|f| &f.name)
                        );
                    }
                }
            }
        }
        Err(err) => {
            let message = err.to_string();
            match (err.line(), err.column()) {
                (Some(line), Some(column)) => {
                    assert!(
                        position_in(src, line, column),
                        "{message}: line {line}, column {column} is outside the input"
                    );
                    assert!(message.starts_with(&format!("line {line}, column {column}: ")));
                    if !matches!(err, CatalogError::Syntax { .. }) {
                        let at = char_at(src, line, column);
                        assert!(
                            matches!(at, Some('"' | '\'')),
                            "{message}: the position points at {at:?}, not at a string value"
                        );
                    }
                }
                (None, None) => {
                    assert!(matches!(err, CatalogError::Matcher { .. }), "{message}");
                }
                (line, column) => panic!("{message}: line {line:?} but column {column:?}"),
            }
        }
    }
});
