//! Group `bot_policy_layer`: classification plus evaluation of the baseline preset plus 20 rules,
//! and `BotPolicyLayer` in front of a bare service against the bare service alone.
//!
//! Targets (from the issue): classification plus evaluation under 1 µs median per request; the
//! layer adds at most 1.5 µs over the bare service.
//!
//! The requests carry what a browser or a crawler sends (`Host`, `User-Agent`, `Accept`,
//! `Accept-Language`, `Accept-Encoding`, and for the browser `Sec-Fetch-Mode`) and the peer
//! address in their extensions, as a server puts it there. Each layered call clones the request
//! (a server hands each request over by value) and so does each bare call.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::hint::black_box;
use std::net::IpAddr;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use bot_policy::classify::{Classifier, Signals};
use bot_policy::layer::{BotPolicyLayer, BotPolicyService, PolicyDecision};
use bot_policy::ranges::IpRanges;
use bot_policy::{Policy, RequestFacts, Verdict};
use tower_layer::Layer;
use tower_service::Service;

use super::{Case, Ratio};
use crate::bot_policy_ours::{CHROME, baseline_plus_20_toml};
use crate::wirefilter_peer::rules;

/// The group name.
pub const GROUP: &str = "bot_policy_layer";

/// Case names.
pub mod names {
    /// Classify and evaluate baseline + 20, a browser (no rule decides).
    pub const CLASSIFY_EVAL_BROWSER: &str = "classify+evaluate/baseline+20/browser";
    /// Classify and evaluate baseline + 20, Googlebot from a Google range (verified by IP).
    pub const CLASSIFY_EVAL_GOOGLEBOT: &str = "classify+evaluate/baseline+20/googlebot-verified";
    /// Classify and evaluate baseline + 20, GPTBot from elsewhere (spoofed, blocked).
    pub const CLASSIFY_EVAL_SPOOFED: &str = "classify+evaluate/baseline+20/gptbot-spoofed";
    /// The bare service, browser request.
    pub const BARE_BROWSER: &str = "bare/browser";
    /// `BotPolicyLayer` (baseline + 20) over the bare service, browser request.
    pub const LAYER_BROWSER: &str = "layer/baseline+20/browser";
    /// `BotPolicyLayer` over the bare service, verified Googlebot.
    pub const LAYER_GOOGLEBOT: &str = "layer/baseline+20/googlebot-verified";
    /// `BotPolicyLayer` over the bare service, spoofed GPTBot (answered by the layer).
    pub const LAYER_SPOOFED: &str = "layer/baseline+20/gptbot-spoofed";
    /// `IpRanges::contains` over the union of every built-in set, 64 IPv4 addresses, half in
    /// (divide by 64 for one lookup).
    pub const RANGES_V4: &str = "ip-ranges/union/v4";
    /// The same over 64 IPv6 addresses, half in.
    pub const RANGES_V6: &str = "ip-ranges/union/v6";
}

/// Budget for one IP range lookup over thousands of ranges, in nanoseconds (per address).
pub const RANGE_LOOKUP_BUDGET_NS: f64 = 30.0;

/// Budget for classification plus evaluation, in nanoseconds.
pub const CLASSIFY_EVAL_BUDGET_NS: f64 = 1000.0;
/// Budget for what the layer adds over the bare service, in nanoseconds.
pub const LAYER_OVERHEAD_BUDGET_NS: f64 = 1500.0;

/// The ratios the report shows (the overhead budget is a difference: layer minus bare).
pub const RATIOS: &[Ratio] = &[Ratio {
    label: "BotPolicyLayer / bare service (browser)",
    numerator: names::LAYER_BROWSER,
    denominator: names::BARE_BROWSER,
    target: None,
}];

/// An address in Google's published Googlebot ranges.
const GOOGLE_IP: [u8; 4] = [66, 249, 64, 5];
const GOOGLEBOT_UA: &str =
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
/// An address in no published range.
const ELSEWHERE_IP: [u8; 4] = [203, 0, 114, 7];
const GPTBOT_UA: &str = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.2; +https://openai.com/gptbot";

/// The inner service: answers at once, saying whether the layer let the request through with
/// a decision in its extensions.
#[derive(Debug, Clone, Copy)]
pub struct Bare;

impl Service<http::Request<()>> for Bare {
    type Response = http::Response<bool>;
    type Error = Infallible;
    type Future = Ready<Result<http::Response<bool>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<()>) -> Self::Future {
        ready(Ok(http::Response::new(
            req.extensions().get::<PolicyDecision>().is_some(),
        )))
    }
}

/// The requests, the policy, the classifier and the layered service, built once.
pub struct Fixtures {
    policy: Policy,
    classifier: Classifier,
    layered: BotPolicyService<Bare>,
    union: IpRanges,
    v4: Vec<IpAddr>,
    v6: Vec<IpAddr>,
    browser: http::Request<()>,
    googlebot: http::Request<()>,
    spoofed: http::Request<()>,
}

impl std::fmt::Debug for Fixtures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixtures").finish_non_exhaustive()
    }
}

fn request(user_agent: &str, ip: [u8; 4], browser: bool) -> Result<http::Request<()>, String> {
    let mut builder = http::Request::get("/products/123?color=blue")
        .header(http::header::HOST, "www.example.com")
        .header(http::header::USER_AGENT, user_agent)
        .header(http::header::ACCEPT, "text/html,application/xhtml+xml")
        .header(http::header::ACCEPT_ENCODING, "gzip, br")
        .extension(IpAddr::from(ip));
    if browser {
        builder = builder
            .header(http::header::ACCEPT_LANGUAGE, "en-US,en;q=0.9")
            .header("sec-fetch-mode", "navigate");
    }
    builder.body(()).map_err(|e| e.to_string())
}

/// The union of every built-in range set (3,491 published prefixes, 1,039 intervals once
/// merged), and 64 IPv4 and 64 IPv6
/// addresses, alternately inside (the first address of an interval, spread over the set) and
/// outside.
fn ranges() -> Result<(IpRanges, Vec<IpAddr>, Vec<IpAddr>), String> {
    // Every prefix of every built-in set, read from the operators' JSON documents.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../bot-policy/data/ranges");
    let mut cidrs = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{dir}: {e}"))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    for path in names {
        let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
        for piece in text.split("Prefix\": \"").skip(1) {
            if let Some(end) = piece.find('"') {
                cidrs.push(piece[..end].to_owned());
            }
        }
    }
    let union = IpRanges::from_cidrs(&cidrs).map_err(|e| e.to_string())?;
    let step4 = (union.ipv4_intervals().len() / 32).max(1);
    let mut v4 = Vec::new();
    for (i, (first, _)) in union.ipv4_intervals().step_by(step4).take(32).enumerate() {
        v4.push(IpAddr::from(first));
        v4.push(IpAddr::from([198, 18, (i % 256) as u8, 1]));
    }
    let step6 = (union.ipv6_intervals().len() / 32).max(1);
    let mut v6 = Vec::new();
    for (i, (first, _)) in union.ipv6_intervals().step_by(step6).take(32).enumerate() {
        v6.push(IpAddr::from(first));
        v6.push(IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, i as u16]));
    }
    if cidrs.len() < 2000 || v4.is_empty() || v6.is_empty() {
        return Err(format!("only {} prefixes", cidrs.len()));
    }
    Ok((union, v4, v6))
}

impl Fixtures {
    /// How many of `addresses` the union contains.
    pub fn lookups(&self, addresses: &[IpAddr]) -> usize {
        addresses
            .iter()
            .filter(|ip| self.union.contains(black_box(**ip)))
            .count()
    }

    /// Builds the baseline + 20 policy (the `bot_policy` group's), the built-in classifier and
    /// the requests.
    pub fn new() -> Result<Self, String> {
        let toml = baseline_plus_20_toml(&rules()?)?;
        let load = || Policy::from_toml_str(&toml).map_err(|e| e.render("baseline+20"));
        // The layer's own copy, so that its rate-limit state and hit counters are its own.
        let layered = BotPolicyLayer::new(load()?).layer(Bare);
        let (union, v4, v6) = ranges()?;
        Ok(Fixtures {
            union,
            v4,
            v6,
            policy: load()?,
            classifier: Classifier::builtin(),
            layered,
            browser: request(CHROME, ELSEWHERE_IP, true)?,
            googlebot: request(GOOGLEBOT_UA, GOOGLE_IP, false)?,
            spoofed: request(GPTBOT_UA, ELSEWHERE_IP, false)?,
        })
    }

    /// Classifies `req` and evaluates the policy: the per-request work of the layer before it
    /// acts.
    pub fn classify_and_evaluate(&self, req: &http::Request<()>) -> Verdict {
        let ip = req.extensions().get::<IpAddr>().copied();
        let headers = req.headers();
        let classification = self.classifier.classify(&Signals {
            user_agent: headers
                .get(http::header::USER_AGENT)
                .map_or(b"", |v| v.as_bytes()),
            client_ip: ip,
            headers: Some(headers),
            ..Signals::default()
        });
        let mut facts = RequestFacts::from_http(req).with_bot(classification.bot_facts());
        if let Some(ip) = ip {
            facts = facts.with_client_ip(ip);
        }
        *self.policy.evaluate(&facts).verdict()
    }

    /// The bare service on a copy of `req`: whether it answered.
    pub fn bare(&self, req: &http::Request<()>) -> bool {
        let mut service = Bare;
        let future = pin!(service.call(req.clone()));
        matches!(
            future.poll(&mut Context::from_waker(Waker::noop())),
            Poll::Ready(Ok(_))
        )
    }

    /// The layer over the bare service on a copy of `req`: the status (`200` from the bare
    /// service, or the layer's own).
    pub fn layered(&self, req: &http::Request<()>) -> u16 {
        let mut service = self.layered.clone();
        let future = pin!(service.call(req.clone()));
        match future.poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(Ok(res)) => res.status().as_u16(),
            _ => 0,
        }
    }

    /// Checks the outcomes the cases expect: the browser passes (no rule decides), the
    /// verified Googlebot skips the score rules and passes, the spoofed GPTBot is blocked (score 1).
    pub fn check(&self) -> Result<(), String> {
        let verdicts = [
            (
                "browser",
                self.classify_and_evaluate(&self.browser),
                Verdict::Allow,
            ),
            (
                "googlebot",
                self.classify_and_evaluate(&self.googlebot),
                Verdict::Allow,
            ),
            (
                "spoofed",
                self.classify_and_evaluate(&self.spoofed),
                Verdict::Block,
            ),
        ];
        for (name, got, want) in verdicts {
            if got != want {
                return Err(format!("{name}: {got:?}, expected {want:?}"));
            }
        }
        let statuses = [
            ("browser", self.layered(&self.browser), 200),
            ("googlebot", self.layered(&self.googlebot), 200),
            ("spoofed", self.layered(&self.spoofed), 403),
        ];
        for (name, got, want) in statuses {
            if got != want {
                return Err(format!("layer, {name}: status {got}, expected {want}"));
            }
        }
        Ok(())
    }
}

/// The group's cases, in report order, after [`Fixtures::check`] passed.
pub fn cases() -> Result<Vec<Case>, String> {
    let fixtures = Rc::new(Fixtures::new()?);
    fixtures.check()?;
    let case = |name: &'static str, routine: fn(&Fixtures) -> bool| {
        let f = Rc::clone(&fixtures);
        Case::new(name, move || routine(black_box(&f)))
    };
    Ok(vec![
        case(names::CLASSIFY_EVAL_BROWSER, |f| {
            f.classify_and_evaluate(&f.browser) == Verdict::Allow
        }),
        case(names::CLASSIFY_EVAL_GOOGLEBOT, |f| {
            f.classify_and_evaluate(&f.googlebot) == Verdict::Allow
        }),
        case(names::CLASSIFY_EVAL_SPOOFED, |f| {
            f.classify_and_evaluate(&f.spoofed) == Verdict::Block
        }),
        case(names::BARE_BROWSER, |f| f.bare(&f.browser)),
        case(names::LAYER_BROWSER, |f| f.layered(&f.browser) == 200),
        case(names::LAYER_GOOGLEBOT, |f| f.layered(&f.googlebot) == 200),
        case(names::LAYER_SPOOFED, |f| f.layered(&f.spoofed) == 403),
        case(names::RANGES_V4, |f| f.lookups(&f.v4) == f.v4.len() / 2),
        case(names::RANGES_V6, |f| f.lookups(&f.v6) == f.v6.len() / 2),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_check_and_every_case_succeeds() {
        let cases = cases().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cases.len(), 9);
        for c in &cases {
            assert!(c.run(), "{}", c.name);
        }
    }
}
