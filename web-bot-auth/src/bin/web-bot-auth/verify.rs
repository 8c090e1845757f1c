//! `verify`: checks every signature of an HTTP/1.1 message and reports each on one JSON line.

use serde::Serialize;
use web_bot_auth::clock::{Clock, ManualClock, SystemClock};
use web_bot_auth::http1::{self, Http1Limits, Http1Message};
use web_bot_auth::keys::VerifyingKey;
use web_bot_auth::message::MessageView;
use web_bot_auth::profile::{
    Outcome, ProfileConfig, SignatureReport, UnverifiedReason, WebBotAuthVerifier,
};
use web_bot_auth::verify::{KeyQuery, KeyResolver};

use crate::keyfile::{LoadedKey, load_jwks, load_verifying};
use crate::output::{CliError, STDIN_NAME, Status, print, read_input, warn};
use crate::{Profile, VerifyArgs};

/// The scheme assumed for origin-form request targets (the message text does not say).
const DEFAULT_SCHEME: &str = "https";

/// One signature's result, printed as one JSON line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The signature label (`null` when the signature fields did not parse).
    pub label: Option<String>,
    /// `verified`, `invalid` or `unverified`.
    pub outcome: &'static str,
    /// The `keyid` parameter.
    pub keyid: Option<String>,
    /// The algorithm: the one that verified, else the `alg` parameter.
    pub alg: Option<String>,
    /// The `Signature-Agent` URI the signature covers (Web Bot Auth profile).
    pub agent: Option<String>,
    /// Why the signature is invalid or unverified.
    pub reason: Option<String>,
}

impl Report {
    /// An invalid signature.
    pub fn invalid(
        label: Option<String>,
        keyid: Option<String>,
        alg: Option<String>,
        reason: String,
    ) -> Self {
        Report {
            label,
            outcome: "invalid",
            keyid,
            alg,
            agent: None,
            reason: Some(reason),
        }
    }

    /// A signature that could not be checked.
    pub fn unverified(
        label: Option<String>,
        keyid: Option<String>,
        alg: Option<String>,
        reason: String,
    ) -> Self {
        Report {
            outcome: "unverified",
            ..Report::invalid(label, keyid, alg, reason)
        }
    }
}

/// Pinned keys for the Web Bot Auth profile: found by thumbprint whatever agent the request
/// names, in the variant that fits the signature's `alg`.
struct PinnedKeys(Vec<LoadedKey>);

impl KeyResolver for PinnedKeys {
    fn resolve(&self, query: &KeyQuery<'_>) -> Option<VerifyingKey> {
        self.0
            .iter()
            .filter(|k| k.thumbprint() == query.keyid)
            .flat_map(|k| k.fitting(query.alg))
            .next()
    }
}

fn from_profile(report: SignatureReport) -> Report {
    let SignatureReport {
        label,
        keyid,
        alg,
        outcome,
    } = report;
    match outcome {
        Outcome::Verified(v) => Report {
            label: Some(v.label),
            outcome: "verified",
            keyid: Some(v.keyid),
            alg: Some(v.alg.name().to_owned()),
            agent: v.agent.map(|a| a.uri),
            reason: None,
        },
        Outcome::Invalid(i) => Report {
            agent: i.agent,
            ..Report::invalid(
                label.or(i.label),
                keyid.or(i.keyid),
                alg,
                i.error.reason().to_string(),
            )
        },
        Outcome::Unverified(u) => {
            let agent = match &u {
                UnverifiedReason::UnknownKey { agent, .. } => agent.clone(),
                _ => None,
            };
            Report {
                agent,
                ..Report::unverified(label, keyid, alg, u.to_string())
            }
        }
    }
}

fn web_bot_auth_reports(
    view: &MessageView<'_>,
    keys: Vec<LoadedKey>,
    now: u64,
    args: &VerifyArgs,
) -> Vec<Report> {
    let config = ProfileConfig {
        skew: args.skew,
        max_lifetime: args.max_lifetime,
        allow_test_keys: args.allow_test_keys,
        ..ProfileConfig::default()
    };
    WebBotAuthVerifier::new(PinnedKeys(keys))
        .with_clock(ManualClock::new(now))
        .with_config(config)
        .verify_each(view)
        .into_iter()
        .map(from_profile)
        .collect()
}

fn read_message(path: &str, limits: &Http1Limits) -> Result<Http1Message, CliError> {
    let name = if path == "-" { STDIN_NAME } else { path };
    let data = read_input(path, limits.max_message_bytes)?;
    http1::parse(&data, limits).map_err(|e| CliError::at(name, e))
}

/// The exit status for a set of reports.
fn status(reports: &[Report]) -> Status {
    if reports.iter().any(|r| r.outcome == "verified") {
        Status::Ok
    } else if reports.iter().any(|r| r.outcome == "invalid") {
        Status::Invalid
    } else {
        Status::Nothing
    }
}

/// Verifies the message and prints the reports.
pub fn run(args: &VerifyArgs) -> Result<Status, CliError> {
    let now = args.now.unwrap_or_else(|| SystemClock.now_unix());
    let mut keys = Vec::new();
    for path in &args.key {
        keys.push(load_verifying(path)?);
    }
    if let Some(path) = &args.jwks {
        keys.extend(load_jwks(path, now)?);
    }
    let limits = Http1Limits::default();
    let message = read_message(&args.message, &limits)?;
    let message_name = if args.message == "-" {
        STDIN_NAME
    } else {
        &args.message
    };
    let request = match &args.request_of {
        Some(path) => {
            if message.is_request() {
                return Err(CliError::at(
                    message_name,
                    "is a request; --request-of is only for responses",
                ));
            }
            Some((path, read_message(path, &limits)?))
        }
        None => None,
    };
    let request_view = match &request {
        Some((path, r)) if r.is_request() => Some(
            r.request_view(DEFAULT_SCHEME)
                .map_err(|e| CliError::at(path, e))?,
        ),
        Some((path, _)) => return Err(CliError::at(path, "not a request (--request-of)")),
        None => None,
    };
    let view = if message.is_request() {
        MessageView::Request(
            message
                .request_view(DEFAULT_SCHEME)
                .map_err(|e| CliError::at(message_name, e))?,
        )
    } else {
        message
            .response_view(request_view)
            .map_err(|e| CliError::at(message_name, e))?
    };
    let reports = match args.profile {
        Profile::WebBotAuth => web_bot_auth_reports(&view, keys, now, args),
        Profile::Rfc9421 => crate::rfc9421::reports(&view, &keys, now, args.skew),
    };
    if reports.is_empty() {
        warn(format_args!("{message_name}: no signature to verify"));
    }
    let mut out = String::new();
    for r in &reports {
        let line = serde_json::to_string(r)
            .map_err(|e| CliError::new(format!("cannot serialize a report: {e}")))?;
        out.push_str(&line);
        out.push('\n');
    }
    print(&out)?;
    Ok(status(&reports))
}
