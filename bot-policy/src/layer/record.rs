//! What the layer puts in the request extensions.

use std::net::IpAddr;
use std::sync::Arc;

use crate::classify::Classification;
use crate::policy::Verdict;

/// The catalog bot a client claims to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedBot {
    /// The bot's name, e.g. `GPTBot`.
    pub name: String,
    /// Who runs it, e.g. `OpenAI`.
    pub operator: String,
    /// Its Cloudflare category, e.g. `AI Crawler`.
    pub category: String,
}

/// Who the client is, as the layer classified it; in the request extensions for the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestClassification {
    client_ip: Option<IpAddr>,
    bot: Option<ClaimedBot>,
    automation: Option<String>,
    verified_by: Option<&'static str>,
    signature_agent: Option<String>,
    spoofed: bool,
    score: u8,
}

impl RequestClassification {
    pub(crate) fn new(classification: &Classification<'_>, client_ip: Option<IpAddr>) -> Self {
        let facts = classification.bot_facts();
        RequestClassification {
            client_ip,
            bot: classification.bot().map(|bot| ClaimedBot {
                name: bot.name.clone(),
                operator: bot.operator.clone(),
                category: bot.category.clone(),
            }),
            automation: classification.automation().map(str::to_owned),
            verified_by: classification.verified_by(),
            signature_agent: facts.signed.then(|| facts.signature_agent.to_owned()),
            spoofed: classification.spoofed(),
            score: classification.score(),
        }
    }

    /// The client's address (the connection's, or the one a trusted proxy forwarded); `None`
    /// when the layer could not find one.
    pub fn client_ip(&self) -> Option<IpAddr> {
        self.client_ip
    }

    /// The catalog bot the client claims to be, verified or not.
    pub fn bot(&self) -> Option<&ClaimedBot> {
        self.bot.as_ref()
    }

    /// The automation (HTTP library, headless browser, tool) its user agent names.
    pub fn automation(&self) -> Option<&str> {
        self.automation.as_deref()
    }

    /// Whether the claimed bot is verified.
    pub fn verified(&self) -> bool {
        self.verified_by.is_some()
    }

    /// How the claim was verified: `signature` or `ip`.
    pub fn verified_by(&self) -> Option<&'static str> {
        self.verified_by
    }

    /// The agent of a valid Web Bot Auth signature, whether or not the catalog knows it.
    pub fn signature_agent(&self) -> Option<&str> {
        self.signature_agent.as_deref()
    }

    /// Whether the client claims a bot and failed that bot's check.
    pub fn spoofed(&self) -> bool {
        self.spoofed
    }

    /// The heuristic automation score, 1 (automated) to 99 (browser-like).
    pub fn score(&self) -> u8 {
        self.score
    }
}

/// What the policy decided for the request; in the request extensions for the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDecision {
    pub(crate) verdict: Verdict,
    pub(crate) rule: Option<Arc<str>>,
    pub(crate) generation: u64,
    pub(crate) challenge_passed: bool,
}

impl PolicyDecision {
    /// The verdict. A request that reaches the service has `allow` or `skip`, or `challenge` when
    /// the challenge responder let it pass, or `charge` when the crawler agreed to the price.
    pub fn verdict(&self) -> &Verdict {
        &self.verdict
    }

    /// The id of the rule that decided; `None` when the policy's default applied.
    pub fn rule(&self) -> Option<&str> {
        self.rule.as_deref()
    }

    /// The [`LivePolicy::generation`](crate::LivePolicy::generation) of the policy that decided.
    pub fn policy_generation(&self) -> u64 {
        self.generation
    }

    /// Whether a challenge was required and the challenge responder let the request pass.
    pub fn challenge_passed(&self) -> bool {
        self.challenge_passed
    }
}
