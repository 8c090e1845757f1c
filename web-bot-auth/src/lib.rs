//! RFC 9421 HTTP Message Signatures and the Web Bot Auth profile: is this really the bot it says
//! it is?
//!
//! A bot signs each request with a key it publishes in a key directory; a service checks the
//! signature and learns, by cryptography rather than by user agent, which agent sent it.
//!
//! ```
//! use web_bot_auth::clock::ManualClock;
//! use web_bot_auth::keys::SigningKey;
//! use web_bot_auth::message::{MessageView, RequestView};
//! use web_bot_auth::profile::{Outcome, WebBotAuthVerifier};
//! use web_bot_auth::profile_signer::WebBotAuthSigner;
//! use web_bot_auth::verify::KeySet;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The bot: one key, published at https://bot.example/.well-known/http-message-signatures-directory.
//! let key = SigningKey::generate_ed25519();
//! let public = key.verifying_key().clone();
//! let signer = WebBotAuthSigner::new(key, "https://bot.example")?;
//!
//! let mut request = http::Request::get("https://shop.example/products/42").body(())?;
//! signer.sign_http(&mut request, "https")?;
//!
//! // The service: keys are looked up by (agent, keyid).
//! let mut keys = KeySet::new();
//! keys.insert_for_agent("https://bot.example", public);
//! let verifier = WebBotAuthVerifier::new(keys);
//! let view = RequestView::from_http(&request, "https")?;
//! match verifier.verify(&MessageView::Request(view)) {
//!     Outcome::Verified(agent) => println!("signed by {:?}", agent.agent.map(|a| a.uri)),
//!     Outcome::Invalid(bad) => println!("refused: {}", bad.error.reason()),
//!     Outcome::Unverified(why) => println!("no proof: {why}"),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # What is here
//!
//! - [`component`], [`params`], [`base`]: component identifiers, signature parameters kept
//!   exactly as received, and the signature base of RFC 9421 §2.5.
//! - [`sign`], [`verify`]: plain RFC 9421 signing and verification, any number of signatures
//!   per message, requests and responses (`;req`).
//! - [`keys`], [`alg`]: `ed25519` always; `ecdsa-p256-sha256` and `ecdsa-p384-sha384` (feature
//!   `ecdsa`), `rsa-pss-sha512` and `rsa-v1_5-sha256` (feature `rsa`), `hmac-sha256` (feature
//!   `hmac`); keys from JWK or PEM, RFC 7638 thumbprints; each key bound to one algorithm.
//! - [`digest`]: `Content-Digest` (RFC 9530).
//! - [`profile`], [`profile_signer`], [`agent`], [`replay`], [`directory`]: the Web Bot Auth
//!   profile (draft-meunier-webbotauth-httpsig-protocol-02): `Signature-Agent`, required
//!   parameters, validity window, nonces, key directories and signed directory responses.
//!   Nonces are remembered in memory, or in Redis for a service on several machines
//!   (`RedisReplayStore`, feature `redis`).
//! - [`message`], [`http1`]: the request/response view the core reads, and a parser for
//!   HTTP/1.1 message text (the CLI's input).
//!
//! Untrusted input never panics: parsers return typed errors with positions, and sizes are
//! bounded. Verification failures are opaque to `Display` ([`error::VerifyError`]) with the
//! detailed reason available for logs.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod agent;
pub mod alg;
pub mod base;
pub mod clock;
pub mod component;
mod derived;
pub mod digest;
pub mod directory;
#[cfg(feature = "fetch")]
pub mod directory_cache;
pub mod error;
pub mod fetch;
pub mod field;
pub mod fields;
pub mod http1;
mod input_visit;
pub mod keys;
#[cfg(feature = "tower")]
pub mod layer;
pub mod message;
pub mod params;
pub mod profile;
pub mod profile_signer;
pub mod replay;
mod sf;
pub mod sign;
pub mod verify;
