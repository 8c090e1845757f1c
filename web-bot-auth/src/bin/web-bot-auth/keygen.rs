//! `keygen`: a new Ed25519 private JWK.

use std::io::Write;

use web_bot_auth::keys::SigningKey;
use zeroize::Zeroizing;

use crate::output::{CliError, print};

/// Generates a key and writes its private JWK (`kid` = thumbprint) to `out`, or to standard
/// output.
pub fn run(out: Option<&str>) -> Result<(), CliError> {
    let key = SigningKey::generate_ed25519();
    let jwk = key.to_private_jwk();
    let mut json = Zeroizing::new(
        serde_json::to_string_pretty(&jwk)
            .map_err(|e| CliError::new(format!("cannot serialize the key: {e}")))?,
    );
    json.push('\n');
    match out {
        None => print(&json),
        Some(path) => write_private(path, json.as_bytes()),
    }
}

/// Creates `path` (it must not exist yet: an existing file might be readable by others) with
/// mode 0600 on Unix, and writes `data`.
fn write_private(path: &str, data: &[u8]) -> Result<(), CliError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            CliError::at(path, "already exists; not overwriting a key file")
        } else {
            CliError::at(path, format_args!("cannot create: {e}"))
        }
    })?;
    file.write_all(data)
        .and_then(|()| file.sync_all())
        .map_err(|e| CliError::at(path, format_args!("cannot write: {e}")))
}
