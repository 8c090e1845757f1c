//! RFC 9421 HTTP Message Signatures and the Web Bot Auth profile.
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
pub mod error;
pub mod field;
pub mod fields;
pub mod http1;
pub mod keys;
pub mod message;
pub mod params;
pub mod profile;
pub mod profile_signer;
pub mod replay;
pub mod sign;
pub mod verify;
