//! What one tool or method requires: declared with [`Require`], checked into a
//! [`ToolRequirement`].

use crate::principal::AuthMode;
use crate::ratelimit::RateLimitClass;
use crate::scope::{ScopeError, Scopes};

use super::error::{Segment, ToolMapError, ToolMapErrorKind};

/// A requirement as declared, not yet checked: the modes a call may authenticate with, the
/// scopes each needs (all of them), and the rate-limit class. [`ToolMapBuilder::build`]
/// (or `ToolRequirement::try_from`) validates it.
///
/// ```
/// use mcp_auth::toolmap::{Require, ToolRequirement};
/// use mcp_auth::AuthMode;
///
/// let either = Require::api_token(["orders:read"]).or_oauth(["orders:read", "profile"]);
/// let checked = ToolRequirement::try_from(either.class("write"))?;
/// assert!(checked.accepts(AuthMode::OAuth));
/// assert!(!checked.accepts(AuthMode::Anonymous));
/// assert_eq!(checked.all_scopes().to_string(), "orders:read profile");
/// assert_eq!(checked.rate_limit_class().as_str(), "write");
/// # Ok::<(), mcp_auth::toolmap::ToolMapError>(())
/// ```
///
/// [`ToolMapBuilder::build`]: super::ToolMapBuilder::build
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Require {
    pub(super) anonymous: Option<Vec<String>>,
    pub(super) api_token: Option<Vec<String>>,
    pub(super) oauth: Option<Vec<String>>,
    pub(super) class: Option<String>,
}

fn owned<I, S>(scopes: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    scopes.into_iter().map(|s| s.as_ref().to_owned()).collect()
}

impl Require {
    /// No credentials needed.
    pub fn anonymous() -> Require {
        Require::default().or_anonymous()
    }

    /// An API token granting every one of `scopes` (none: any valid token).
    pub fn api_token<I, S>(scopes: I) -> Require
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Require::default().or_api_token(scopes)
    }

    /// An OAuth access token granting every one of `scopes` (none: any valid token).
    pub fn oauth<I, S>(scopes: I) -> Require
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Require::default().or_oauth(scopes)
    }

    /// Also accept anonymous calls.
    pub fn or_anonymous(mut self) -> Require {
        self.anonymous = Some(Vec::new());
        self
    }

    /// Also accept an API token with `scopes` (replacing API-token scopes set before).
    pub fn or_api_token<I, S>(mut self, scopes: I) -> Require
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.api_token = Some(owned(scopes));
        self
    }

    /// Also accept an OAuth token with `scopes` (replacing OAuth scopes set before).
    pub fn or_oauth<I, S>(mut self, scopes: I) -> Require
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.oauth = Some(owned(scopes));
        self
    }

    /// The rate-limit class (default `read`).
    pub fn class(mut self, class: &str) -> Require {
        self.class = Some(class.to_owned());
        self
    }

    /// Validates, naming `path` (where the requirement was declared) in errors.
    pub(super) fn check(&self, path: &[Segment]) -> Result<ToolRequirement, ToolMapError> {
        let at = |more: &[Segment], kind: ToolMapErrorKind| {
            let mut full = path.to_vec();
            full.extend_from_slice(more);
            ToolMapError::at(kind, full)
        };
        if self.anonymous.is_none() && self.api_token.is_none() && self.oauth.is_none() {
            return Err(at(&[], ToolMapErrorKind::NoModes));
        }
        if self.anonymous.as_ref().is_some_and(|s| !s.is_empty()) {
            return Err(at(
                &[Segment::key("anonymous")],
                ToolMapErrorKind::AnonymousWithScopes,
            ));
        }
        let scopes = |mode: &'static str, list: &Option<Vec<String>>| match list {
            None => Ok(None),
            Some(list) => Scopes::from_strs(list).map(Some).map_err(|err| match err {
                ScopeError::Invalid { scope, position } => at(
                    &[Segment::key(mode), Segment::Index(position)],
                    ToolMapErrorKind::InvalidScope { scope },
                ),
                other => at(
                    &[Segment::key(mode)],
                    ToolMapErrorKind::InvalidScope {
                        scope: other.to_string(),
                    },
                ),
            }),
        };
        let api_token = scopes("api_token", &self.api_token)?;
        let oauth = scopes("oauth", &self.oauth)?;
        let class = match &self.class {
            None => RateLimitClass::read(),
            Some(name) => RateLimitClass::new(name).map_err(|_| {
                at(
                    &[Segment::key("class")],
                    ToolMapErrorKind::InvalidClass { name: name.clone() },
                )
            })?,
        };
        let all_scopes = match (&api_token, &oauth) {
            (Some(a), Some(o)) => a.union(o),
            (Some(one), None) | (None, Some(one)) => one.clone(),
            (None, None) => Scopes::empty(),
        };
        Ok(ToolRequirement {
            anonymous: self.anonymous.as_ref().map(|_| Scopes::empty()),
            api_token,
            oauth,
            class,
            all_scopes,
        })
    }
}

/// A checked requirement: which [`AuthMode`]s a call may use, the scopes each must grant (all
/// of them, implications applied by the map's [`ScopeHierarchy`](crate::scope::ScopeHierarchy)),
/// and the [`RateLimitClass`] its calls count against. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolRequirement {
    anonymous: Option<Scopes>,
    api_token: Option<Scopes>,
    oauth: Option<Scopes>,
    class: RateLimitClass,
    all_scopes: Scopes,
}

impl TryFrom<Require> for ToolRequirement {
    type Error = ToolMapError;

    fn try_from(require: Require) -> Result<ToolRequirement, ToolMapError> {
        require.check(&[])
    }
}

impl ToolRequirement {
    /// The accepted modes, in the order anonymous, API token, OAuth.
    pub fn modes(&self) -> impl Iterator<Item = AuthMode> + '_ {
        [
            (AuthMode::Anonymous, self.anonymous.is_some()),
            (AuthMode::ApiToken, self.api_token.is_some()),
            (AuthMode::OAuth, self.oauth.is_some()),
        ]
        .into_iter()
        .filter_map(|(mode, accepted)| accepted.then_some(mode))
    }

    /// The scopes `mode` must grant, or `None` if the mode is not accepted. Anonymous calls
    /// need no scopes.
    pub fn scopes_for(&self, mode: AuthMode) -> Option<&Scopes> {
        match mode {
            AuthMode::Anonymous => self.anonymous.as_ref(),
            AuthMode::ApiToken => self.api_token.as_ref(),
            AuthMode::OAuth => self.oauth.as_ref(),
        }
    }

    /// Whether `mode` is accepted at all.
    pub fn accepts(&self, mode: AuthMode) -> bool {
        self.scopes_for(mode).is_some()
    }

    /// The class the call's rate limit is counted in.
    pub fn rate_limit_class(&self) -> &RateLimitClass {
        &self.class
    }

    /// Every scope named by any mode: what a `WWW-Authenticate` challenge's `scope=` lists.
    pub fn all_scopes(&self) -> &Scopes {
        &self.all_scopes
    }
}
