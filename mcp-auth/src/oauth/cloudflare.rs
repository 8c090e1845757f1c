//! Cloudflare Access application tokens (the `Cf-Access-Jwt-Assertion` header).
//!
//! Access signs with RS256 keys published at
//! `https://<team>.cloudflareaccess.com/cdn-cgi/access/certs`; its tokens carry `iss`
//! (`https://<team>.cloudflareaccess.com`), `aud` (an array holding the application's AUD tag),
//! `exp`, `iat`, `nbf`, `sub` and `email` for users; service tokens have an empty `sub` and a
//! `common_name` (the service token's client id), which then serves as the subject and the
//! client id. Access tokens carry no OAuth scopes: the principal has none unless the builder
//! grants some with [`JwtVerifierBuilder::default_scopes`] (for instance the scopes every user
//! that Access lets through may use).

use jsonwebtoken::Algorithm;

#[cfg(feature = "jwks")]
use crate::oauth::jwks::JwksConfig;
use crate::oauth::verifier::{ConfigError, JwtVerifier, JwtVerifierBuilder};

/// A Cloudflare Access application: team domain and AUD tag.
#[derive(Debug, Clone)]
pub struct CloudflareAccess {
    team: String,
    aud_tag: String,
    #[cfg(feature = "jwks")]
    jwks: Option<JwksConfig>,
}

const SUFFIX: &str = ".cloudflareaccess.com";

impl CloudflareAccess {
    /// `team_domain` is `<team>`, `<team>.cloudflareaccess.com` or
    /// `https://<team>.cloudflareaccess.com`; `aud_tag` is the application's AUD tag (from the
    /// Access application's overview page).
    pub fn new(team_domain: &str, aud_tag: &str) -> Result<CloudflareAccess, ConfigError> {
        let lower = team_domain.trim().to_ascii_lowercase();
        let host = lower.strip_prefix("https://").unwrap_or(&lower);
        let host = host.strip_suffix('/').unwrap_or(host);
        let team = host.strip_suffix(SUFFIX).unwrap_or(host);
        let valid_team = !team.is_empty()
            && team.len() <= 63
            && !team.starts_with('-')
            && !team.ends_with('-')
            && team
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid_team {
            return Err(ConfigError::InvalidTeamDomain {
                domain: team_domain.to_owned(),
            });
        }
        if aud_tag.is_empty()
            || aud_tag.len() > 256
            || !aud_tag.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(ConfigError::InvalidAudTag);
        }
        Ok(CloudflareAccess {
            team: team.to_owned(),
            aud_tag: aud_tag.to_owned(),
            #[cfg(feature = "jwks")]
            jwks: None,
        })
    }

    /// `https://<team>.cloudflareaccess.com`: the tokens' `iss`.
    pub fn issuer(&self) -> String {
        format!("https://{}{SUFFIX}", self.team)
    }

    /// The application's AUD tag: the tokens' `aud`.
    pub fn aud_tag(&self) -> &str {
        &self.aud_tag
    }

    /// `https://<team>.cloudflareaccess.com/cdn-cgi/access/certs`: the signing keys.
    pub fn certs_url(&self) -> String {
        format!("{}/cdn-cgi/access/certs", self.issuer())
    }

    /// Fetches the keys with `config` instead of the default (the certs URL with the default
    /// timers): other timers, or, in tests, a loopback server.
    #[cfg(feature = "jwks")]
    pub fn with_jwks(mut self, config: JwksConfig) -> CloudflareAccess {
        self.jwks = Some(config);
        self
    }

    /// A verifier builder with the issuer, the audience, RS256 only, `common_name` as the
    /// subject of service tokens, and (feature `jwks`) the certs URL as the key source. Without
    /// the `jwks` feature, add the keys with [`JwtVerifierBuilder::key`].
    pub fn builder(&self) -> JwtVerifierBuilder {
        let builder = JwtVerifier::builder()
            .issuer(self.issuer())
            .audience(self.aud_tag.clone())
            .algorithms([Algorithm::RS256])
            .subject_fallback("common_name");
        #[cfg(feature = "jwks")]
        let builder = builder.jwks(
            self.jwks
                .clone()
                .unwrap_or_else(|| JwksConfig::new(self.certs_url())),
        );
        builder
    }
}

impl JwtVerifier {
    /// A builder for Cloudflare Access application tokens (see [`CloudflareAccess`]); read the
    /// token with [`crate::bearer::cf_access_jwt`].
    pub fn cloudflare_access(
        team_domain: &str,
        aud_tag: &str,
    ) -> Result<JwtVerifierBuilder, ConfigError> {
        Ok(CloudflareAccess::new(team_domain, aud_tag)?.builder())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn team_domains() {
        for domain in [
            "acme",
            "acme.cloudflareaccess.com",
            "https://ACME.cloudflareaccess.com/",
        ] {
            let cf = CloudflareAccess::new(domain, "abc123").unwrap();
            assert_eq!(cf.issuer(), "https://acme.cloudflareaccess.com");
            assert_eq!(
                cf.certs_url(),
                "https://acme.cloudflareaccess.com/cdn-cgi/access/certs"
            );
        }
        for bad in ["", "acme.example.com", "-acme", "a/b", "https://"] {
            assert!(
                matches!(
                    CloudflareAccess::new(bad, "abc"),
                    Err(ConfigError::InvalidTeamDomain { .. })
                ),
                "{bad}"
            );
        }
        assert_eq!(
            CloudflareAccess::new("acme", "").unwrap_err(),
            ConfigError::InvalidAudTag
        );
        assert_eq!(
            CloudflareAccess::new("acme", "abc def").unwrap_err(),
            ConfigError::InvalidAudTag
        );
    }

    #[cfg(feature = "jwks")]
    #[test]
    fn builds_with_the_certs_url() {
        let v = JwtVerifier::cloudflare_access("acme", "aud0123")
            .unwrap()
            .build()
            .unwrap();
        let shown = format!("{v:?}");
        assert!(
            shown.contains("https://acme.cloudflareaccess.com/cdn-cgi/access/certs"),
            "{shown}"
        );
        assert!(shown.contains("aud0123"));
    }
}
