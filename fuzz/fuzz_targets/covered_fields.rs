//! Fuzz target: covered field values in the signature base (RFC 9421 §2.1, §2.5): `;sf`,
//! `;key`, `;bs`, `;tr`, `;req`, plain fields and the derived components, over a request whose
//! field values, query and authority come from the input.
//!
//! Input lines: 0 dictionary fields, 1 list field, 2 item field, 3 and 4 raw fields (two
//! lines of each), 5 the `;key` member, 6 the query and `;name`, 7 the authority.
//!
//! Never panics; a base that is built is ASCII with exactly one line per component, each
//! starting with the component identifier.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use web_bot_auth::base::SignatureBase;
use web_bot_auth::component::{ComponentIdentifier, DerivedComponent};
use web_bot_auth::field::{FieldTypes, StructuredType};
use web_bot_auth::message::{MessageView, RequestView, ResponseView};
use web_bot_auth::params::SignatureParams;

fn field(name: &str) -> ComponentIdentifier {
    ComponentIdentifier::field(name).expect("valid field name")
}

/// The components that do not depend on the input, and their one-component parameters (built
/// once: building parameters is most of the cost of a run).
struct Fixed {
    components: Vec<ComponentIdentifier>,
    alone: Vec<SignatureParams>,
    alone_req: Vec<SignatureParams>,
    types: FieldTypes,
}

fn fixed() -> &'static Fixed {
    static FIXED: OnceLock<Fixed> = OnceLock::new();
    FIXED.get_or_init(|| {
        let components = vec![
            field("example-dict").with_sf(),
            field("priority").with_sf(),
            field("cache-status").with_sf(),
            field("x-list").with_sf(),
            field("client-cert").with_sf(),
            field("x-item").with_sf(),
            field("x-unknown-type").with_sf(),
            field("x-bin").with_bs(),
            field("x-plain").with_bs().with_tr(),
            field("x-plain"),
            field("x-plain").with_tr(),
            field("example-dict").with_key("a").expect("valid key"),
            ComponentIdentifier::query_param("a"),
            DerivedComponent::Authority.into(),
            DerivedComponent::TargetUri.into(),
            DerivedComponent::RequestTarget.into(),
            DerivedComponent::Query.into(),
        ];
        let alone = components
            .iter()
            .filter_map(|c| params(std::slice::from_ref(c)))
            .collect();
        let mut req: Vec<ComponentIdentifier> =
            components.iter().map(|c| c.clone().with_req()).collect();
        req.push(DerivedComponent::Status.into());
        req.push(field("x-plain"));
        let alone_req = req
            .iter()
            .filter_map(|c| params(std::slice::from_ref(c)))
            .collect();
        Fixed {
            components,
            alone,
            alone_req,
            types: FieldTypes::default()
                .with("example-dict", StructuredType::Dictionary)
                .with("x-list", StructuredType::List)
                .with("x-item", StructuredType::Item),
        }
    })
}

fn params(components: &[ComponentIdentifier]) -> Option<SignatureParams> {
    SignatureParams::builder()
        .components(components.iter().cloned())
        .created(1_618_884_473)
        .keyid("test-key")
        .build()
        .ok()
}

fuzz_target!(|data: &[u8]| {
    let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').take(8).collect();
    lines.resize(8, b"");
    let text = |i: usize| std::str::from_utf8(lines[i]).unwrap_or("");

    let headers: Vec<(&str, &[u8])> = vec![
        ("Example-Dict", lines[0]),
        ("priority", lines[0]),
        ("cache-status", lines[1]),
        ("x-list", lines[1]),
        ("client-cert", lines[2]),
        ("x-item", lines[2]),
        ("x-bin", lines[3]),
        ("x-plain", lines[3]),
        ("X-Bin", lines[4]),
        ("x-plain", lines[4]),
        ("content-type", b"application/json"),
    ];
    let member = text(5);
    let query = text(6);
    let authority = text(7);
    let request = RequestView {
        method: "POST",
        scheme: "https",
        authority,
        path: "/foo",
        query: (!query.is_empty()).then_some(query),
        request_target: None,
        headers: &headers,
        trailers: &headers,
    };

    let fixed = fixed();
    let types = &fixed.types;
    let mut components = fixed.components.clone();
    let mut extra = vec![ComponentIdentifier::query_param(query)];
    if let Ok(keyed) = field("example-dict").with_key(member) {
        extra.push(keyed);
        if let Ok(keyed) = field("priority").with_key(member) {
            extra.push(keyed.with_tr());
        }
    }

    // Each component on its own (the fixed ones with their parameters built once) …
    let message = MessageView::Request(request);
    for params in &fixed.alone {
        check(&message, params, types);
    }
    for c in &extra {
        base(&message, std::slice::from_ref(c), types);
    }
    // … and all of them together.
    components.extend(extra.iter().cloned());
    base(&message, &components, types);

    // A response, with each component taken from the request (`;req`).
    let response = MessageView::Response(
        ResponseView {
            status: 200,
            headers: &headers,
            trailers: &headers,
        },
        Some(request),
    );
    for params in &fixed.alone_req {
        check(&response, params, types);
    }
    let extra_req: Vec<ComponentIdentifier> = extra.iter().map(|c| c.clone().with_req()).collect();
    for c in &extra_req {
        base(&response, std::slice::from_ref(c), types);
    }
});

fn base(message: &MessageView<'_>, components: &[ComponentIdentifier], types: &FieldTypes) {
    if let Some(params) = params(components) {
        check(message, &params, types);
    }
}

/// Builds the base; when it builds, checks its shape: ASCII, one line per component starting
/// with the component identifier, then the `@signature-params` line.
fn check(message: &MessageView<'_>, params: &SignatureParams, types: &FieldTypes) {
    let Ok(base) = SignatureBase::new(message, params, types) else {
        return;
    };
    let text = base.as_str();
    assert!(text.is_ascii(), "base is not ASCII");
    assert!(!text.contains('\r'), "base holds a CR");
    let components = params.components();
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(
        lines.len(),
        components.len() + 1,
        "a component value holds a line break: {text:?}"
    );
    for (line, c) in lines.iter().zip(components) {
        let prefix = format!("{}: ", c.as_str());
        assert!(
            line.starts_with(&prefix),
            "{line:?} does not start with {prefix:?}"
        );
    }
    let last = lines.last().copied().unwrap_or("");
    assert_eq!(last, format!("\"@signature-params\": {}", params.as_str()));
}
