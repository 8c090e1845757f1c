//! What a rate limit is counted against: a principal (client address, API token, OAuth user) in
//! one rate-limit class.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;

use super::RateLimitClass;
use crate::principal::{AuthMode, Principal};

/// The principal part of a [`RateLimitKey`]: whose budget a call spends.
///
/// IPv6 clients are grouped by their `/64` network: a single host commonly holds a whole `/64`
/// (SLAAC, privacy addresses), so keying on the full address would let one client rotate through
/// 2^64 budgets. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) count as the IPv4 address.
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RateLimitSubject {
    /// An anonymous caller, by client address (IPv6: the `/64` network, host bits zeroed).
    Ip(IpAddr),
    /// An anonymous caller whose address is unknown. All such callers share one budget per class,
    /// so a deployment that forgets to pass the client address is limited, not unlimited.
    UnknownAddress,
    /// An API token, by its public identifier.
    ApiToken(Arc<str>),
    /// An OAuth user, by the `sub` claim (not qualified by issuer: with several trusted issuers,
    /// equal subjects share one budget, which errs on the strict side).
    User(Arc<str>),
}

impl RateLimitSubject {
    /// The subject for an anonymous caller at `ip`, IPv6 grouped by `/64`.
    pub fn ip(ip: IpAddr) -> RateLimitSubject {
        RateLimitSubject::Ip(group_address(ip))
    }

    /// The authentication mode whose quota applies to this subject.
    pub fn mode(&self) -> AuthMode {
        match self {
            RateLimitSubject::Ip(_) | RateLimitSubject::UnknownAddress => AuthMode::Anonymous,
            RateLimitSubject::ApiToken(_) => AuthMode::ApiToken,
            RateLimitSubject::User(_) => AuthMode::OAuth,
        }
    }
}

/// The address a rate limit counts: IPv4 as is, IPv4-mapped IPv6 as IPv4, other IPv6 addresses
/// reduced to their `/64` network.
pub fn group_address(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let network = u128::from(v6) & !u128::from(u64::MAX);
                IpAddr::V6(Ipv6Addr::from(network))
            }
        },
    }
}

impl fmt::Debug for RateLimitSubject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for RateLimitSubject {
    /// `ip:<address>` (IPv6: `ip:<network>/64`), `ip:unknown`, `token:<id>`, `user:<sub>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RateLimitSubject::Ip(IpAddr::V4(v4)) => write!(f, "ip:{v4}"),
            RateLimitSubject::Ip(IpAddr::V6(v6)) => write!(f, "ip:{v6}/64"),
            RateLimitSubject::UnknownAddress => f.write_str("ip:unknown"),
            RateLimitSubject::ApiToken(id) => write!(f, "token:{id}"),
            RateLimitSubject::User(sub) => write!(f, "user:{sub}"),
        }
    }
}

/// One budget: a subject in a rate-limit class. Cheap to build and clone (no allocation: the
/// class and identifiers are shared).
///
/// ```
/// use std::net::IpAddr;
/// use mcp_auth::Principal;
/// use mcp_auth::ratelimit::{RateLimitClass, RateLimitKey};
///
/// let ip: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
/// let key = RateLimitKey::new(&Principal::Anonymous { ip: Some(ip) }, &RateLimitClass::read());
/// assert_eq!(key.to_string(), "read|ip:2001:db8:1:2::/64");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RateLimitKey {
    class: RateLimitClass,
    subject: RateLimitSubject,
}

impl RateLimitKey {
    /// The key of `principal`'s calls in `class`: anonymous callers by address, API tokens by
    /// token id, OAuth users by `sub`.
    pub fn new(principal: &Principal, class: &RateLimitClass) -> RateLimitKey {
        let subject = match principal {
            Principal::Anonymous { ip: Some(ip) } => RateLimitSubject::ip(*ip),
            Principal::Anonymous { ip: None } => RateLimitSubject::UnknownAddress,
            Principal::ApiToken { id, .. } => RateLimitSubject::ApiToken(Arc::clone(id)),
            Principal::OAuth { sub, .. } => RateLimitSubject::User(Arc::clone(sub)),
        };
        RateLimitKey {
            class: class.clone(),
            subject,
        }
    }

    /// A key from its parts. An [`RateLimitSubject::Ip`] is grouped again here, so a subject
    /// built by hand with a full IPv6 address still counts its `/64`.
    pub fn from_parts(class: RateLimitClass, subject: RateLimitSubject) -> RateLimitKey {
        let subject = match subject {
            RateLimitSubject::Ip(ip) => RateLimitSubject::ip(ip),
            other => other,
        };
        RateLimitKey { class, subject }
    }

    /// The rate-limit class.
    pub fn class(&self) -> &RateLimitClass {
        &self.class
    }

    /// Whose budget.
    pub fn subject(&self) -> &RateLimitSubject {
        &self.subject
    }

    /// The authentication mode whose quota applies.
    pub fn mode(&self) -> AuthMode {
        self.subject.mode()
    }
}

impl fmt::Debug for RateLimitKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for RateLimitKey {
    /// `<class>|<subject>`, e.g. `order.write|token:tok_123`: a stable name a distributed store
    /// can use as (or hash into) its storage key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}|{}", self.class, self.subject)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::Scopes;

    fn addr(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv6_addresses_are_grouped_by_their_64() {
        let a = RateLimitSubject::ip(addr("2001:db8:1:2:aaaa:bbbb:cccc:dddd"));
        let b = RateLimitSubject::ip(addr("2001:db8:1:2::1"));
        let c = RateLimitSubject::ip(addr("2001:db8:1:3::1"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, RateLimitSubject::Ip(addr("2001:db8:1:2::")));
        assert_eq!(a.to_string(), "ip:2001:db8:1:2::/64");
    }

    #[test]
    fn ipv4_and_mapped_ipv4_are_the_same_client() {
        let v4 = RateLimitSubject::ip(addr("192.0.2.7"));
        assert_eq!(v4, RateLimitSubject::ip(addr("::ffff:192.0.2.7")));
        assert_ne!(v4, RateLimitSubject::ip(addr("192.0.2.8")));
        assert_eq!(v4.to_string(), "ip:192.0.2.7");
    }

    #[test]
    fn keys_follow_the_principal() {
        let read = RateLimitClass::read();
        let token = Principal::ApiToken {
            id: Arc::from("tok_1"),
            scopes: Scopes::empty(),
            principal: Arc::from("partner"),
        };
        let user = Principal::OAuth {
            sub: Arc::from("user-9"),
            scopes: Scopes::empty(),
            client_id: None,
            claims: Arc::default(),
        };
        let nobody = Principal::Anonymous { ip: None };
        let k = RateLimitKey::new(&token, &read);
        assert_eq!(k.mode(), AuthMode::ApiToken);
        assert_eq!(k.to_string(), "read|token:tok_1");
        let k = RateLimitKey::new(&user, &RateLimitClass::write());
        assert_eq!(k.mode(), AuthMode::OAuth);
        assert_eq!(k.to_string(), "write|user:user-9");
        let k = RateLimitKey::new(&nobody, &read);
        assert_eq!(k.mode(), AuthMode::Anonymous);
        assert_eq!(k.subject(), &RateLimitSubject::UnknownAddress);
    }

    #[test]
    fn from_parts_groups_a_hand_built_address() {
        let k = RateLimitKey::from_parts(
            RateLimitClass::read(),
            RateLimitSubject::Ip(addr("2001:db8::5")),
        );
        assert_eq!(k.subject(), &RateLimitSubject::ip(addr("2001:db8::9")));
    }
}
