//! Group `web_bot_auth`: verifying the protocol-02 Ed25519 vector with our crate, Cloudflare's
//! `web-bot-auth` 0.7 and `httpsig` 0.0.26, against the bare Ed25519 floors.
//!
//! Targets (from the issue): the full profile verification at most 1.10× a bare
//! `ed25519-dalek` `verify_strict` of the same base, measured in the same run; parse + base
//! under 1.5 µs.

use std::hint::black_box;
use std::sync::Arc;

use web_bot_auth::profile::Outcome;

use super::{Case, Ratio};
use crate::cloudflare::Cloudflare;
use crate::fixtures::{NOW, PUBLISHED, REORDERED, Vector};
use crate::floor::Floor;
use crate::httpsig_peer::Httpsig;
use crate::layered::{CacheHit, Layered};
use crate::ours::Ours;

/// The group name.
pub const GROUP: &str = "web_bot_auth";

/// Case names.
pub mod names {
    /// `ed25519-dalek` `verify_strict` of the published base.
    pub const FLOOR_STRICT: &str = "floor/ed25519-dalek verify_strict";
    /// `ed25519-dalek` `verify` of the published base.
    pub const FLOOR_DALEK: &str = "floor/ed25519-dalek verify";
    /// `ed25519-compact` `verify` of the published base.
    pub const FLOOR_COMPACT: &str = "floor/ed25519-compact verify";
    /// Our full profile verification, published vector.
    pub const OURS_PUBLISHED: &str = "ours/profile verify (published)";
    /// Our full profile verification, reordered vector.
    pub const OURS_REORDERED: &str = "ours/profile verify (reordered)";
    /// Our parse + base, published vector.
    pub const OURS_PARSE: &str = "ours/parse+base";
    /// Cloudflare's verification, published vector.
    pub const CF_PUBLISHED: &str = "cloudflare-0.7/verify (published)";
    /// Cloudflare's verification, reordered vector.
    pub const CF_REORDERED: &str = "cloudflare-0.7/verify (reordered)";
    /// Cloudflare's parse + base, published vector.
    pub const CF_PARSE: &str = "cloudflare-0.7/parse+base";
    /// httpsig's verification, reordered vector.
    pub const HS_REORDERED: &str = "httpsig-0.0.26/verify (reordered)";
    /// httpsig's parse + base, reordered vector.
    pub const HS_PARSE: &str = "httpsig-0.0.26/parse+base";
    /// Our core verify of a copy of the request (the baseline of the layer).
    pub const OURS_CORE_CLONED: &str = "ours/core verify (request copy)";
    /// `VerifyLayer` in front of a bare service, on a copy of the request.
    pub const OURS_LAYER: &str = "ours/VerifyLayer + bare service (request copy)";
    /// A key lookup that the directory cache answers from memory.
    pub const CACHE_HIT: &str = "ours/directory cache hit";
}

/// Budget for our parse + base, in nanoseconds.
pub const PARSE_AND_BASE_BUDGET_NS: f64 = 1500.0;

/// The ratios the report shows.
pub const RATIOS: &[Ratio] = &[
    Ratio {
        label: "VerifyLayer + bare service / core verify (cached key)",
        numerator: names::OURS_LAYER,
        denominator: names::OURS_CORE_CLONED,
        target: Some(1.05),
    },
    Ratio {
        label: "ours profile verify / dalek verify_strict (published)",
        numerator: names::OURS_PUBLISHED,
        denominator: names::FLOOR_STRICT,
        target: Some(1.10),
    },
    Ratio {
        label: "ours profile verify / dalek verify_strict (reordered)",
        numerator: names::OURS_REORDERED,
        denominator: names::FLOOR_STRICT,
        target: Some(1.10),
    },
    Ratio {
        label: "ours / cloudflare-0.7, verify (published)",
        numerator: names::OURS_PUBLISHED,
        denominator: names::CF_PUBLISHED,
        target: None,
    },
    Ratio {
        label: "ours / cloudflare-0.7, verify (reordered)",
        numerator: names::OURS_REORDERED,
        denominator: names::CF_REORDERED,
        target: None,
    },
    Ratio {
        label: "ours / httpsig-0.0.26, verify (reordered)",
        numerator: names::OURS_REORDERED,
        denominator: names::HS_REORDERED,
        target: None,
    },
    Ratio {
        label: "cloudflare-0.7 verify / dalek verify (published)",
        numerator: names::CF_PUBLISHED,
        denominator: names::FLOOR_DALEK,
        target: None,
    },
    Ratio {
        label: "httpsig-0.0.26 verify / ed25519-compact verify (reordered)",
        numerator: names::HS_REORDERED,
        denominator: names::FLOOR_COMPACT,
        target: None,
    },
    Ratio {
        label: "ours / cloudflare-0.7, parse+base",
        numerator: names::OURS_PARSE,
        denominator: names::CF_PARSE,
        target: None,
    },
    Ratio {
        label: "ours / httpsig-0.0.26, parse+base",
        numerator: names::OURS_PARSE,
        denominator: names::HS_PARSE,
        target: None,
    },
];

/// Everything the cases need, built once.
#[derive(Debug)]
pub struct Fixtures {
    /// The request with the published vector.
    pub published: http::Request<String>,
    /// The request with the reordered vector.
    pub reordered: http::Request<String>,
    /// Bare Ed25519 over the published base.
    pub floor: Floor,
    /// Our verifier.
    pub ours: Ours,
    /// Cloudflare's.
    pub cloudflare: Cloudflare,
    /// httpsig's.
    pub httpsig: Httpsig,
    /// Our tower layer and its baseline.
    pub layered: Layered,
    /// Our directory cache with the key in it.
    pub cache: CacheHit,
}

fn expect(ok: bool, what: &str) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what.to_owned()) }
}

impl Fixtures {
    /// Builds the requests, keys and verifiers.
    pub fn new() -> Result<Self, String> {
        Ok(Fixtures {
            published: PUBLISHED.request(),
            reordered: REORDERED.request(),
            floor: Floor::new(&PUBLISHED)?,
            ours: Ours::new()?,
            cloudflare: Cloudflare::new(),
            httpsig: Httpsig::new()?,
            layered: Layered::new()?,
            cache: CacheHit::new()?,
        })
    }

    fn request(&self, v: &Vector) -> &http::Request<String> {
        if v.name == REORDERED.name {
            &self.reordered
        } else {
            &self.published
        }
    }

    /// Checks that every case compares like with like: each implementation verifies its
    /// vectors, and each parse + base yields exactly the vector's base.
    pub fn check(&self) -> Result<(), String> {
        expect(self.floor.dalek_verify_strict(), "dalek verify_strict")?;
        expect(self.floor.dalek_verify(), "dalek verify")?;
        expect(self.floor.compact_verify(), "ed25519-compact verify")?;
        for v in [PUBLISHED, REORDERED] {
            let req = self.request(&v);
            match self.ours.verify(req)? {
                Outcome::Verified(_) => {}
                other => return Err(format!("ours on {}: {other:?}", v.name)),
            }
            let parsed = self.ours.parse_and_base(req)?;
            expect(
                parsed.base.as_str() == v.base,
                &format!("ours: base of {}", v.name),
            )?;
            self.cloudflare
                .verify(req, NOW)
                .map_err(|e| format!("cloudflare on {}: {e}", v.name))?;
            expect(
                self.cloudflare.parse_and_base(req)? == v.base,
                &format!("cloudflare: base of {}", v.name),
            )?;
        }
        expect(self.layered.core(&self.published), "ours core (copy)")?;
        expect(self.layered.layered(&self.published), "ours VerifyLayer")?;
        expect(self.cache.resolve(), "directory cache hit")?;
        self.httpsig
            .verify(&self.reordered)
            .map_err(|e| format!("httpsig on reordered: {e}"))?;
        expect(
            self.httpsig.parse_and_base(&self.reordered)? == REORDERED.base.as_bytes(),
            "httpsig: base of reordered",
        )
    }
}

/// The group's cases, in report order, after [`Fixtures::check`] passed.
pub fn cases() -> Result<Vec<Case>, String> {
    let fixtures = Arc::new(Fixtures::new()?);
    fixtures.check()?;
    let case = |name: &'static str, routine: fn(&Fixtures) -> bool| {
        let f = Arc::clone(&fixtures);
        Case::new(name, move || routine(black_box(&f)))
    };
    Ok(vec![
        case(names::FLOOR_STRICT, |f| f.floor.dalek_verify_strict()),
        case(names::FLOOR_DALEK, |f| f.floor.dalek_verify()),
        case(names::FLOOR_COMPACT, |f| f.floor.compact_verify()),
        case(names::OURS_PUBLISHED, |f| {
            matches!(f.ours.verify(&f.published), Ok(Outcome::Verified(_)))
        }),
        case(names::OURS_REORDERED, |f| {
            matches!(f.ours.verify(&f.reordered), Ok(Outcome::Verified(_)))
        }),
        case(names::OURS_PARSE, |f| {
            f.ours.parse_and_base(&f.published).is_ok()
        }),
        case(names::CF_PUBLISHED, |f| {
            f.cloudflare.verify(&f.published, NOW).is_ok()
        }),
        case(names::CF_REORDERED, |f| {
            f.cloudflare.verify(&f.reordered, NOW).is_ok()
        }),
        case(names::CF_PARSE, |f| {
            f.cloudflare.parse_and_base(&f.published).is_ok()
        }),
        case(names::HS_REORDERED, |f| {
            f.httpsig.verify(&f.reordered).is_ok()
        }),
        case(names::HS_PARSE, |f| {
            f.httpsig.parse_and_base(&f.reordered).is_ok()
        }),
        case(names::OURS_CORE_CLONED, |f| f.layered.core(&f.published)),
        case(names::OURS_LAYER, |f| f.layered.layered(&f.published)),
        case(names::CACHE_HIT, |f| f.cache.resolve()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_check_and_every_case_succeeds() {
        let cases = cases().unwrap();
        assert_eq!(cases.len(), 14);
        for c in &cases {
            assert!(c.run(), "{}", c.name);
        }
        let mut names: Vec<_> = cases.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), cases.len());
        for r in RATIOS {
            assert!(names.contains(&r.numerator), "{}", r.numerator);
            assert!(names.contains(&r.denominator), "{}", r.denominator);
        }
    }
}
