//! Bot classification and ordered rule evaluation.
//!
//! This crate is being built: the catalog, the rules language and the tower layer
//! land with their own issues. Nothing is public yet.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
