//! Checking a directory response: status, media type, size, signature, keys, freshness.

use crate::clock::Clock;
use crate::directory::{
    DIRECTORY_MEDIA_TYPE, DIRECTORY_TAG, KeyDirectory, verify_directory_response,
};
use crate::fetch::FetchError;
use crate::fields::signature_entries;
use crate::keys::VerifyingKey;

use super::client::DirectoryResponse;
use super::config::DirectoryCacheConfig;

/// A key from a fetched directory, with the end of its validity (`exp`) when it has one.
#[derive(Debug, Clone)]
pub(crate) struct CachedKey {
    pub(crate) key: VerifyingKey,
    pub(crate) not_after: Option<u64>,
}

/// A directory that passed every check.
#[derive(Debug)]
pub(crate) struct Accepted {
    pub(crate) keys: Vec<CachedKey>,
    /// Freshness, in seconds.
    pub(crate) ttl: u64,
    /// Keys left out (wrong `kid`, expired, unsupported…).
    pub(crate) rejected: usize,
    /// Whether the response signature was verified.
    pub(crate) signed: bool,
}

fn invalid(message: impl Into<String>) -> FetchError {
    FetchError::InvalidDirectory(message.into())
}

/// Checks `response`, fetched from `authority`, at `now`.
pub(crate) fn accept(
    response: &DirectoryResponse,
    authority: &str,
    config: &DirectoryCacheConfig,
    clock: &dyn Clock,
    now: u64,
) -> Result<Accepted, FetchError> {
    if response.status != 200 {
        return Err(FetchError::Status(response.status));
    }
    if response.body.len() > config.max_response_bytes {
        return Err(invalid(format!(
            "response body larger than {} bytes",
            config.max_response_bytes
        )));
    }
    check_media_type(&response.headers)?;
    let signed = check_signature(response, authority, config, clock)?;
    let directory = KeyDirectory::parse(&response.body).map_err(|e| invalid(e.to_string()))?;
    if directory.keys.len() > config.max_keys {
        return Err(invalid(format!("more than {} keys", config.max_keys)));
    }
    let (good, rejected) = directory.verifying_keys(now);
    if good.is_empty()
        && let Some(first) = rejected.first()
    {
        // Every key published was refused: this is a broken directory, not a revocation.
        return Err(invalid(format!(
            "no usable key (key {}: {})",
            first.index, first.reason
        )));
    }
    let mut good = good.into_iter();
    let keys = directory
        .keys
        .iter()
        .enumerate()
        .filter(|(i, _)| !rejected.iter().any(|r| r.index == *i))
        .filter_map(|(_, jwk)| {
            good.next().map(|key| CachedKey {
                key,
                not_after: jwk.other.get_u64("exp"),
            })
        })
        .collect();
    Ok(Accepted {
        keys,
        ttl: ttl_from_headers(&response.headers, config),
        rejected: rejected.len(),
        signed,
    })
}

/// `Content-Type` must be the directory media type (parameters allowed). Anything else,
/// `application/jwk-set+json` and `application/json` included, is refused.
fn check_media_type(headers: &http::HeaderMap) -> Result<(), FetchError> {
    let mut values = headers.get_all(http::header::CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(invalid("response needs exactly one Content-Type"));
    };
    let essence = value
        .to_str()
        .ok()
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or("");
    if essence.eq_ignore_ascii_case(DIRECTORY_MEDIA_TYPE) {
        Ok(())
    } else {
        Err(invalid(format!(
            "Content-Type is not {DIRECTORY_MEDIA_TYPE}"
        )))
    }
}

/// Verifies a directory signature when the response carries one; `Ok(true)` when verified.
fn check_signature(
    response: &DirectoryResponse,
    authority: &str,
    config: &DirectoryCacheConfig,
    clock: &dyn Clock,
) -> Result<bool, FetchError> {
    let headers = &response.headers;
    let tagged = if headers.contains_key("signature-input") {
        let entries = signature_entries(headers)
            .map_err(|e| invalid(format!("unreadable response signature fields: {e}")))?;
        entries
            .iter()
            .any(|e| e.params().is_ok_and(|p| p.tag() == Some(DIRECTORY_TAG)))
    } else {
        false
    };
    if !tagged {
        if config.require_signed_directory {
            return Err(invalid("directory response is not signed"));
        }
        return Ok(false);
    }
    verify_directory_response(
        headers,
        &response.body,
        authority,
        clock,
        config.signature_skew.as_secs(),
    )
    .map_err(|e| invalid(format!("directory signature: {}", e.reason())))?;
    Ok(true)
}

/// Freshness from `Cache-Control`: `max-age` (the smallest, when repeated), `min_ttl` for
/// `no-store`, `no-cache` or an unreadable `max-age`, `default_ttl` without either; clamped to
/// `min_ttl..=max_ttl`. In seconds.
pub(crate) fn ttl_from_headers(headers: &http::HeaderMap, config: &DirectoryCacheConfig) -> u64 {
    let min = config.min_ttl.as_secs();
    let max = config.max_ttl.as_secs().max(min);
    let mut max_age: Option<u64> = None;
    let mut no_cache = false;
    for value in headers.get_all(http::header::CACHE_CONTROL) {
        let Ok(value) = value.to_str() else {
            no_cache = true;
            continue;
        };
        for directive in value.split(',').take(64) {
            let (name, arg) = match directive.split_once('=') {
                Some((n, a)) => (n.trim(), Some(a.trim().trim_matches('"'))),
                None => (directive.trim(), None),
            };
            if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
                no_cache = true;
            } else if name.eq_ignore_ascii_case("max-age") {
                match arg.filter(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit())) {
                    // Digits that overflow are "very long": the clamp brings them down.
                    Some(a) => {
                        let secs = a.parse::<u64>().unwrap_or(u64::MAX);
                        max_age = Some(max_age.map_or(secs, |m| m.min(secs)));
                    }
                    None => no_cache = true,
                }
            }
        }
    }
    let ttl = if no_cache {
        min
    } else {
        max_age.unwrap_or(config.default_ttl.as_secs())
    };
    ttl.clamp(min, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ttl(values: &[&str]) -> u64 {
        let mut headers = http::HeaderMap::new();
        for v in values {
            headers.append(
                http::header::CACHE_CONTROL,
                http::HeaderValue::from_str(v).unwrap(),
            );
        }
        ttl_from_headers(&headers, &DirectoryCacheConfig::default())
    }

    #[test]
    fn cache_control() {
        assert_eq!(ttl(&[]), 3600);
        assert_eq!(ttl(&["max-age=600"]), 600);
        assert_eq!(ttl(&["public, MAX-AGE=\"900\""]), 900);
        assert_eq!(ttl(&["max-age=5"]), 60);
        assert_eq!(ttl(&["max-age=99999999999999999999999"]), 86400);
        assert_eq!(ttl(&["max-age=600", "max-age=300"]), 300);
        assert_eq!(ttl(&["max-age=600, no-store"]), 60);
        assert_eq!(ttl(&["no-cache"]), 60);
        assert_eq!(ttl(&["max-age=-1"]), 60);
        assert_eq!(ttl(&["max-age"]), 60);
        assert_eq!(ttl(&["s-maxage=10, private"]), 3600);
    }

    #[test]
    fn media_type() {
        let with = |v: &str| {
            let mut h = http::HeaderMap::new();
            h.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_str(v).unwrap(),
            );
            check_media_type(&h).is_ok()
        };
        assert!(with(DIRECTORY_MEDIA_TYPE));
        assert!(with(
            "Application/HTTP-Message-Signatures-Directory+JSON; charset=utf-8"
        ));
        assert!(!with("application/jwk-set+json"));
        assert!(!with("application/json"));
        assert!(!with("text/html"));
        assert!(check_media_type(&http::HeaderMap::new()).is_err());
    }
}
