//! What to do with a request from an automated client: classify it, then evaluate ordered rules
//! written in Cloudflare's Rules language.
//!
//! ```
//! use bot_policy::{Policy, RequestFacts, BotFacts, Verdict};
//!
//! let policy = Policy::from_toml_str(r#"
//!     include = ["baseline"]
//!
//!     [[rules]]
//!     id = "no-scanners"
//!     expression = 'lower(http.user_agent) contains "sqlmap"'
//!     action = "block"
//! "#).unwrap();
//!
//! let mut headers = http::HeaderMap::new();
//! headers.insert("user-agent", "sqlmap/1.7".parse().unwrap());
//! let facts = RequestFacts::new("GET", "/search?q=1").with_headers(&headers);
//! let decision = policy.evaluate(&facts);
//! assert_eq!(decision.verdict(), &Verdict::Block);
//! assert_eq!(decision.rule(), Some("no-scanners"));
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod catalog;
pub mod classify;
mod clock;
#[cfg(feature = "metrics")]
mod counters;
pub mod expr;
mod facts;
#[cfg(feature = "tower")]
pub mod layer;
mod lint;
mod lists;
mod live;
pub mod pay_per_crawl;
pub mod policy;
pub mod ranges;

pub use clock::{Clock, ManualClock, SystemClock};
pub use expr::{ExprError, ExprErrorKind, Expression, Limits};
pub use facts::{BotFacts, HeaderSource, NoHeaders, RequestFacts};
pub use lists::{ListError, ListKind, Lists, MAX_LIST_ITEMS};
pub use live::{LiveClassifier, LivePolicy, PolicyWatcher};
pub use policy::{Decision, Policy, PolicyError, Verdict};
