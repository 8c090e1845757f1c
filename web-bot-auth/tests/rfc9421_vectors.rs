//! RFC 9421 Appendix B.2 and §4 vectors: every signature verifies, every base is reproduced
//! byte for byte, and B.2.6 (deterministic Ed25519) is reproduced by signing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use web_bot_auth::alg::Algorithm;
use web_bot_auth::base::SignatureBase;
use web_bot_auth::clock::ManualClock;
use web_bot_auth::error::FailureReason;
use web_bot_auth::field::FieldTypes;
use web_bot_auth::fields::signature_entries;
use web_bot_auth::keys::VerifyingKey;
use web_bot_auth::message::MessageView;
use web_bot_auth::params::SignatureParams;
use web_bot_auth::sign::Signer;
use web_bot_auth::verify::{KeySet, Verifier};

struct Case {
    file: &'static str,
    response: bool,
    keyid: &'static str,
    key: VerifyingKey,
}

fn cases() -> Vec<Case> {
    let pss = || public_key("test-key-rsa-pss", Some(Algorithm::RsaPssSha512));
    vec![
        Case {
            file: "rfc9421-b21.txt",
            response: false,
            keyid: "test-key-rsa-pss",
            key: pss(),
        },
        Case {
            file: "rfc9421-b22.txt",
            response: false,
            keyid: "test-key-rsa-pss",
            key: pss(),
        },
        Case {
            file: "rfc9421-b23.txt",
            response: false,
            keyid: "test-key-rsa-pss",
            key: pss(),
        },
        Case {
            file: "rfc9421-b24.txt",
            response: true,
            keyid: "test-key-ecc-p256",
            key: public_key("test-key-ecc-p256", None),
        },
        Case {
            file: "rfc9421-b25.txt",
            response: false,
            keyid: "test-shared-secret",
            key: VerifyingKey::hmac_sha256(&shared_secret()).unwrap(),
        },
        Case {
            file: "rfc9421-b26.txt",
            response: false,
            keyid: "test-key-ed25519",
            key: public_key("test-key-ed25519", None),
        },
    ]
}

#[test]
fn appendix_b2_bases_and_signatures() {
    for case in cases() {
        let text = vector(case.file);
        let input = line_after(&text, "--- Signature-Input field value ---");
        let sig = line_after(&text, "--- Signature field value ---");
        let base = exact_block(&text, 0);
        let msg = if case.response {
            test_response()
        } else {
            test_request()
        };
        let msg = message(&with_fields(
            &msg,
            &[("Signature-Input", &input), ("Signature", &sig)],
        ));
        let view = if case.response {
            msg.response_view(None).unwrap()
        } else {
            MessageView::Request(msg.request_view("https").unwrap())
        };
        let entries = signature_entries(view.headers()).unwrap();
        assert_eq!(entries.len(), 1, "{}", case.file);
        let params = entries[0].params().unwrap();
        assert_eq!(
            format!("{}={}", entries[0].label(), params.as_str()),
            input,
            "{}",
            case.file
        );
        let built = SignatureBase::new(&view, params, &FieldTypes::default()).unwrap();
        assert_eq!(built.as_str(), base, "{}", case.file);

        let mut keys = KeySet::new();
        keys.insert_with_keyid(case.keyid, case.key.clone());
        let verifier = Verifier::new(keys).with_clock(ManualClock::new(1618884473));
        let results = verifier.verify_all(&view).unwrap();
        assert_eq!(results.len(), 1);
        let verified = results[0]
            .1
            .as_ref()
            .unwrap_or_else(|e| panic!("{}: {:?}", case.file, e.reason()));
        assert_eq!(verified.key.algorithm(), case.key.algorithm());

        // Any change to a covered component, or to the signature, breaks it.
        let mut bad_sig = entries[0].signature().unwrap().to_vec();
        bad_sig[3] ^= 1;
        assert_eq!(
            case.key.verify(built.as_bytes(), &bad_sig),
            Err(FailureReason::Mismatch)
        );
        let mut bad_base = built.as_bytes().to_vec();
        bad_base[0] ^= 0x20;
        assert_eq!(
            case.key.verify(&bad_base, entries[0].signature().unwrap()),
            Err(FailureReason::Mismatch)
        );
    }
}

#[test]
fn b26_is_reproduced_by_signing() {
    let text = vector("rfc9421-b26.txt");
    let input = line_after(&text, "--- Signature-Input field value ---");
    let sig = line_after(&text, "--- Signature field value ---");
    let msg = message(&test_request());
    let view = MessageView::Request(msg.request_view("https").unwrap());
    let params = SignatureParams::builder()
        .component(web_bot_auth::component::ComponentIdentifier::field("date").unwrap())
        .component(web_bot_auth::component::DerivedComponent::Method)
        .component(web_bot_auth::component::DerivedComponent::Path)
        .component(web_bot_auth::component::DerivedComponent::Authority)
        .component(web_bot_auth::component::ComponentIdentifier::field("content-type").unwrap())
        .component(web_bot_auth::component::ComponentIdentifier::field("content-length").unwrap())
        .created(1618884473)
        .keyid("test-key-ed25519")
        .build()
        .unwrap();
    for key in [
        private_key("test-key-ed25519", None),
        web_bot_auth::keys::SigningKey::from_jwk_json(&data("keys/test-key-ed25519.jwk.json"))
            .unwrap(),
    ] {
        let fields = Signer::new(&key).sign(&view, "sig-b26", &params).unwrap();
        assert_eq!(fields.signature_input, input);
        assert_eq!(fields.signature, sig);
    }
}

#[test]
fn algorithm_confusion_is_refused() {
    // B.2.6 signed with ed25519 but claiming another alg, or checked with a key of another alg.
    let text = vector("rfc9421-b26.txt");
    let input = line_after(&text, "--- Signature-Input field value ---");
    let sig = line_after(&text, "--- Signature field value ---");
    for (input, key, expect) in [
        (
            format!("{input};alg=\"hmac-sha256\""),
            public_key("test-key-ed25519", None),
            "alg",
        ),
        (
            input.clone(),
            public_key("test-key-ecc-p256", None),
            "mismatch",
        ),
        (
            format!("{input};alg=\"none\""),
            public_key("test-key-ed25519", None),
            "unknown",
        ),
    ] {
        let msg = message(&with_fields(
            &test_request(),
            &[("Signature-Input", &input), ("Signature", &sig)],
        ));
        let view = MessageView::Request(msg.request_view("https").unwrap());
        let mut keys = KeySet::new();
        keys.insert_with_keyid("test-key-ed25519", key);
        let results = Verifier::new(keys)
            .check_time(false)
            .verify_all(&view)
            .unwrap();
        let err = results[0].1.as_ref().unwrap_err();
        match (expect, err.reason()) {
            ("alg", FailureReason::AlgorithmMismatch { .. }) => {}
            ("mismatch", FailureReason::Mismatch) => {}
            ("unknown", FailureReason::UnknownAlgorithm(_)) => {}
            (e, r) => panic!("{e}: {r:?}"),
        }
        assert_eq!(err.to_string(), "signature verification failed");
    }
}

fn sec2_request_and_responses() -> (String, Vec<String>) {
    let text = vector("rfc9421-sec2-component-examples.txt");
    let blocks = fenced_blocks(&text);
    let request = blocks
        .iter()
        .find(|b| {
            b.starts_with("POST /foo?param=Value&Pet=dog")
                && b.contains("Content-Digest: sha-512=:WZDP")
                && !b.contains("Signature")
        })
        .unwrap()
        .clone();
    let responses = blocks
        .iter()
        .filter(|b| b.starts_with("HTTP/1.1 503") && b.contains("Signature-Input: reqres"))
        .cloned()
        .collect();
    (request, responses)
}

#[test]
fn section_2_4_request_response_signatures() {
    let (request, responses) = sec2_request_and_responses();
    assert_eq!(responses.len(), 2);
    let text = vector("rfc9421-sec2-component-examples.txt");
    let blocks = fenced_blocks(&text);
    let bases: Vec<&String> = blocks
        .iter()
        .filter(|b| b.starts_with("\"@status\": 503"))
        .collect();
    assert_eq!(bases.len(), 2);
    let req = message(&request);
    let mut keys = KeySet::new();
    keys.insert_with_keyid("test-key-ecc-p256", public_key("test-key-ecc-p256", None));
    let verifier = Verifier::new(keys).with_clock(ManualClock::new(1618884479));
    for (response, base) in responses.iter().zip(bases) {
        let res = message(response);
        let view = res
            .response_view(Some(req.request_view("https").unwrap()))
            .unwrap();
        let entries = signature_entries(view.headers()).unwrap();
        let built = SignatureBase::new(&view, entries[0].params().unwrap(), &FieldTypes::default())
            .unwrap();
        assert_eq!(format!("{}\n", built.as_str()), *base);
        let result = verifier.verify_all(&view).unwrap();
        assert!(result[0].1.is_ok(), "{:?}", result[0].1);

        // Without the request, `;req` components cannot be derived.
        let alone = res.response_view(None).unwrap();
        let err = verifier.verify_all(&alone).unwrap()[0]
            .1
            .clone()
            .unwrap_err();
        assert!(
            matches!(err.reason(), FailureReason::Base(_)),
            "{:?}",
            err.reason()
        );
    }
}

#[test]
fn section_4_multiple_signatures_each_on_its_own() {
    let text = vector("rfc9421-sec4-multiple-signatures.txt");
    let blocks = fenced_blocks(&text);
    let client = blocks
        .iter()
        .find(|b| {
            b.starts_with("POST /foo")
                && b.contains("Host: example.com")
                && b.contains("Signature: sig1")
        })
        .unwrap();
    let proxied = blocks
        .iter()
        .find(|b| b.starts_with("POST /foo") && b.contains("proxy_sig="))
        .unwrap();
    // The vector shows two blank lines before the body; keep one so the body is 18 bytes.
    let proxied = proxied.replace("\n\n\n", "\n\n");
    let mut keys = KeySet::new();
    keys.insert_with_keyid("test-key-ecc-p256", public_key("test-key-ecc-p256", None));
    keys.insert_with_keyid(
        "test-key-rsa",
        public_key("test-key-rsa", Some(Algorithm::RsaV15Sha256)),
    );
    let verifier = Verifier::new(keys).with_clock(ManualClock::new(1618884480));

    let msg = message(client);
    let view = MessageView::Request(msg.request_view("https").unwrap());
    let r = verifier.verify_all(&view).unwrap();
    assert_eq!(r.len(), 1);
    assert!(r[0].1.is_ok(), "{:?}", r[0].1);

    let msg = message(&proxied);
    let view = MessageView::Request(msg.request_view("https").unwrap());
    let r = verifier.verify_all(&view).unwrap();
    assert_eq!(r.len(), 2);
    let by_label = |l: &str| r.iter().find(|(label, _)| label == l).unwrap().1.clone();
    // The proxy changed the authority: the client's signature no longer verifies, the proxy's does.
    assert_eq!(
        by_label("sig1").unwrap_err().reason(),
        &FailureReason::Mismatch
    );
    let proxy = by_label("proxy_sig").unwrap();
    assert_eq!(proxy.key.algorithm(), Algorithm::RsaV15Sha256);
    assert!(
        proxy
            .params
            .covers(&web_bot_auth::component::ComponentIdentifier::field("forwarded").unwrap())
    );
    let expected_base = blocks
        .iter()
        .find(|b| b.starts_with("\"@method\": POST\n\"@authority\": origin.host.internal.example"))
        .unwrap();
    let entries = signature_entries(view.headers()).unwrap();
    let proxy_entry = entries.iter().find(|e| e.label() == "proxy_sig").unwrap();
    let built =
        SignatureBase::new(&view, proxy_entry.params().unwrap(), &FieldTypes::default()).unwrap();
    assert_eq!(format!("{}\n", built.as_str()), *expected_base);

    // After its expiry, the proxy's signature is refused.
    let late = Verifier::new({
        let mut k = KeySet::new();
        k.insert_with_keyid(
            "test-key-rsa",
            public_key("test-key-rsa", Some(Algorithm::RsaV15Sha256)),
        );
        k
    })
    .with_clock(ManualClock::new(1618884540 + 61));
    let r = late.verify_all(&view).unwrap();
    let proxy = r.iter().find(|(l, _)| l == "proxy_sig").unwrap();
    assert!(matches!(
        proxy.1.as_ref().unwrap_err().reason(),
        FailureReason::Expired { .. }
    ));
}

#[test]
fn a_signature_without_keyid_verifies_with_a_key_the_verifier_knows() {
    let key = private_key("test-key-ecc-p256", None);
    let msg = message(&test_request());
    let view = MessageView::Request(msg.request_view("https").unwrap());
    let params = SignatureParams::builder()
        .component(web_bot_auth::component::DerivedComponent::Method)
        .component(web_bot_auth::component::ComponentIdentifier::field("content-digest").unwrap())
        .created(1618884473)
        .build()
        .unwrap();
    let f = Signer::new(&key).sign(&view, "nokeyid", &params).unwrap();
    let signed = message(&with_fields(
        &test_request(),
        &[
            ("Signature-Input", &f.signature_input),
            ("Signature", &f.signature),
        ],
    ));
    let view = MessageView::Request(signed.request_view("https").unwrap());
    let entries = signature_entries(view.headers()).unwrap();
    let verifier = Verifier::new(KeySet::new()).with_clock(ManualClock::new(1618884473));
    assert_eq!(
        verifier
            .verify_entry(&view, &entries[0])
            .unwrap_err()
            .reason(),
        &FailureReason::NoKeyId
    );
    let ok = verifier
        .verify_entry_with_key(&view, &entries[0], key.verifying_key().clone())
        .unwrap();
    assert_eq!(ok.label, "nokeyid");
    let wrong = public_key("test-key-ed25519", None);
    assert!(
        verifier
            .verify_entry_with_key(&view, &entries[0], wrong)
            .is_err()
    );
}

#[test]
fn a_member_repeating_a_parameter_is_refused() {
    // No strict serialization repeats a parameter, so such a member cannot be the
    // `@signature-params` a signer produced (found by the signature_input fuzz target).
    for input in [
        r#"sig1=("@authority");created=1;alg="ed25519";alg="ed25519""#,
        r#"sig1=("@authority";req;req);created=1"#,
        r#"sig1=("@authority");created=1;created=2"#,
        r#"sig1=("@authority");x=1;x=2"#,
    ] {
        let headers = vec![("Signature-Input", input), ("Signature", "sig1=:AAAA:")];
        let entries = signature_entries(&headers).unwrap();
        assert!(entries[0].params().is_err(), "{input}");
    }
    // Unknown parameters may appear once each and are kept.
    let headers = vec![("Signature-Input", r#"sig1=("@authority");x=1;y=2"#)];
    let entries = signature_entries(&headers).unwrap();
    assert_eq!(
        entries[0].params().unwrap().as_str(),
        r#"("@authority");x=1;y=2"#
    );
}
