//! Benchmarks of the workspace crates, side by side with peer crates from crates.io.
//!
//! The library holds what the benchmark entry point (`benches/perf.rs`) and any report tool
//! share: the fixtures, one adapter per implementation, and per group the list of named cases,
//! each a prepared routine whose fixtures are built (and checked) before any timing.
//!
//! - [`fixtures`]: the test vectors, the test key and the request they are on;
//! - [`floor`]: bare Ed25519 verification of a finished base (`ed25519-dalek`, `ed25519-compact`);
//! - [`ours`]: our `web-bot-auth` profile verifier;
//! - [`cloudflare`]: Cloudflare's `web-bot-auth` 0.7;
//! - [`httpsig_peer`]: `httpsig` 0.0.26 with `httpsig-hyper`;
//! - [`wirefilter_peer`]: Cloudflare's `wirefilter-engine` 0.6.1 on the shared bot-policy rules;
//! - [`bot_policy_ours`]: our `bot-policy` on the same rules, and the requests both are fed;
//! - [`layered`]: our `VerifyLayer` in front of a bare service, and its baseline;
//! - [`groups`]: the benchmark groups.

pub mod bot_policy_ours;
pub mod cloudflare;
pub mod fixtures;
pub mod floor;
pub mod groups;
pub mod httpsig_peer;
pub mod layered;
pub mod ours;
pub mod wirefilter_peer;
