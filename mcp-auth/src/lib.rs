//! Authentication, authorization and rate limits for MCP endpoints.
//!
//! This crate is being built: modules land one by one.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod audit;
pub mod bearer;
pub mod challenge;
pub mod clock;
pub mod jsonrpc;
pub mod metadata;
pub mod oauth;
pub mod principal;
pub mod ratelimit;
pub mod scope;
pub mod token;
pub mod toolmap;

pub use principal::{AuthMode, Principal};

/// A boxed, sendable future: what the store traits return, so that they can be used as trait
/// objects and implemented over a network.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
