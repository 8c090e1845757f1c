//! RFC 9421 §2 component examples: every example message of §2.1–§2.2 yields exactly the
//! signature base line the RFC shows, the §2.4 and §2.5 example bases are reproduced byte for
//! byte, and the error cases that §2.1, §2.2 and §2.5 describe are reported.
//!
//! The example messages and the expected lines are read out of the verbatim RFC text
//! (`tests/data/vectors/rfc9421-sec2-component-examples.txt`); the few inputs the RFC describes
//! only in prose are hardcoded, with the section named next to them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use web_bot_auth::base::SignatureBase;
use web_bot_auth::component::{ComponentIdentifier, DerivedComponent};
use web_bot_auth::error::{BaseError, ParamsError};
use web_bot_auth::field::{FieldTypes, StructuredType};
use web_bot_auth::fields::signature_entries;
use web_bot_auth::http1::{self, Http1Limits, Http1Message};
use web_bot_auth::message::{MessageView, NoFields, RequestView};
use web_bot_auth::params::SignatureParams;

const VECTOR: &str = "rfc9421-sec2-component-examples.txt";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The fenced blocks (RFC 8792-unwrapped) of the section whose heading carries `{#anchor}`,
/// up to the next heading of any level.
fn section(anchor: &str) -> Vec<String> {
    let text = vector(VECTOR);
    let tag = format!("{{#{anchor}}}");
    let start = text
        .lines()
        .position(|l| l.starts_with('#') && l.contains(&tag))
        .unwrap_or_else(|| panic!("no section {anchor}"));
    let body: Vec<&str> = text
        .lines()
        .skip(start + 1)
        .take_while(|l| !l.starts_with('#'))
        .collect();
    fenced_blocks(&body.join("\n"))
}

/// The RFC writes a single trailing space as `(SP)`.
fn sp(text: &str) -> String {
    text.replace("(SP)", " ")
}

/// The RFC §2.1 examples are header fragments without a start line: give them one (and a `Host`
/// field when they have none, so that the request has an authority).
fn fragment(fields: &str) -> Http1Message {
    let host = if fields.lines().any(|l| l.starts_with("Host:")) {
        ""
    } else {
        "Host: www.example.com\n"
    };
    message(&format!("GET /foo HTTP/1.1\n{host}{fields}"))
}

fn request<'a>(msg: &'a Http1Message, scheme: &'a str) -> MessageView<'a> {
    MessageView::Request(msg.request_view(scheme).unwrap())
}

/// A request view for a request message, a response view (without request) for a response.
fn view<'a>(msg: &'a Http1Message, scheme: &'a str) -> MessageView<'a> {
    if msg.is_request() {
        request(msg, scheme)
    } else {
        msg.response_view(None).unwrap()
    }
}

/// Parses a component identifier as it appears in a base line or `Signature-Input`.
fn parse_id(text: &str) -> ComponentIdentifier {
    let item: sfv::Item = sfv::Parser::new(text)
        .parse()
        .unwrap_or_else(|e| panic!("{text}: {e}"));
    let id = ComponentIdentifier::from_item(&item).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(id.as_str(), text, "identifier serializes back as received");
    id
}

/// The identifier of a base line `"<identifier>": <value>`.
fn id_of_line(line: &str) -> ComponentIdentifier {
    let (id, _) = line
        .split_once(": ")
        .unwrap_or_else(|| panic!("not a base line: {line:?}"));
    parse_id(id)
}

/// The base lines for one covered component: everything before `"@signature-params"`.
fn line(
    view: &MessageView<'_>,
    id: ComponentIdentifier,
    types: &FieldTypes,
) -> Result<String, BaseError> {
    let params = SignatureParams::builder().component(id).build().unwrap();
    let base = SignatureBase::new(view, &params, types)?;
    let (component, _) = base
        .as_str()
        .rsplit_once("\n\"@signature-params\"")
        .expect("a base ends with the @signature-params line");
    Ok(component.to_owned())
}

/// Every line of `expected` (one `"<identifier>": <value>` per line) is reproduced from `view`.
fn check_lines(view: &MessageView<'_>, expected: &str, types: &FieldTypes) {
    let expected = sp(expected);
    let mut n = 0;
    for want in expected.lines() {
        let id = id_of_line(want);
        let got = line(view, id, types).unwrap_or_else(|e| panic!("{want:?}: {e}"));
        assert_eq!(got, want);
        n += 1;
    }
    assert!(n > 0, "no lines in {expected:?}");
}

/// A derived-component example: message, component value, signature base line.
fn check_triple(blocks: &[String], scheme: &str) {
    let [msg, value, want] = blocks else {
        panic!("expected message, value and line, got {blocks:#?}")
    };
    let msg = message(msg);
    let (value, want) = (value.trim_end_matches('\n'), want.trim_end_matches('\n'));
    let id = id_of_line(want);
    assert_eq!(
        want,
        format!("{id}: {value}"),
        "the RFC's value and line agree"
    );
    assert_eq!(
        line(&view(&msg, scheme), id, &FieldTypes::default()).unwrap(),
        want
    );
}

/// A whole example signature base (its `@signature-params` line gives the parameters).
fn check_base(view: &MessageView<'_>, expected: &str) -> SignatureParams {
    let expected = expected.trim_end_matches('\n');
    let (_, value) = expected
        .rsplit_once("\n\"@signature-params\": ")
        .expect("base ends with @signature-params");
    let list: sfv::List = sfv::Parser::new(value).parse().unwrap();
    let params = SignatureParams::from_entry(&list[0]).unwrap();
    let base = SignatureBase::new(view, &params, &FieldTypes::default()).unwrap();
    assert_eq!(base.as_str(), expected);
    params
}

// ---------------------------------------------------------------------------------------------
// §2.1 HTTP fields
// ---------------------------------------------------------------------------------------------

#[test]
fn sec2_1_header_fields() {
    let blocks = section("http-fields");
    let msg = fragment(&blocks[0]);
    let view = request(&msg, "https");
    // host, date, x-ows-header (trimmed), x-obs-fold-header (unfolded), cache-control
    // (two lines combined with ", "), example-dict (raw, internal whitespace kept).
    check_lines(&view, &blocks[1], &FieldTypes::default());
    assert_eq!(blocks[1].lines().count(), 6);

    // Identifiers built from mixed-case field names are lowercased (§2.1).
    for (name, want) in [
        (
            "X-OWS-Header",
            "\"x-ows-header\": Leading and trailing whitespace.",
        ),
        (
            "X-Obs-Fold-Header",
            "\"x-obs-fold-header\": Obsolete line folding.",
        ),
        (
            "Cache-Control",
            "\"cache-control\": max-age=60, must-revalidate",
        ),
    ] {
        let id = ComponentIdentifier::field(name).unwrap();
        assert_eq!(line(&view, id, &FieldTypes::default()).unwrap(), want);
    }
}

#[test]
fn sec2_1_trailing_whitespace_and_tabs() {
    // §2.1: "Strip leading and trailing whitespace from each item". The RFC's `X-OWS-Header`
    // example is named for trailing whitespace too, which its rendering does not show; add it
    // (spaces and a tab) to each example field and expect the very same lines.
    let blocks = section("http-fields");
    let padded: String = blocks[0].lines().map(|l| format!("{l}  \t \n")).collect();
    let msg = fragment(&padded);
    check_lines(&request(&msg, "https"), &blocks[1], &FieldTypes::default());
}

#[test]
fn sec2_1_empty_header() {
    let blocks = section("http-fields");
    assert_eq!(blocks[2], "X-Empty-Header:(SP)\n");
    let msg = fragment(&sp(&blocks[2]));
    assert_eq!(msg.header_values("x-empty-header").count(), 1);
    let view = request(&msg, "https");
    check_lines(&view, &blocks[3], &FieldTypes::default());
    // The line keeps its trailing space: `"x-empty-header": ` then the empty value.
    assert_eq!(
        line(
            &view,
            ComponentIdentifier::field("X-Empty-Header").unwrap(),
            &FieldTypes::default()
        )
        .unwrap(),
        "\"x-empty-header\": "
    );
}

#[test]
fn sec2_1_1_strict_serialization() {
    let blocks = section("http-field-structured");
    let msg = fragment(&blocks[0]);
    let view = request(&msg, "https");
    let dict = FieldTypes::default().with("example-dict", StructuredType::Dictionary);

    // Without parameters: the raw value.
    check_lines(&view, &blocks[1], &FieldTypes::default());
    // With `;sf`: re-serialized, once the application knows the field is a Dictionary.
    check_lines(&view, &blocks[2], &dict);
    assert_eq!(
        blocks[2].trim_end(),
        "\"example-dict\";sf: a=1, b=2;x=1;y=2, c=(a b c)"
    );

    let sf = ComponentIdentifier::field("Example-Dict")
        .unwrap()
        .with_sf();
    assert_eq!(sf, id_of_line(&blocks[2]));
    assert_eq!(
        line(&view, sf.clone(), &dict).unwrap(),
        blocks[2].trim_end()
    );
    // §2.1.1: "If the application does not know the type of the field ... this flag will
    // produce an error."
    assert_eq!(
        line(&view, sf, &FieldTypes::default()),
        Err(BaseError::UnknownStructuredType("example-dict".into()))
    );
}

#[test]
fn sec2_1_1_strict_serialization_of_other_types() {
    // §2.1.1 with the other structured types (not an RFC example): an Item and a List, and
    // several field lines combined into one List before serialization.
    let msg = fragment("X-Item:   abc;a=1;b   \nX-List: a,   b\nX-List:   (c    d)\n");
    let view = request(&msg, "https");
    let types = FieldTypes::default()
        .with("x-item", StructuredType::Item)
        .with("x-list", StructuredType::List);
    check_lines(
        &view,
        "\"x-item\";sf: abc;a=1;b\n\"x-list\";sf: a, b, (c d)\n",
        &types,
    );
}

#[test]
fn sec2_1_2_dictionary_members() {
    let blocks = section("http-field-dictionary");
    let msg = fragment(&blocks[0]);
    let view = request(&msg, "https");
    // a → 1, d → ?1 (a bare key is Boolean true), b → 2;x=1;y=2, c → (a b c).
    check_lines(&view, &blocks[1], &FieldTypes::default());
    let keys: Vec<String> = blocks[1]
        .lines()
        .map(|l| id_of_line(l).key().unwrap().to_owned())
        .collect();
    assert_eq!(keys, ["a", "d", "b", "c"]);

    // The builder produces the same identifiers and lines.
    for want in blocks[1].lines() {
        let parsed = id_of_line(want);
        let built = ComponentIdentifier::field("Example-Dict")
            .unwrap()
            .with_key(parsed.key().unwrap())
            .unwrap();
        assert_eq!(built.as_str(), parsed.as_str());
        assert_eq!(line(&view, built, &FieldTypes::default()).unwrap(), want);
    }
}

/// The text between the backticks that follow `marker` in the vector.
fn quoted_after(marker: &str) -> String {
    let text = vector(VECTOR);
    let start = text.find(marker).unwrap_or_else(|| panic!("no {marker:?}")) + marker.len();
    let rest = &text[start..];
    let open = rest.find('`').unwrap() + 1;
    let close = open + rest[open..].find('`').unwrap();
    rest[open..close].to_owned()
}

#[test]
fn sec2_5_missing_dictionary_member() {
    // §2.5: "E.g., the identifier is `"example-dict";key="c"` and the value of the Example-Dict
    // header field is `a=1, b=2`, which does not have the `c` value."
    let id = quoted_after("E.g., the identifier is");
    let value = quoted_after("the value of the Example-Dict header field is");
    assert_eq!(
        (id.as_str(), value.as_str()),
        ("\"example-dict\";key=\"c\"", "a=1, b=2")
    );
    let msg = fragment(&format!("Example-Dict: {value}\n"));
    let view = request(&msg, "https");
    assert_eq!(
        line(&view, parse_id(&id), &FieldTypes::default()),
        Err(BaseError::MissingMember {
            field: "example-dict".into(),
            key: "c".into()
        })
    );
    // The members it does have are found.
    check_lines(
        &view,
        "\"example-dict\";key=\"a\": 1\n\"example-dict\";key=\"b\": 2\n",
        &FieldTypes::default(),
    );
}

#[test]
fn sec2_1_3_byte_sequences() {
    let blocks = section("http-field-byte-sequence");
    let two_lines = fragment(&blocks[0]);
    let one_line = fragment(&blocks[1]);
    let two = request(&two_lines, "https");
    let one = request(&one_line, "https");
    assert_eq!(two_lines.header_values("example-header").count(), 2);
    assert_eq!(one_line.header_values("example-header").count(), 1);

    // Without `;bs` both messages give the same line ...
    check_lines(&two, &blocks[2], &FieldTypes::default());
    check_lines(&one, &blocks[2], &FieldTypes::default());
    // ... with it they do not.
    check_lines(&two, &blocks[3], &FieldTypes::default());
    check_lines(&one, &blocks[4], &FieldTypes::default());
    assert_ne!(blocks[3], blocks[4]);

    let bs = ComponentIdentifier::field("Example-Header")
        .unwrap()
        .with_bs();
    assert_eq!(bs, id_of_line(&blocks[3]));
    assert_eq!(
        line(&two, bs, &FieldTypes::default()).unwrap(),
        blocks[3].trim_end()
    );
}

#[test]
fn sec2_1_3_byte_sequence_wraps_non_ascii() {
    // §2.1: "The `bs` parameter ... provides a method for wrapping such problematic field
    // values" (non-ASCII ones). Not an RFC example: `café` in UTF-8 is 63 61 66 C3 A9.
    let msg = http1::parse(
        b"GET / HTTP/1.1\r\nHost: example.com\r\nX-Name: caf\xc3\xa9\r\n\r\n",
        &Http1Limits::default(),
    )
    .unwrap();
    let view = request(&msg, "https");
    let id = ComponentIdentifier::field("x-name").unwrap();
    assert_eq!(
        line(&view, id.clone().with_bs(), &FieldTypes::default()).unwrap(),
        "\"x-name\";bs: :Y2Fmw6k=:"
    );
    assert_eq!(
        line(&view, id, &FieldTypes::default()),
        Err(BaseError::InvalidValue("\"x-name\"".into()))
    );
}

#[test]
fn sec2_1_4_trailers() {
    let blocks = section("http-trailer");
    let msg = message(&blocks[0]);
    assert_eq!(msg.body, b"HTTPMessageSignatures");
    let view = msg.response_view(None).unwrap();
    // "@status": 200, "trailer": Expires, "expires";tr: Wed, 9 Nov 2022 07:28:00 GMT
    check_lines(&view, &blocks[1], &FieldTypes::default());

    let tr = ComponentIdentifier::field("Expires").unwrap().with_tr();
    assert_eq!(tr, id_of_line(blocks[1].lines().nth(2).unwrap()));
    assert_eq!(
        line(&view, tr, &FieldTypes::default()).unwrap(),
        blocks[1].lines().nth(2).unwrap()
    );
    // Header and trailer fields are never mixed up (§2.1.4): `Expires` is not a header,
    // `Trailer` is not a trailer.
    assert_eq!(
        line(
            &view,
            ComponentIdentifier::field("expires").unwrap(),
            &FieldTypes::default()
        ),
        Err(BaseError::MissingField("expires".into()))
    );
    assert_eq!(
        line(
            &view,
            ComponentIdentifier::field("trailer").unwrap().with_tr(),
            &FieldTypes::default()
        ),
        Err(BaseError::MissingField("trailer".into()))
    );
}

// ---------------------------------------------------------------------------------------------
// §2.2 Derived components
// ---------------------------------------------------------------------------------------------

#[test]
fn sec2_2_1_method() {
    check_triple(&section("content-request-method"), "https");
    // §2.2.1 (prose): "no transformation to the input method value's case is performed".
    let msg = message("post /path?param=value HTTP/1.1\nHost: www.example.com\n");
    assert_eq!(
        line(
            &request(&msg, "https"),
            ComponentIdentifier::derived(DerivedComponent::Method),
            &FieldTypes::default()
        )
        .unwrap(),
        "\"@method\": post"
    );
}

#[test]
fn sec2_2_2_target_uri() {
    // "the following message sent over HTTPS"
    check_triple(&section("content-target-uri"), "https");
}

#[test]
fn sec2_2_3_authority() {
    check_triple(&section("content-request-authority"), "https");
}

#[test]
fn sec2_2_3_authority_is_normalized() {
    // §2.2.3 (prose, no example): the host is lowercased and the default port omitted.
    for (host, scheme, want) in [
        ("WWW.Example.COM", "https", "www.example.com"),
        ("www.example.com:443", "https", "www.example.com"),
        ("www.example.com:80", "http", "www.example.com"),
        ("www.example.com:8080", "https", "www.example.com:8080"),
    ] {
        let msg = message(&format!("GET /path HTTP/1.1\nHost: {host}\n"));
        assert_eq!(
            line(
                &request(&msg, scheme),
                ComponentIdentifier::derived(DerivedComponent::Authority),
                &FieldTypes::default()
            )
            .unwrap(),
            format!("\"@authority\": {want}"),
            "{host} over {scheme}"
        );
    }
}

#[test]
fn sec2_2_4_scheme() {
    // The RFC's @scheme example is the same request text as the @target-uri one (whose value is
    // `https://...`), but "requested over plain HTTP": the scheme comes from the connection, so
    // this one is viewed with scheme "http".
    check_triple(&section("content-request-scheme"), "http");
    // And uppercase schemes are lowercased (§2.2.4 prose).
    let blocks = section("content-request-scheme");
    let msg = message(&blocks[0]);
    let mut view = msg.request_view("https").unwrap();
    view.scheme = "HTTP";
    assert_eq!(
        line(
            &MessageView::Request(view),
            ComponentIdentifier::derived(DerivedComponent::Scheme),
            &FieldTypes::default()
        )
        .unwrap(),
        blocks[2].trim_end()
    );
}

#[test]
fn sec2_2_5_request_target_all_forms() {
    let blocks = section("content-request-target");
    assert_eq!(blocks.len(), 12);
    // origin-form, absolute-form (proxy), authority-form (CONNECT), asterisk-form (OPTIONS).
    for triple in blocks.chunks(3) {
        check_triple(triple, "https");
    }
    // The absolute-form target is the target URI itself.
    let msg = message(&blocks[3]);
    assert_eq!(
        line(
            &request(&msg, "http"),
            ComponentIdentifier::derived(DerivedComponent::TargetUri),
            &FieldTypes::default()
        )
        .unwrap(),
        format!("\"@target-uri\": {}", blocks[4].trim_end())
    );
}

#[test]
fn sec2_2_5_request_target_derived_without_request_line() {
    // When the request line is not known (`request_target: None`), the origin form and the
    // CONNECT authority form are derived from the other parts (the §2.2.5 origin-form and
    // authority-form examples).
    let blocks = section("content-request-target");
    for i in [0, 6] {
        let msg = message(&blocks[i]);
        let mut view = msg.request_view("https").unwrap();
        view.request_target = None;
        assert_eq!(
            line(
                &MessageView::Request(view),
                ComponentIdentifier::derived(DerivedComponent::RequestTarget),
                &FieldTypes::default()
            )
            .unwrap(),
            blocks[i + 2].trim_end()
        );
    }
}

#[test]
fn sec2_2_6_path() {
    check_triple(&section("content-request-path"), "https");
}

#[test]
fn sec2_2_6_empty_path_is_slash() {
    // §2.2.6 (prose): "an empty path string is normalized as a single slash".
    let blocks = section("content-request-path");
    let msg = message(&blocks[0]);
    let mut view = msg.request_view("https").unwrap();
    view.path = "";
    assert_eq!(
        line(
            &MessageView::Request(view),
            ComponentIdentifier::derived(DerivedComponent::Path),
            &FieldTypes::default()
        )
        .unwrap(),
        "\"@path\": /"
    );
}

#[test]
fn sec2_2_7_query() {
    let blocks = section("content-request-query");
    assert_eq!(blocks.len(), 8);
    // `?param=value&foo=bar&baz=bat%2Dman` (percent-encoding kept) and `?queryString`.
    check_triple(&blocks[0..3], "https");
    check_triple(&blocks[3..6], "https");
}

#[test]
fn sec2_2_7_absent_query() {
    // §2.2.7: "If the query string is absent from the request message, the component value is
    // the leading `?` character alone". The RFC shows no message for this: use the §2.2.6 request
    // line without its query.
    let blocks = section("content-request-query");
    assert_eq!(blocks[6], "?\n");
    let want = blocks[7].trim_end();
    assert_eq!(want, "\"@query\": ?");
    for text in [
        "GET /path HTTP/1.1\nHost: www.example.com\n",
        "GET /path? HTTP/1.1\nHost: www.example.com\n",
    ] {
        let msg = message(text);
        assert_eq!(
            line(
                &request(&msg, "https"),
                ComponentIdentifier::derived(DerivedComponent::Query),
                &FieldTypes::default()
            )
            .unwrap(),
            want,
            "{text}"
        );
    }
}

#[test]
fn sec2_2_8_query_params() {
    let blocks = section("content-request-query-param");
    let msg = message(&blocks[0]);
    let view = request(&msg, "https");
    // baz → batman, qux → "" (the line ends in one space), param → value.
    check_lines(&view, &blocks[1], &FieldTypes::default());
    for (name, want) in blocks[1]
        .lines()
        .zip(["baz", "qux", "param"])
        .map(|(l, n)| (n, sp(l)))
    {
        let id = ComponentIdentifier::query_param(name);
        assert_eq!(id, id_of_line(&want));
        assert_eq!(line(&view, id, &FieldTypes::default()).unwrap(), want);
    }
    assert_eq!(
        line(
            &view,
            ComponentIdentifier::query_param("qux"),
            &FieldTypes::default()
        )
        .unwrap(),
        "\"@query-param\";name=\"qux\": "
    );
}

#[test]
fn sec2_2_8_query_params_encoded() {
    let blocks = section("content-request-query-param");
    let msg = message(&blocks[2]);
    let view = request(&msg, "https");
    // var (newline kept encoded), bar (`+` → `%20`), and the name `façade": ` encoded.
    check_lines(&view, &blocks[3], &FieldTypes::default());
    for (decoded, want) in ["var", "bar", "façade\": "]
        .into_iter()
        .zip(blocks[3].lines())
    {
        let id = ComponentIdentifier::query_param(decoded);
        assert_eq!(id.as_str(), id_of_line(want).as_str());
        assert_eq!(line(&view, id, &FieldTypes::default()).unwrap(), want);
    }
    assert_eq!(
        ComponentIdentifier::query_param("façade\": ").as_str(),
        r#""@query-param";name="fa%C3%A7ade%22%3A%20""#
    );
    // The unencoded rendering is not a base the RFC allows: its lines are not what is produced,
    // and its `façade` identifier is not even a valid component identifier.
    assert!(blocks[4].contains("multiline value\n"));
    for bad in blocks[4].lines() {
        assert!(!blocks[3].lines().any(|good| good == bad));
    }
    let unencoded = blocks[4].lines().last().unwrap();
    let (id, _) = unencoded.rsplit_once(": ").unwrap();
    assert!(sfv::Parser::new(id).parse::<sfv::Item>().is_err(), "{id}");
}

#[test]
fn sec2_2_9_status() {
    check_triple(&section("content-status-code"), "https");
    let blocks = section("content-status-code");
    let msg = message(&blocks[0]);
    assert_eq!(
        line(
            &msg.response_view(None).unwrap(),
            ComponentIdentifier::derived(DerivedComponent::Status),
            &FieldTypes::default()
        )
        .unwrap(),
        blocks[2].trim_end()
    );
}

// ---------------------------------------------------------------------------------------------
// §2.3, §2.4, §2.5: signature parameters and whole bases
// ---------------------------------------------------------------------------------------------

#[test]
fn sec2_3_signature_params_value() {
    let blocks = section("signature-params");
    let want = blocks[0].trim_end();
    let params = SignatureParams::builder()
        .component(DerivedComponent::TargetUri)
        .component(DerivedComponent::Authority)
        .component(ComponentIdentifier::field("date").unwrap())
        .component(ComponentIdentifier::field("cache-control").unwrap())
        .keyid("test-key-rsa-pss")
        .param(
            "alg",
            sfv::BareItem::String(sfv::String::from_string("rsa-pss-sha512".into()).unwrap()),
        )
        .created(1_618_884_475)
        .expires(1_618_884_775)
        .build()
        .unwrap();
    assert_eq!(params.as_str(), want);
    // And it parses back to the same thing.
    let list: sfv::List = sfv::Parser::new(want).parse().unwrap();
    let parsed = SignatureParams::from_entry(&list[0]).unwrap();
    assert_eq!(parsed.as_str(), want);
    assert_eq!(parsed.created(), Some(1_618_884_475));
    assert_eq!(parsed.expires(), Some(1_618_884_775));
    assert_eq!(parsed.keyid(), Some("test-key-rsa-pss"));
    assert_eq!(parsed.alg(), Some("rsa-pss-sha512"));
}

#[test]
fn sec2_4_request_components_in_a_response() {
    let blocks = section("content-request-response");
    assert_eq!(blocks.len(), 7);

    // First example: the unsigned request and response, and the base over both.
    let req = message(&blocks[0]);
    let res = message(&blocks[1]);
    let view = res
        .response_view(Some(req.request_view("https").unwrap()))
        .unwrap();
    let params = check_base(&view, &blocks[2]);
    // The signed response carries exactly these parameters.
    let signed = message(&blocks[3]);
    let entries = signature_entries(&signed.headers).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].label(), "reqres");
    assert_eq!(entries[0].params().unwrap().as_str(), params.as_str());

    // Second example: the signed request (its query now covered with `;req`).
    let req = message(&blocks[4]);
    let res = message(&blocks[6]);
    let view = res
        .response_view(Some(req.request_view("https").unwrap()))
        .unwrap();
    let params = check_base(&view, &blocks[5]);
    let entries = signature_entries(&res.headers).unwrap();
    assert_eq!(entries[0].params().unwrap().as_str(), params.as_str());
    // The `;req` identifiers are the builder's.
    let authority = ComponentIdentifier::derived(DerivedComponent::Authority).with_req();
    assert!(params.covers(&authority));
    assert_eq!(
        line(&view, authority, &FieldTypes::default()).unwrap(),
        "\"@authority\";req: example.com"
    );
}

#[test]
fn sec2_5_example_signature_base() {
    let blocks = section("create-sig-input");
    assert_eq!(blocks.len(), 3);
    let msg = message(&blocks[1]);
    let view = request(&msg, "https");
    let parsed = check_base(&view, &blocks[2]);

    // The same parameters built by hand: "@method" "@authority" "@path" "content-digest"
    // "content-length" "content-type", created=1618884473, keyid="test-key-rsa-pss".
    let built = SignatureParams::builder()
        .component(DerivedComponent::Method)
        .component(DerivedComponent::Authority)
        .component(DerivedComponent::Path)
        .component(ComponentIdentifier::field("Content-Digest").unwrap())
        .component(ComponentIdentifier::field("Content-Length").unwrap())
        .component(ComponentIdentifier::field("Content-Type").unwrap())
        .created(1_618_884_473)
        .keyid("test-key-rsa-pss")
        .build()
        .unwrap();
    assert_eq!(built.as_str(), parsed.as_str());
    let base = SignatureBase::new(&view, &built, &FieldTypes::default()).unwrap();
    assert_eq!(base.as_str(), blocks[2].trim_end_matches('\n'));
    // No final newline (§2.5: "does not include the final newline").
    assert!(base.as_str().ends_with(";keyid=\"test-key-rsa-pss\""));
    assert_eq!(base.as_str().lines().count(), 7);
}

// ---------------------------------------------------------------------------------------------
// Errors (§2.1, §2.2, §2.5)
// ---------------------------------------------------------------------------------------------

fn sec2_5_request() -> Http1Message {
    message(&section("create-sig-input")[1])
}

#[test]
fn error_missing_field() {
    // §2.5: "The component name identifies a field that is not present in the message".
    let msg = sec2_5_request();
    let view = request(&msg, "https");
    for name in ["x-absent", "signature"] {
        assert_eq!(
            line(
                &view,
                ComponentIdentifier::field(name).unwrap(),
                &FieldTypes::default()
            ),
            Err(BaseError::MissingField(name.into()))
        );
    }
    // Also with `;bs`, `;sf` and `;key`.
    for id in [
        ComponentIdentifier::field("x-absent").unwrap().with_bs(),
        ComponentIdentifier::field("x-absent").unwrap().with_sf(),
        ComponentIdentifier::field("x-absent")
            .unwrap()
            .with_key("a")
            .unwrap(),
    ] {
        let types = FieldTypes::default().with("x-absent", StructuredType::Dictionary);
        assert_eq!(
            line(&view, id.clone(), &types),
            Err(BaseError::MissingField("x-absent".into())),
            "{id}"
        );
    }
}

#[test]
fn error_unknown_structured_type() {
    // §2.1.1 / §2.5: `;sf` on a field whose type the implementation does not know.
    let blocks = section("http-field-structured");
    let msg = fragment(&blocks[0]);
    let view = request(&msg, "https");
    let id = id_of_line(&blocks[2]);
    assert_eq!(
        line(&view, id.clone(), &FieldTypes::default()),
        Err(BaseError::UnknownStructuredType("example-dict".into()))
    );
    let types = FieldTypes::default().with("example-dict", StructuredType::Dictionary);
    assert_eq!(line(&view, id, &types).unwrap(), blocks[2].trim_end());
}

#[test]
fn error_req_on_a_request() {
    // §2.4: "The `req` parameter MUST NOT be used for any component in a signature that targets
    // a request message."
    let msg = sec2_5_request();
    let view = request(&msg, "https");
    for id in [
        ComponentIdentifier::derived(DerivedComponent::Method).with_req(),
        ComponentIdentifier::field("content-type")
            .unwrap()
            .with_req(),
    ] {
        assert_eq!(
            line(&view, id.clone(), &FieldTypes::default()),
            Err(BaseError::NotApplicable(id.as_str().to_owned()))
        );
    }
}

#[test]
fn error_status_on_a_request() {
    // §2.2.9: "The `@status` component identifier MUST NOT be used in a request message."
    let msg = sec2_5_request();
    let view = request(&msg, "https");
    assert_eq!(
        line(
            &view,
            ComponentIdentifier::derived(DerivedComponent::Status),
            &FieldTypes::default()
        ),
        Err(BaseError::NotApplicable("\"@status\"".into()))
    );
}

#[test]
fn error_request_component_on_a_response() {
    // §2.2: request-derived components apply to a response only through `;req`.
    let blocks = section("content-request-response");
    let req = message(&blocks[0]);
    let res = message(&blocks[1]);
    let with_request = res
        .response_view(Some(req.request_view("https").unwrap()))
        .unwrap();
    let alone = res.response_view(None).unwrap();
    for d in [
        DerivedComponent::Method,
        DerivedComponent::TargetUri,
        DerivedComponent::Authority,
        DerivedComponent::Scheme,
        DerivedComponent::RequestTarget,
        DerivedComponent::Path,
        DerivedComponent::Query,
    ] {
        let id = ComponentIdentifier::derived(d);
        for view in [&with_request, &alone] {
            assert_eq!(
                line(view, id.clone(), &FieldTypes::default()),
                Err(BaseError::NotApplicable(id.as_str().to_owned()))
            );
        }
        // With `;req` it works when the request is known, and says so when it is not.
        assert!(line(&with_request, id.clone().with_req(), &FieldTypes::default()).is_ok());
        let req_id = id.with_req();
        assert_eq!(
            line(&alone, req_id.clone(), &FieldTypes::default()),
            Err(BaseError::MissingRequest(req_id.as_str().to_owned()))
        );
    }
    let qp = ComponentIdentifier::query_param("param");
    assert_eq!(
        line(&with_request, qp.clone(), &FieldTypes::default()),
        Err(BaseError::NotApplicable(qp.as_str().to_owned()))
    );
    assert_eq!(
        line(&with_request, qp.with_req(), &FieldTypes::default()).unwrap(),
        "\"@query-param\";name=\"param\";req: Value"
    );
}

#[test]
fn error_query_param_repeated_or_absent() {
    // §2.2.8: "If a parameter name occurs multiple times in a request, the named query parameter
    // MUST NOT be included"; "If a query parameter is named as a covered component but it does
    // not occur in the query parameters, this MUST cause an error".
    let blocks = section("content-request-query-param");
    let msg = message(&blocks[0]);
    let view = request(&msg, "https");
    assert_eq!(
        line(
            &view,
            ComponentIdentifier::query_param("absent"),
            &FieldTypes::default()
        ),
        Err(BaseError::MissingQueryParam("absent".into()))
    );
    // `bat` is a value there, not a name.
    assert_eq!(
        line(
            &view,
            ComponentIdentifier::query_param("batman"),
            &FieldTypes::default()
        ),
        Err(BaseError::MissingQueryParam("batman".into()))
    );

    // The same name twice, also when spelled differently (`%62az` decodes to `baz`).
    for text in [
        "GET /path?baz=batman&qux=&baz=robin HTTP/1.1\nHost: www.example.com\n",
        "GET /path?baz=batman&%62az=robin HTTP/1.1\nHost: www.example.com\n",
        "GET /path?baz&baz HTTP/1.1\nHost: www.example.com\n",
    ] {
        let msg = message(text);
        assert_eq!(
            line(
                &request(&msg, "https"),
                ComponentIdentifier::query_param("baz"),
                &FieldTypes::default()
            ),
            Err(BaseError::RepeatedQueryParam("baz".into())),
            "{text}"
        );
    }
    // No query at all.
    let msg = message("GET /path HTTP/1.1\nHost: www.example.com\n");
    assert_eq!(
        line(
            &request(&msg, "https"),
            ComponentIdentifier::query_param("baz"),
            &FieldTypes::default()
        ),
        Err(BaseError::MissingQueryParam("baz".into()))
    );
}

#[test]
fn error_non_ascii_field_value() {
    // §2.1: "all non-ASCII field values MUST be encoded to ASCII before being added to the
    // signature base"; §2.5 step 4: "Produce an error if the output string contains any
    // non-ASCII characters". UTF-8 `é` and a lone obs-text byte.
    for value in [&b"caf\xc3\xa9"[..], b"caf\xe9"] {
        let mut text = b"GET / HTTP/1.1\r\nHost: example.com\r\nX-Name: ".to_vec();
        text.extend_from_slice(value);
        text.extend_from_slice(b"\r\n\r\n");
        let msg = http1::parse(&text, &Http1Limits::default()).unwrap();
        let view = request(&msg, "https");
        assert_eq!(
            line(
                &view,
                ComponentIdentifier::field("x-name").unwrap(),
                &FieldTypes::default()
            ),
            Err(BaseError::InvalidValue("\"x-name\"".into())),
            "{value:?}"
        );
    }
}

#[test]
fn error_newline_in_a_value() {
    // §2: "Component values MUST NOT contain newline (`\n`) characters." Neither an HTTP/1.1 text
    // nor `http` can carry one; a field source given by an application could.
    let headers: Vec<(&str, &[u8])> = vec![
        ("host", b"example.com".as_slice()),
        ("x-name", b"a\nb".as_slice()),
    ];
    let view = MessageView::Request(RequestView {
        method: "GET",
        scheme: "https",
        authority: "example.com",
        path: "/a\nb",
        query: Some("q\n"),
        request_target: None,
        headers: &headers,
        trailers: &NoFields,
    });
    for id in [
        ComponentIdentifier::field("x-name").unwrap(),
        ComponentIdentifier::derived(DerivedComponent::Path),
        ComponentIdentifier::derived(DerivedComponent::Query),
        ComponentIdentifier::derived(DerivedComponent::TargetUri),
        ComponentIdentifier::derived(DerivedComponent::RequestTarget),
    ] {
        assert_eq!(
            line(&view, id.clone(), &FieldTypes::default()),
            Err(BaseError::InvalidValue(id.as_str().to_owned())),
            "{id}"
        );
    }
}

/// What the refusal of one bad `Signature-Input` member must look like.
type ErrorCheck = fn(&ParamsError) -> bool;

#[test]
fn signature_input_refuses_bad_identifiers() {
    // §2: each identifier occurs once (parameter order does not make two distinct); §2.2: the
    // derived names are the registered ones; §2.1: field names are lowercase; §2.1/§2.5:
    // unknown parameters, and parameters that do not apply or are incompatible, are errors.
    let cases: [(&str, ErrorCheck); 7] = [
        (
            r#"("@method" "@method")"#,
            |e| matches!(e, ParamsError::DuplicateComponent(c) if c == "\"@method\""),
        ),
        (r#"("foo";sf;tr "foo";tr;sf)"#, |e| {
            matches!(e, ParamsError::DuplicateComponent(_))
        }),
        (r#"("@method" "@unknown")"#, |e| {
            matches!(e, ParamsError::BadComponent { index: 1, .. })
        }),
        (r#"("Content-Type")"#, |e| {
            matches!(e, ParamsError::BadComponent { index: 0, .. })
        }),
        (r#"("@method";sf)"#, |e| {
            matches!(e, ParamsError::BadComponent { index: 0, .. })
        }),
        (r#"("foo";bs;sf)"#, |e| {
            matches!(e, ParamsError::BadComponent { index: 0, .. })
        }),
        (r#"("@authority" "foo";bar)"#, |e| {
            matches!(e, ParamsError::BadComponent { index: 1, .. })
        }),
    ];
    for (bad, check) in cases {
        let input = format!(
            "good=(\"@method\" \"@authority\" \"foo\" \"foo\";tr \"foo\";sf)\
             ;created=1618884473;keyid=\"k\", bad={bad};created=1618884473"
        );
        let headers = vec![
            ("Signature-Input", input.clone()),
            ("Signature", "good=:AAAA:, bad=:AAAA:".to_owned()),
        ];
        let entries = signature_entries(&headers).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(entries.len(), 2, "{input}");
        let good = entries.iter().find(|e| e.label() == "good").unwrap();
        let bad_entry = entries.iter().find(|e| e.label() == "bad").unwrap();
        let params = good.params().unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(params.components().len(), 5);
        assert_eq!(params.created(), Some(1_618_884_473));
        let err = bad_entry
            .params()
            .expect_err(&format!("{bad} must be refused"));
        assert!(check(err), "{bad}: unexpected error {err:?}");
        // Both signatures still carry their bytes.
        assert_eq!(bad_entry.signature().unwrap(), [0, 0, 0]);
    }
}

#[test]
fn error_incompatible_parameters_in_base() {
    // §2.5 step 2.4: "If the component identifier has parameters that are mutually incompatible
    // with one another, such as `bs` and `sf`, produce an error", and a parameter that "does not
    // apply to the component identifier to which it is attached" is an error too. Identifiers
    // parsed from `Signature-Input` are refused (see `signature_input_refuses_bad_identifiers`);
    // the same identifiers made with the builders must not yield a base either, or a signer
    // would sign a base that no verifier can rebuild.
    let msg = message("GET /foo?a=1 HTTP/1.1\nHost: www.example.com\nFoo: a=1\n");
    let view = request(&msg, "https");
    let types = FieldTypes::default().with("foo", StructuredType::Dictionary);
    // Each of these is fine on its own.
    check_lines(
        &view,
        "\"foo\";bs: :YT0x:\n\"foo\";sf: a=1\n\"foo\";key=\"a\": 1\n\"@method\": GET\n\
         \"@query-param\";name=\"a\": 1\n",
        &types,
    );
    let foo = || ComponentIdentifier::field("foo").unwrap();
    let method = || ComponentIdentifier::derived(DerivedComponent::Method);
    let mut accepted = Vec::new();
    for id in [
        foo().with_bs().with_sf(),
        foo().with_bs().with_key("a").unwrap(),
        method().with_sf(),
        method().with_bs(),
        method().with_tr(),
        ComponentIdentifier::query_param("a").with_sf(),
    ] {
        // The parser refuses this identifier ...
        let item: sfv::Item = sfv::Parser::new(id.as_str()).parse().unwrap();
        assert!(ComponentIdentifier::from_item(&item).is_err(), "{id}");
        // ... and so does the builder, so no base (and no signature) is ever made from it.
        match SignatureParams::builder().component(id.clone()).build() {
            Ok(params) => {
                if let Ok(b) = SignatureBase::new(&view, &params, &types) {
                    accepted.push(b.as_str().to_owned());
                }
            }
            Err(e) => assert!(
                matches!(
                    e,
                    web_bot_auth::error::ParamsError::BadComponent { index: 0, .. }
                ),
                "{e:?}"
            ),
        }
    }
    assert!(
        accepted.is_empty(),
        "a base was built for invalid identifiers: {accepted:#?}"
    );
}

#[test]
fn key_on_a_field_known_not_to_be_a_dictionary() {
    // §2.5: a dictionary member identifier that references a field that "is not a Dictionary
    // Structured Field" is an error.
    let msg = message("GET / HTTP/1.1\nHost: www.example.com\nCache-Status: a, b\n");
    let view = request(&msg, "https");
    let id = ComponentIdentifier::field("cache-status")
        .unwrap()
        .with_key("a")
        .unwrap();
    assert_eq!(
        line(&view, id, &FieldTypes::default()),
        Err(BaseError::NotADictionary("cache-status".into()))
    );
}
