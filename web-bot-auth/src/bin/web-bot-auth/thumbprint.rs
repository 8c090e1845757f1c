//! `thumbprint`: the RFC 7638 thumbprint of a key file.

use crate::keyfile::load_verifying;
use crate::output::{CliError, print};

/// Prints the thumbprint of the key in `path` (JWK or PEM, public or private) on one line.
pub fn run(path: &str) -> Result<(), CliError> {
    let key = load_verifying(path)?;
    print(&format!("{}\n", key.thumbprint()))
}
