//! OAuth scopes and the all-of check, with optional implications (`orders:write` implies
//! `orders:read`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

/// Why a scope string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeError {
    /// A scope is empty or holds a character outside RFC 6749 §3.3's `scope-token`
    /// (`%x21 / %x23-5B / %x5D-7E`: printable ASCII except space, `"` and `\`).
    #[error("invalid scope {scope:?} at byte {position}")]
    Invalid {
        /// The offending scope.
        scope: String,
        /// Byte offset of the scope in the input it was read from.
        position: usize,
    },
    /// An implication chain loops back on itself.
    #[error("scope implications form a cycle through {scope:?}")]
    Cycle {
        /// A scope on the cycle.
        scope: String,
    },
}

/// One scope token, validated (RFC 6749 §3.3). Cheap to clone.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope(Arc<str>);

impl Scope {
    /// Validates `scope`.
    pub fn new(scope: &str) -> Result<Scope, ScopeError> {
        Scope::at(scope, 0)
    }

    fn at(scope: &str, position: usize) -> Result<Scope, ScopeError> {
        let valid = !scope.is_empty()
            && scope
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
        if valid {
            Ok(Scope(Arc::from(scope)))
        } else {
            Err(ScopeError::Invalid {
                scope: scope.to_owned(),
                position,
            })
        }
    }

    /// The scope as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A set of scopes: what a credential grants, or what a call requires. Sorted, no duplicates.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Scopes(Arc<[Scope]>);

impl Scopes {
    /// No scopes.
    pub fn empty() -> Scopes {
        Scopes::default()
    }

    /// Reads a space-separated list (the OAuth `scope` claim and parameter). Runs of spaces are
    /// tolerated; any other invalid byte is an error with its position.
    pub fn parse(list: &str) -> Result<Scopes, ScopeError> {
        let mut set = BTreeSet::new();
        let mut position = 0;
        for part in list.split(' ') {
            if !part.is_empty() {
                set.insert(Scope::at(part, position)?);
            }
            position += part.len() + 1;
        }
        Ok(Scopes(set.into_iter().collect()))
    }

    /// Validates each of `scopes` (the `scp` array claim, configuration).
    pub fn from_strs<I, S>(scopes: I) -> Result<Scopes, ScopeError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut set = BTreeSet::new();
        for (index, scope) in scopes.into_iter().enumerate() {
            set.insert(Scope::at(scope.as_ref(), index)?);
        }
        Ok(Scopes(set.into_iter().collect()))
    }

    /// Whether `scope` is in the set (no implications applied).
    pub fn contains(&self, scope: &str) -> bool {
        self.0.binary_search_by(|s| s.as_str().cmp(scope)).is_ok()
    }

    /// The scopes, sorted.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &Scope> {
        self.0.iter()
    }

    /// How many scopes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The union of two sets.
    pub fn union(&self, other: &Scopes) -> Scopes {
        let set: BTreeSet<Scope> = self.iter().chain(other.iter()).cloned().collect();
        Scopes(set.into_iter().collect())
    }
}

impl fmt::Display for Scopes {
    /// Space-separated, as in a `scope` parameter.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// Which scopes imply which others: granting `orders:write` can be made to grant
/// `orders:read`. Implications are transitive and closed when built; a cycle is an error.
#[derive(Debug, Clone, Default)]
pub struct ScopeHierarchy {
    /// For each scope, every scope it implies (transitively), itself excluded.
    implies: BTreeMap<Scope, Scopes>,
}

impl ScopeHierarchy {
    /// No implications: a scope grants only itself.
    pub fn flat() -> ScopeHierarchy {
        ScopeHierarchy::default()
    }

    /// Builds the closure of `pairs` (`(granted, implied)`).
    pub fn new<I, A, B>(pairs: I) -> Result<ScopeHierarchy, ScopeError>
    where
        I: IntoIterator<Item = (A, B)>,
        A: AsRef<str>,
        B: AsRef<str>,
    {
        let mut direct: BTreeMap<Scope, BTreeSet<Scope>> = BTreeMap::new();
        for (granted, implied) in pairs {
            let granted = Scope::new(granted.as_ref())?;
            let implied = Scope::new(implied.as_ref())?;
            if granted == implied {
                return Err(ScopeError::Cycle {
                    scope: granted.as_str().to_owned(),
                });
            }
            direct.entry(granted).or_default().insert(implied);
        }
        let mut implies = BTreeMap::new();
        for start in direct.keys() {
            let mut seen = BTreeSet::new();
            let mut stack: Vec<&Scope> = direct.get(start).into_iter().flatten().collect();
            while let Some(next) = stack.pop() {
                if next == start {
                    return Err(ScopeError::Cycle {
                        scope: start.as_str().to_owned(),
                    });
                }
                if seen.insert(next.clone())
                    && let Some(more) = direct.get(next)
                {
                    stack.extend(more.iter());
                }
            }
            implies.insert(start.clone(), Scopes(seen.into_iter().collect()));
        }
        Ok(ScopeHierarchy { implies })
    }

    /// `granted` with every implied scope added.
    pub fn expand(&self, granted: &Scopes) -> Scopes {
        if self.implies.is_empty() {
            return granted.clone();
        }
        let mut set: BTreeSet<Scope> = granted.iter().cloned().collect();
        for scope in granted.iter() {
            if let Some(implied) = self.implies.get(scope) {
                set.extend(implied.iter().cloned());
            }
        }
        Scopes(set.into_iter().collect())
    }

    /// Whether `granted` satisfies every scope in `required` (all-of), implications applied.
    pub fn satisfies(&self, granted: &Scopes, required: &Scopes) -> bool {
        required.iter().all(|need| self.grants(granted, need))
    }

    /// The scopes of `required` that `granted` lacks.
    pub fn missing(&self, granted: &Scopes, required: &Scopes) -> Scopes {
        Scopes(
            required
                .iter()
                .filter(|need| !self.grants(granted, need))
                .cloned()
                .collect(),
        )
    }

    fn grants(&self, granted: &Scopes, need: &Scope) -> bool {
        granted.contains(need.as_str())
            || granted.iter().any(|g| {
                self.implies
                    .get(g)
                    .is_some_and(|implied| implied.contains(need.as_str()))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_space_separated_lists_and_reports_positions() {
        let s = Scopes::parse("orders:read  inventory:read orders:read").unwrap();
        assert_eq!(s.to_string(), "inventory:read orders:read");
        assert!(s.contains("orders:read"));
        assert!(!s.contains("orders"));
        assert_eq!(
            Scopes::parse("a b\"c"),
            Err(ScopeError::Invalid {
                scope: "b\"c".into(),
                position: 2
            })
        );
        assert!(Scopes::parse("").unwrap().is_empty());
        assert!(Scope::new("").is_err());
        assert!(Scope::new("a\\b").is_err());
        assert!(Scope::new("é").is_err());
    }

    #[test]
    fn all_of_with_transitive_implications() {
        let h = ScopeHierarchy::new([
            ("orders:admin", "orders:write"),
            ("orders:write", "orders:read"),
        ])
        .unwrap();
        let granted = Scopes::parse("orders:admin").unwrap();
        let need = Scopes::parse("orders:read orders:write").unwrap();
        assert!(h.satisfies(&granted, &need));
        assert!(!ScopeHierarchy::flat().satisfies(&granted, &need));
        assert_eq!(
            ScopeHierarchy::flat().missing(&granted, &need).to_string(),
            "orders:read orders:write"
        );
        let read_only = Scopes::parse("orders:read").unwrap();
        assert_eq!(h.missing(&read_only, &need).to_string(), "orders:write");
        assert_eq!(
            h.expand(&granted).to_string(),
            "orders:admin orders:read orders:write"
        );
        assert!(h.satisfies(&Scopes::empty(), &Scopes::empty()));
    }

    #[test]
    fn cycles_are_refused() {
        assert!(matches!(
            ScopeHierarchy::new([("a", "b"), ("b", "c"), ("c", "a")]),
            Err(ScopeError::Cycle { .. })
        ));
        assert!(matches!(
            ScopeHierarchy::new([("a", "a")]),
            Err(ScopeError::Cycle { .. })
        ));
    }
}
