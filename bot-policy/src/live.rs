//! A policy and a classifier that can be replaced while requests are being served.
//!
//! Readers take the current value with one atomic load ([`arc_swap`]); a replacement is built
//! off to the side and swapped in whole, so a request is evaluated entirely against the old
//! policy or entirely against the new one, and never waits for a reload.
//!
//! ```
//! use bot_policy::{LivePolicy, Policy};
//!
//! let live = LivePolicy::new(Policy::from_toml_str(r#"
//!     [[rules]]
//!     id = "a"
//!     expression = 'http.request.uri.path eq "/a"'
//!     action = "block"
//! "#).unwrap());
//! assert_eq!(live.current().rules()[0].id(), "a");
//!
//! // A policy that does not load leaves the running one in place.
//! assert!(live.replace_toml("[[rules]]\nid = 1").is_err());
//! assert_eq!(live.current().rules()[0].id(), "a");
//! assert!(live.last_error().is_some());
//! ```

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::classify::Classifier;
use crate::policy::{LoadOptions, Policy, PolicyError};
use crate::ranges::RangeRegistry;

/// A [`Policy`] that can be swapped for a new one at run time (hot reload).
///
/// Cheap to clone: clones share the same slot, so a `BotPolicyLayer`
/// built from one clone sees replacements made through another.
///
/// Rate-limit state belongs to the policy it was counted in: a reload starts every
/// `rate_limit` rule afresh.
#[derive(Clone)]
pub struct LivePolicy {
    shared: Arc<PolicySlot>,
}

struct PolicySlot {
    current: ArcSwap<Policy>,
    source: Option<(PathBuf, LoadOptions)>,
    generation: AtomicU64,
    last_error: Mutex<Option<PolicyError>>,
}

impl std::fmt::Debug for LivePolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LivePolicy")
            .field("file", &self.shared.source.as_ref().map(|(path, _)| path))
            .field("generation", &self.generation())
            .field("rules", &self.current().rules().len())
            .finish()
    }
}

impl From<Policy> for LivePolicy {
    fn from(policy: Policy) -> Self {
        LivePolicy::new(policy)
    }
}

impl LivePolicy {
    /// A live policy starting with `policy`, with no file behind it: it changes only through
    /// [`LivePolicy::replace`] and [`LivePolicy::replace_toml`].
    pub fn new(policy: Policy) -> Self {
        Self::with_source(policy, None)
    }

    fn with_source(policy: Policy, source: Option<(PathBuf, LoadOptions)>) -> Self {
        LivePolicy {
            shared: Arc::new(PolicySlot {
                current: ArcSwap::from_pointee(policy),
                source,
                generation: AtomicU64::new(0),
                last_error: Mutex::new(None),
            }),
        }
    }

    /// Loads the policy file at `path` (as [`Policy::load`]) and remembers it, so that
    /// [`LivePolicy::reload`] and [`LivePolicy::watch`] can read it again.
    ///
    /// # Errors
    ///
    /// The file's [`PolicyError`] when the first load fails.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, PolicyError> {
        Self::load_with(path, LoadOptions::default())
    }

    /// As [`LivePolicy::load`], with options (kept for every reload).
    ///
    /// # Errors
    ///
    /// The file's [`PolicyError`] when the first load fails.
    pub fn load_with(path: impl AsRef<Path>, options: LoadOptions) -> Result<Self, PolicyError> {
        let path = path.as_ref().to_path_buf();
        let policy = Policy::load_with(&path, options.clone())?;
        Ok(Self::with_source(policy, Some((path, options))))
    }

    /// The policy in force now. Requests already being evaluated keep the one they started with.
    pub fn current(&self) -> Arc<Policy> {
        self.shared.current.load_full()
    }

    /// A cheap guard on the current policy, for the request path.
    #[cfg(feature = "tower")]
    pub(crate) fn guard(&self) -> arc_swap::Guard<Arc<Policy>> {
        self.shared.current.load()
    }

    /// How many times the policy was replaced since this live policy was made.
    pub fn generation(&self) -> u64 {
        self.shared.generation.load(Ordering::Acquire)
    }

    /// The error of the last failed reload, cleared by the next successful one.
    pub fn last_error(&self) -> Option<PolicyError> {
        self.shared
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The file behind this policy, if it was loaded from one.
    pub fn file(&self) -> Option<&Path> {
        self.shared.source.as_ref().map(|(path, _)| path.as_path())
    }

    /// Puts `policy` in force.
    pub fn replace(&self, policy: Policy) {
        self.shared.current.store(Arc::new(policy));
        self.shared.generation.fetch_add(1, Ordering::AcqRel);
        *self
            .shared
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        tracing::info!(
            target: "bot_policy::reload",
            generation = self.generation(),
            "policy replaced"
        );
    }

    /// Compiles `src` (with the options of the file this policy was loaded from, if any) and puts
    /// it in force.
    ///
    /// # Errors
    ///
    /// The [`PolicyError`]; the running policy stays in force.
    pub fn replace_toml(&self, src: &str) -> Result<(), PolicyError> {
        let options = match &self.shared.source {
            Some((_, options)) => options.clone(),
            None => LoadOptions::default(),
        };
        let compiled = Policy::from_toml_str_with(src, &options);
        self.settle(compiled, "<policy>")
    }

    /// Reads the policy file again and puts it in force.
    ///
    /// # Errors
    ///
    /// The [`PolicyError`] (also when this policy has no file); the running policy stays in
    /// force, and the error is logged and kept for [`LivePolicy::last_error`].
    pub fn reload(&self) -> Result<(), PolicyError> {
        let Some((path, options)) = &self.shared.source else {
            return Err(PolicyError::message(
                "this live policy was not loaded from a file",
            ));
        };
        let compiled = Policy::load_with(path, options.clone());
        self.settle(compiled, &path.display().to_string())
    }

    fn settle(&self, compiled: Result<Policy, PolicyError>, file: &str) -> Result<(), PolicyError> {
        match compiled {
            Ok(policy) => {
                self.replace(policy);
                Ok(())
            }
            Err(error) => {
                tracing::error!(
                    target: "bot_policy::reload",
                    file,
                    error = %error.render(file),
                    "policy reload failed; the running policy stays in force"
                );
                *self
                    .shared
                    .last_error
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(error.clone());
                Err(error)
            }
        }
    }

    /// Watches the policy file: every `interval`, reads it, and reloads when its content changed
    /// and stayed the same for one more interval (so a file caught half-written is not loaded).
    /// A change that does not load is logged and kept for [`LivePolicy::last_error`], and the
    /// running policy stays in force; fixing the file brings the fix in at the next poll.
    ///
    /// The watch runs on its own thread (no async runtime needed) until the returned
    /// [`PolicyWatcher`] is dropped.
    ///
    /// # Errors
    ///
    /// When this policy was not loaded from a file, or the thread cannot be started.
    pub fn watch(&self, interval: Duration) -> Result<PolicyWatcher, PolicyError> {
        let Some((path, _)) = &self.shared.source else {
            return Err(PolicyError::message(
                "this live policy was not loaded from a file",
            ));
        };
        let path = path.clone();
        let live = self.clone();
        let (stop, stopped) = mpsc::channel::<()>();
        let mut last = std::fs::read(&path).ok();
        // A changed content is loaded once two polls in a row read the same bytes, so that a
        // file caught half-written (truncated, then written) is not loaded.
        let mut pending: Option<Vec<u8>> = None;
        let thread = std::thread::Builder::new()
            .name("bot-policy-watch".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    let Some(now) = std::fs::read(&path).ok() else {
                        continue;
                    };
                    if last.as_ref() == Some(&now) {
                        pending = None;
                    } else if pending.as_ref() == Some(&now) {
                        // A failed reload is logged and recorded by `reload`.
                        let _ = live.reload();
                        last = pending.take();
                    } else {
                        pending = Some(now);
                    }
                }
            })
            .map_err(|e| PolicyError::message(&format!("cannot start the watch thread: {e}")))?;
        Ok(PolicyWatcher {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// Stops watching a policy file when dropped (see [`LivePolicy::watch`]).
#[derive(Debug)]
pub struct PolicyWatcher {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for PolicyWatcher {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A [`Classifier`] whose catalog or ranges can be swapped at run time (the range refresher does
/// this). Cheap to clone: clones share the same slot.
#[derive(Clone)]
pub struct LiveClassifier {
    current: Arc<ArcSwap<Classifier>>,
}

impl std::fmt::Debug for LiveClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let current = self.current();
        f.debug_struct("LiveClassifier")
            .field("bots", &current.catalog().len())
            .field("range_sets", &current.ranges().len())
            .finish()
    }
}

impl From<Classifier> for LiveClassifier {
    fn from(classifier: Classifier) -> Self {
        LiveClassifier::new(classifier)
    }
}

impl Default for LiveClassifier {
    /// The built-in catalog and range snapshot.
    fn default() -> Self {
        LiveClassifier::new(Classifier::builtin())
    }
}

impl LiveClassifier {
    /// A live classifier starting with `classifier`.
    pub fn new(classifier: Classifier) -> Self {
        LiveClassifier {
            current: Arc::new(ArcSwap::from_pointee(classifier)),
        }
    }

    /// The classifier in force now.
    pub fn current(&self) -> Arc<Classifier> {
        self.current.load_full()
    }

    /// A cheap guard on the current classifier, for the request path.
    #[cfg(feature = "tower")]
    pub(crate) fn guard(&self) -> arc_swap::Guard<Arc<Classifier>> {
        self.current.load()
    }

    /// Puts `classifier` in force.
    pub fn replace(&self, classifier: Classifier) {
        self.current.store(Arc::new(classifier));
    }

    /// Changes the ranges of the classifier in force: `update` gets a copy of the current
    /// registry, and the classifier with the changed copy is swapped in. Concurrent updates are
    /// applied one after the other (none is lost).
    pub fn update_ranges(&self, update: impl Fn(&mut RangeRegistry)) {
        self.current.rcu(|current| {
            let mut ranges = current.ranges().clone();
            update(&mut ranges);
            Classifier::new(current.catalog().clone(), ranges)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ranges::IpRanges;

    #[test]
    fn a_policy_without_a_file_cannot_reload_or_watch() {
        let live = LivePolicy::new(Policy::from_toml_str("").unwrap_or_else(|e| panic!("{e}")));
        assert!(live.reload().is_err());
        assert!(live.watch(Duration::from_secs(1)).is_err());
        assert!(live.file().is_none());
        assert_eq!(live.generation(), 0);
    }

    #[test]
    fn replacing_bumps_the_generation_and_clears_the_error() {
        let live = LivePolicy::new(Policy::from_toml_str("").unwrap_or_else(|e| panic!("{e}")));
        let held = live.current();
        assert!(live.replace_toml("default = \"nonsense\"").is_err());
        assert!(live.last_error().is_some());
        live.replace_toml(
            "[[rules]]\nid = \"b\"\nexpression = 'http.request.uri.path eq \"/b\"'\naction = \"block\"\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(live.generation(), 1);
        assert!(live.last_error().is_none());
        // A policy taken before the swap stays whole.
        assert!(held.rules().is_empty());
        assert_eq!(live.current().rules().len(), 1);
    }

    #[test]
    fn ranges_are_updated_in_a_new_classifier() {
        let live = LiveClassifier::default();
        let before = live.current();
        let ip = "198.51.100.7"
            .parse()
            .unwrap_or(std::net::IpAddr::from([0u8; 4]));
        assert!(!before.ranges().contains("openai-gptbot", ip));
        live.update_ranges(|ranges| {
            let set = IpRanges::from_cidrs(["198.51.100.0/24"]).unwrap_or_default();
            ranges.insert("openai-gptbot", set);
        });
        assert!(live.current().ranges().contains("openai-gptbot", ip));
        assert!(!before.ranges().contains("openai-gptbot", ip));
        assert_eq!(live.current().catalog().len(), before.catalog().len());
    }
}
