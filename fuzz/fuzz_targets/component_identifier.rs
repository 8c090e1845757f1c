//! Fuzz target: component identifiers (RFC 9421 §2), read from a structured-field item and
//! built with the builders.
//!
//! Never panics; an accepted identifier serializes (`as_str`) to an item that is read back to
//! an equal identifier with the same serialization.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sfv::{Item, Parser};
use web_bot_auth::component::ComponentIdentifier;

fuzz_target!(|data: &[u8]| {
    if let Ok(item) = Parser::new(data).parse::<Item>()
        && let Ok(id) = ComponentIdentifier::from_item(&item)
    {
        round_trip(&id);
    }

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    round_trip(&ComponentIdentifier::query_param(text));
    // `field` name before the first tab, dictionary member after it.
    let (name, member) = match text.split_once('\t') {
        Some((n, m)) => (n, Some(m)),
        None => (text, None),
    };
    if let Ok(id) = ComponentIdentifier::field(name) {
        round_trip(&id);
        round_trip(&id.clone().with_sf());
        round_trip(&id.clone().with_bs().with_req());
        round_trip(&id.clone().with_tr());
        if let Some(m) = member
            && let Ok(keyed) = id.with_key(m)
        {
            round_trip(&keyed);
            assert_eq!(keyed.key(), Some(m));
        }
    }
});

fn round_trip(id: &ComponentIdentifier) {
    let text = id.as_str();
    let item: Item = Parser::new(text)
        .parse()
        .unwrap_or_else(|e| panic!("as_str() {text:?} does not parse as an item: {e}"));
    let again = ComponentIdentifier::from_item(&item)
        .unwrap_or_else(|e| panic!("as_str() {text:?} is refused when read back: {e}"));
    assert_eq!(
        &again, id,
        "round trip through {text:?} changed the identifier"
    );
    assert_eq!(again.as_str(), text, "serialization is not stable");
}
