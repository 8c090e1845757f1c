//! Authentication, authorization and rate limits for MCP endpoints.
//!
//! This crate is being built: the tool map, the credentials and the tower layer
//! land with their own issues. Nothing is public yet.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
