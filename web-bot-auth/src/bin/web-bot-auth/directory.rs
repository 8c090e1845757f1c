//! `directory`: the key directory (JWKS) publishing the public parts of some keys.

use web_bot_auth::directory::KeyDirectory;

use crate::keyfile::load_one_verifying;
use crate::output::{CliError, print, warn};

/// Prints the directory for the key files `paths`.
pub fn run(paths: &[String]) -> Result<(), CliError> {
    let mut keys = Vec::with_capacity(paths.len());
    for path in paths {
        let key = load_one_verifying(path)?;
        if key.algorithm().is_symmetric() {
            return Err(CliError::at(
                path,
                "a shared secret (oct JWK) cannot be published in a directory",
            ));
        }
        if keys
            .iter()
            .any(|k: &web_bot_auth::keys::VerifyingKey| k.thumbprint() == key.thumbprint())
        {
            warn(format_args!(
                "{path}: the same key is already listed; skipped"
            ));
            continue;
        }
        keys.push(key);
    }
    let directory = KeyDirectory::from_keys(&keys);
    print(&format!("{}\n", directory.to_json()))
}
