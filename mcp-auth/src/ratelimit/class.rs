//! The rate-limit class of a tool: `read`, `write`, or a name of the operator's.

use std::fmt;
use std::sync::Arc;

/// A class name that is empty, too long, or not `[a-z0-9_.:-]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid rate-limit class {name:?}: 1 to 64 bytes of a-z, 0-9, '_', '-', '.', ':'")]
pub struct RateLimitClassError {
    /// The refused name.
    pub name: String,
}

/// The rate-limit class of a tool or method. Calls in one class share one budget per principal;
/// write classes are usually tighter than read classes. Cheap to clone.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RateLimitClass(Arc<str>);

impl RateLimitClass {
    /// Validates `name` (1 to 64 bytes of `a-z`, `0-9`, `_`, `-`, `.`, `:`).
    pub fn new(name: &str) -> Result<RateLimitClass, RateLimitClassError> {
        let valid = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b':'));
        if valid {
            Ok(RateLimitClass(Arc::from(name)))
        } else {
            Err(RateLimitClassError {
                name: name.to_owned(),
            })
        }
    }

    /// The `read` class.
    pub fn read() -> RateLimitClass {
        RateLimitClass(Arc::from("read"))
    }

    /// The `write` class.
    pub fn write() -> RateLimitClass {
        RateLimitClass(Arc::from("write"))
    }

    /// The class name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RateLimitClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for RateLimitClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        assert_eq!(
            RateLimitClass::new("orders.write").unwrap().as_str(),
            "orders.write"
        );
        assert_eq!(RateLimitClass::read().to_string(), "read");
        for bad in ["", "Read", "a b", &"x".repeat(65)] {
            assert!(RateLimitClass::new(bad).is_err(), "{bad:?}");
        }
    }
}
