//! Registered-claim checks (`exp`, `nbf`, `iss`, `aud`, `sub`) against the injected clock, and
//! the mapping of the claims to a [`Principal`].

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::Principal;
use crate::oauth::refusal::JwtRefusal;
use crate::oauth::verifier::VerifiedToken;
use crate::scope::{ScopeHierarchy, Scopes};

/// The longest claim value quoted in a refusal's detail.
const MAX_QUOTED: usize = 64;

/// What a token's claims must satisfy, and how they become a principal.
#[derive(Debug, Clone)]
pub(crate) struct ClaimRules {
    pub(crate) issuer: Box<str>,
    pub(crate) audiences: Box<[Box<str>]>,
    pub(crate) leeway_secs: u64,
    pub(crate) hierarchy: ScopeHierarchy,
    pub(crate) default_scopes: Scopes,
    /// A claim read as the subject when `sub` is absent or empty (Cloudflare Access service
    /// tokens carry `common_name` and an empty `sub`).
    pub(crate) subject_fallback: Option<&'static str>,
}

impl ClaimRules {
    /// Checks `claims` at `now` (Unix seconds) and builds the verified token.
    pub(crate) fn check(
        &self,
        claims: Map<String, Value>,
        now: u64,
    ) -> Result<VerifiedToken, JwtRefusal> {
        let exp = numeric_date(&claims, "exp")?.ok_or_else(|| missing("exp"))?;
        let nbf = numeric_date(&claims, "nbf")?;

        match claims.get("iss") {
            None => return Err(missing("iss")),
            Some(Value::String(iss)) if *iss == *self.issuer => {}
            Some(other) => {
                return Err(JwtRefusal::InvalidClaims {
                    detail: format!("iss {} is not the configured issuer", quoted(other)).into(),
                });
            }
        }

        match claims.get("aud") {
            None => return Err(missing("aud")),
            Some(Value::String(aud)) if self.accepts_audience(aud) => {}
            Some(Value::Array(auds))
                if auds.iter().all(Value::is_string)
                    && auds
                        .iter()
                        .any(|a| a.as_str().is_some_and(|a| self.accepts_audience(a))) => {}
            Some(other) => {
                return Err(JwtRefusal::InvalidClaims {
                    detail: format!("aud {} does not name this resource", quoted(other)).into(),
                });
            }
        }

        if now >= exp.saturating_add(self.leeway_secs) {
            return Err(JwtRefusal::Expired {
                detail: format!(
                    "exp {exp} is {}s before now, leeway {}s",
                    now.saturating_sub(exp),
                    self.leeway_secs
                )
                .into(),
            });
        }
        if let Some(nbf) = nbf
            && nbf > now.saturating_add(self.leeway_secs)
        {
            return Err(JwtRefusal::InvalidClaims {
                detail: format!("not valid before {nbf} ({}s from now)", nbf - now).into(),
            });
        }

        let sub = self.subject(&claims)?;
        let client_id = ["client_id", "azp"]
            .iter()
            .chain(self.subject_fallback.iter())
            .find_map(|name| match claims.get(*name) {
                Some(Value::String(s)) if !s.is_empty() => Some(Arc::<str>::from(s.as_str())),
                _ => None,
            });
        let scopes = self.scopes(&claims)?;

        Ok(VerifiedToken {
            principal: Principal::OAuth {
                sub,
                scopes,
                client_id,
                claims: Arc::new(claims),
            },
            expires_at: exp,
        })
    }

    fn accepts_audience(&self, aud: &str) -> bool {
        self.audiences.iter().any(|a| **a == *aud)
    }

    fn subject(&self, claims: &Map<String, Value>) -> Result<Arc<str>, JwtRefusal> {
        let non_empty = |name: &str| match claims.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Some(Arc::<str>::from(s.as_str())),
            _ => None,
        };
        if let Some(sub) = non_empty("sub") {
            return Ok(sub);
        }
        if let Some(fallback) = self.subject_fallback.and_then(non_empty) {
            return Ok(fallback);
        }
        match claims.get("sub") {
            None => Err(missing("sub")),
            Some(other) => Err(JwtRefusal::InvalidClaims {
                detail: format!("sub {} is not a non-empty string", quoted(other)).into(),
            }),
        }
    }

    /// `scope` (a space-separated string) and `scp` (an array of strings, or a string): the
    /// union of both when both are present. An invalid scope refuses the token.
    fn scopes(&self, claims: &Map<String, Value>) -> Result<Scopes, JwtRefusal> {
        let mut scopes = self.default_scopes.clone();
        for name in ["scope", "scp"] {
            let read = match claims.get(name) {
                None => continue,
                Some(Value::String(list)) => Scopes::parse(list),
                Some(Value::Array(items)) if name == "scp" => {
                    let mut strings = Vec::with_capacity(items.len());
                    for item in items {
                        match item {
                            Value::String(s) => strings.push(s.as_str()),
                            other => {
                                return Err(JwtRefusal::InvalidClaims {
                                    detail: format!("scp holds a non-string {}", quoted(other))
                                        .into(),
                                });
                            }
                        }
                    }
                    Scopes::from_strs(strings)
                }
                Some(other) => {
                    return Err(JwtRefusal::InvalidClaims {
                        detail: format!("{name} has the wrong type: {}", quoted(other)).into(),
                    });
                }
            };
            let read = read.map_err(|e| JwtRefusal::InvalidClaims {
                detail: format!("{name}: {e}").into(),
            })?;
            scopes = if scopes.is_empty() {
                read
            } else {
                scopes.union(&read)
            };
        }
        Ok(self.hierarchy.expand(&scopes))
    }
}

fn missing(claim: &'static str) -> JwtRefusal {
    JwtRefusal::InvalidClaims {
        detail: Cow::Owned(format!("required claim {claim} is missing")),
    }
}

/// A NumericDate (RFC 7519 §2): a non-negative JSON number of seconds; fractions are dropped.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, JwtRefusal> {
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    let seconds = match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                // Saturating float-to-int conversion; the value is finite and non-negative.
                .map(|f| f as u64)
        }),
        _ => None,
    };
    seconds.map(Some).ok_or_else(|| JwtRefusal::InvalidClaims {
        detail: format!("{name} {} is not a NumericDate", quoted(value)).into(),
    })
}

/// A claim value for a log line: JSON, cut to [`MAX_QUOTED`] bytes.
fn quoted(value: &Value) -> String {
    let mut text = value.to_string();
    if text.len() > MAX_QUOTED {
        let mut end = MAX_QUOTED;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> ClaimRules {
        ClaimRules {
            issuer: "https://issuer.example".into(),
            audiences: vec!["https://mcp.example/mcp".into()].into(),
            leeway_secs: 60,
            hierarchy: ScopeHierarchy::flat(),
            default_scopes: Scopes::empty(),
            subject_fallback: None,
        }
    }

    fn claims(extra: Value) -> Map<String, Value> {
        let mut base = json!({
            "iss": "https://issuer.example",
            "aud": "https://mcp.example/mcp",
            "sub": "alice",
            "exp": 1_000_100,
        });
        if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
            for (k, v) in extra {
                if v.is_null() {
                    base.remove(&k);
                } else {
                    base.insert(k, v);
                }
            }
        }
        match base {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    fn check(extra: Value, now: u64) -> Result<VerifiedToken, JwtRefusal> {
        rules().check(claims(extra), now)
    }

    #[test]
    fn required_claims() {
        for name in ["exp", "iss", "aud", "sub"] {
            let err = check(json!({ name: null }), 1_000_000).unwrap_err();
            assert!(
                matches!(&err, JwtRefusal::InvalidClaims { detail } if detail.contains(name)),
                "{err:?}"
            );
        }
    }

    #[test]
    fn exp_and_nbf_with_leeway() {
        assert!(check(json!({}), 1_000_099).is_ok());
        assert!(check(json!({}), 1_000_159).is_ok()); // inside the 60 s leeway
        assert!(matches!(
            check(json!({}), 1_000_160),
            Err(JwtRefusal::Expired { .. })
        ));
        assert!(check(json!({"exp": 1_000_100.9}), 1_000_000).is_ok());
        assert!(matches!(
            check(json!({"exp": "soon"}), 1_000_000),
            Err(JwtRefusal::InvalidClaims { .. })
        ));
        assert!(matches!(
            check(json!({"exp": -5}), 1_000_000),
            Err(JwtRefusal::InvalidClaims { .. })
        ));
        assert!(check(json!({"nbf": 1_000_060}), 1_000_000).is_ok());
        assert!(matches!(
            check(json!({"nbf": 1_000_061}), 1_000_000),
            Err(JwtRefusal::InvalidClaims { .. })
        ));
        assert!(check(json!({"exp": u64::MAX}), u64::MAX - 1).is_ok());
    }

    #[test]
    fn issuer_and_audience() {
        assert!(matches!(
            check(json!({"iss": "https://evil.example"}), 1_000_000),
            Err(JwtRefusal::InvalidClaims { .. })
        ));
        assert!(matches!(
            check(json!({"iss": ["https://issuer.example"]}), 1_000_000),
            Err(JwtRefusal::InvalidClaims { .. })
        ));
        assert!(matches!(
            check(json!({"aud": "https://other.example/mcp"}), 1_000_000),
            Err(JwtRefusal::InvalidClaims { .. })
        ));
        assert!(check(json!({"aud": ["x", "https://mcp.example/mcp"]}), 1_000_000).is_ok());
        assert!(matches!(
            check(
                json!({"aud": ["x", 5, "https://mcp.example/mcp"]}),
                1_000_000
            ),
            Err(JwtRefusal::InvalidClaims { .. })
        ));
        assert!(matches!(
            check(json!({"aud": []}), 1_000_000),
            Err(JwtRefusal::InvalidClaims { .. })
        ));
    }

    #[test]
    fn principal_from_claims() {
        let token = check(
            json!({"scope": "b a", "scp": ["c"], "azp": "client-1", "extra": 1}),
            1_000_000,
        )
        .unwrap();
        assert_eq!(token.expires_at, 1_000_100);
        match token.principal {
            Principal::OAuth {
                sub,
                scopes,
                client_id,
                claims,
            } => {
                assert_eq!(&*sub, "alice");
                assert_eq!(scopes.to_string(), "a b c");
                assert_eq!(client_id.as_deref(), Some("client-1"));
                assert_eq!(claims.get("extra"), Some(&json!(1)));
            }
            other => panic!("{other:?}"),
        }
        let scp_string = check(json!({"scp": "x y"}), 1_000_000).unwrap();
        assert_eq!(scp_string.principal.scopes().to_string(), "x y");
        let none = check(json!({}), 1_000_000).unwrap();
        assert!(none.principal.scopes().is_empty());
    }

    #[test]
    fn invalid_scopes_refuse_the_token() {
        for bad in [
            json!({"scope": "a \"b"}),
            json!({"scp": ["ok", ""]}),
            json!({"scp": [1]}),
            json!({"scope": ["a"]}),
        ] {
            assert!(
                matches!(
                    check(bad.clone(), 1_000_000),
                    Err(JwtRefusal::InvalidClaims { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            check(json!({"sub": ""}), 1_000_000),
            Err(JwtRefusal::InvalidClaims { .. })
        ));
    }

    #[test]
    fn hierarchy_defaults_and_fallback_subject() {
        let mut r = rules();
        r.hierarchy = ScopeHierarchy::new([("orders:write", "orders:read")]).unwrap();
        r.default_scopes = Scopes::parse("mcp:use").unwrap();
        r.subject_fallback = Some("common_name");
        let t = r
            .check(
                claims(json!({"sub": "", "common_name": "svc.access", "scope": "orders:write"})),
                1_000_000,
            )
            .unwrap();
        assert_eq!(
            t.principal.scopes().to_string(),
            "mcp:use orders:read orders:write"
        );
        assert_eq!(t.principal.label(), "user:svc.access");
    }

    #[test]
    fn quoted_values_are_bounded() {
        let long = Value::String("é".repeat(100));
        assert!(quoted(&long).len() <= MAX_QUOTED + '…'.len_utf8());
    }
}
