//! The store's data directory: development keys and the token file, created on the first start
//! and reused after.
//!
//! | file | what |
//! |---|---|
//! | `jwt-signing-key.pem` | the development authorization server's Ed25519 key (PKCS#8, mode 0600) |
//! | `jwks.json` | its public key as a JWKS: what the store verifies OAuth tokens with |
//! | `tokens.json` | API token records ([`FileTokenStore`](mcp_auth::token::FileTokenStore): hashes only) |
//! | `demo-api-token` | the demo partner's API token (mode 0600), re-issued when it stops working |
//! | `store-signing-key.jwk` | the store's own Web Bot Auth key, published in its key directory |
//! | `demo-crawler-key.jwk` | the demo crawler's Web Bot Auth key (private; `signing_client` signs with it) |

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::{EncodingKey, Header};
use mcp_auth::oauth::KeySet;
use serde_json::json;
use web_bot_auth::keys::SigningKey as WebBotAuthKey;

use super::StoreError;

/// The JWT signing key file.
pub const JWT_KEY_FILE: &str = "jwt-signing-key.pem";
/// The public JWKS file.
pub const JWKS_FILE: &str = "jwks.json";
/// The API token file.
pub const TOKEN_FILE: &str = "tokens.json";
/// The demo partner's API token.
pub const DEMO_TOKEN_FILE: &str = "demo-api-token";
/// The store's own Web Bot Auth key.
pub const STORE_KEY_FILE: &str = "store-signing-key.jwk";
/// The demo crawler's Web Bot Auth key.
pub const CRAWLER_KEY_FILE: &str = "demo-crawler-key.jwk";

/// The data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    path: PathBuf,
}

impl DataDir {
    /// Opens `path`, creating it when missing.
    pub fn open(path: impl Into<PathBuf>) -> Result<DataDir, StoreError> {
        let path = path.into();
        fs::create_dir_all(&path).map_err(|e| StoreError::io(e, "creating", &path))?;
        Ok(DataDir { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A file in the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Reads `name`, or creates it with `make()` (mode 0600) when it does not exist.
    pub fn read_or_create(
        &self,
        name: &str,
        make: impl FnOnce() -> Result<String, StoreError>,
    ) -> Result<String, StoreError> {
        let path = self.file(name);
        match fs::read_to_string(&path) {
            Ok(text) => Ok(text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let text = make()?;
                write_private(&path, &text)?;
                Ok(text)
            }
            Err(e) => Err(StoreError::io(e, "reading", &path)),
        }
    }

    /// A Web Bot Auth key kept in `name` (a private JWK), generated on first use.
    pub fn web_bot_auth_key(&self, name: &str) -> Result<WebBotAuthKey, StoreError> {
        let jwk = self.read_or_create(name, || {
            Ok(WebBotAuthKey::generate_ed25519().to_private_jwk().to_json())
        })?;
        WebBotAuthKey::from_jwk_json(&jwk).map_err(|e| StoreError::Key {
            file: self.file(name),
            reason: e.to_string(),
        })
    }
}

/// Writes `text` to `path`, readable by the owner only (on Unix).
pub fn write_private(path: &Path, text: &str) -> Result<(), StoreError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| StoreError::io(e, "creating", path))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| StoreError::io(e, "writing", path))
}

/// The development authorization server: it signs access tokens (JWTs, EdDSA) for the store's
/// resource URI with a key kept in the data directory. A real deployment has a real one (any
/// OAuth 2.1 server with a JWKS) and keeps only the verifying half.
pub struct DevAuthority {
    key: EncodingKey,
    kid: String,
    issuer: String,
    audience: String,
    jwks_path: PathBuf,
    jwks: String,
}

impl std::fmt::Debug for DevAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevAuthority")
            .field("kid", &self.kid)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl DevAuthority {
    /// Loads the key from `dir` (generating it on the first start) and writes its JWKS next to
    /// it. Tokens are issued by `issuer` for `audience` (the MCP endpoint's URL).
    pub fn open(dir: &DataDir, issuer: &str, audience: &str) -> Result<DevAuthority, StoreError> {
        let key_error = |reason: String| StoreError::Key {
            file: dir.file(JWT_KEY_FILE),
            reason,
        };
        let pem = dir.read_or_create(JWT_KEY_FILE, || {
            let key = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
            let pem = key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| key_error(e.to_string()))?;
            Ok(pem.to_string())
        })?;
        let signing = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem)
            .map_err(|e| key_error(e.to_string()))?;
        let public = signing.verifying_key().to_bytes();
        let kid = web_bot_auth::keys::VerifyingKey::ed25519(&public)
            .map_err(|e| key_error(e.to_string()))?
            .thumbprint()
            .to_owned();
        let key = EncodingKey::from_ed_pem(pem.as_bytes()).map_err(|e| key_error(e.to_string()))?;
        let jwks = json!({"keys": [{
            "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(public),
            "kid": kid, "alg": "EdDSA", "use": "sig",
        }]})
        .to_string();
        let jwks_path = dir.file(JWKS_FILE);
        write_private(&jwks_path, &jwks)?;
        Ok(DevAuthority {
            key,
            kid,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            jwks_path,
            jwks,
        })
    }

    /// The verifying keys, as a real deployment would load them from the issuer's JWKS.
    pub fn key_set(&self) -> Result<KeySet, StoreError> {
        KeySet::from_jwks_json(self.jwks.as_bytes()).map_err(|e| StoreError::Key {
            file: self.jwks_path.clone(),
            reason: e.to_string(),
        })
    }

    /// Where the JWKS was written.
    pub fn jwks_path(&self) -> &Path {
        &self.jwks_path
    }

    /// The issuer (`iss`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The audience (`aud`): the MCP endpoint.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// An access token for user `sub` with `scopes` (space-separated), valid from `now`
    /// (Unix seconds) for `ttl`.
    pub fn mint(
        &self,
        sub: &str,
        scopes: &str,
        now: u64,
        ttl: Duration,
    ) -> Result<String, StoreError> {
        let claims = json!({
            "iss": self.issuer,
            "aud": self.audience,
            "sub": sub,
            "scope": scopes,
            "client_id": "store-dev-cli",
            "iat": now,
            "nbf": now,
            "exp": now.saturating_add(ttl.as_secs()),
        });
        let mut header = Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| StoreError::Key {
            file: PathBuf::from(JWT_KEY_FILE),
            reason: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_created_once_and_reused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::open(tmp.path().join("data")).unwrap();
        let first =
            DevAuthority::open(&dir, "https://auth.example", "http://127.0.0.1:1/mcp").unwrap();
        let again =
            DevAuthority::open(&dir, "https://auth.example", "http://127.0.0.1:1/mcp").unwrap();
        assert_eq!(first.kid, again.kid);
        assert_eq!(first.key_set().unwrap().len(), 1);
        let crawler = dir.web_bot_auth_key(CRAWLER_KEY_FILE).unwrap();
        let crawler_again = dir.web_bot_auth_key(CRAWLER_KEY_FILE).unwrap();
        assert_eq!(crawler.thumbprint(), crawler_again.thumbprint());
    }
}
