//! Rate limits per principal and class (being built).

mod class;

pub use class::{RateLimitClass, RateLimitClassError};
