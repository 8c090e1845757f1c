//! Tests of [`ApiTokens`] over the memory store, with a manual clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::BoxFuture;
use crate::audit::{AuthEventKind, FailureReason, RecordingSink};
use crate::clock::ManualClock;
use crate::principal::Principal;
use crate::scope::{ScopeHierarchy, Scopes};

const START: u64 = 1_700_000_000;
const DAY: u64 = 24 * 60 * 60;

/// A memory store that counts every call.
#[derive(Default)]
struct CountingStore {
    inner: MemoryTokenStore,
    calls: AtomicUsize,
}

impl CountingStore {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
    fn count(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

impl TokenStore for CountingStore {
    fn get(&self, hash: TokenHash) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
        self.count();
        self.inner.get(hash)
    }
    fn find_by_id(
        &self,
        id: &TokenId,
    ) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
        self.count();
        self.inner.find_by_id(id)
    }
    fn insert(&self, record: TokenRecord) -> BoxFuture<'_, Result<(), TokenStoreError>> {
        self.count();
        self.inner.insert(record)
    }
    fn revoke(
        &self,
        id: &TokenId,
        at: u64,
    ) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
        self.count();
        self.inner.revoke(id, at)
    }
    fn rotate(
        &self,
        old: &TokenId,
        replacement: TokenRecord,
        old_expires_at: u64,
    ) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
        self.count();
        self.inner.rotate(old, replacement, old_expires_at)
    }
    fn list(&self) -> BoxFuture<'_, Result<Vec<TokenRecord>, TokenStoreError>> {
        self.count();
        self.inner.list()
    }
    fn purge(&self, before: u64) -> BoxFuture<'_, Result<usize, TokenStoreError>> {
        self.count();
        self.inner.purge(before)
    }
}

/// A store that is always down.
struct DownStore;

impl TokenStore for DownStore {
    fn get(&self, _: TokenHash) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
        Box::pin(std::future::ready(Err(TokenStoreError::Unavailable {
            reason: "down".into(),
        })))
    }
    fn find_by_id(
        &self,
        _: &TokenId,
    ) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
        self.get(TokenHash::from_bytes([0; 32]))
    }
    fn insert(&self, _: TokenRecord) -> BoxFuture<'_, Result<(), TokenStoreError>> {
        Box::pin(std::future::ready(Ok(())))
    }
    fn revoke(
        &self,
        _: &TokenId,
        _: u64,
    ) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
        self.get(TokenHash::from_bytes([0; 32]))
    }
    fn rotate(
        &self,
        _: &TokenId,
        _: TokenRecord,
        _: u64,
    ) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
        self.get(TokenHash::from_bytes([0; 32]))
    }
    fn list(&self) -> BoxFuture<'_, Result<Vec<TokenRecord>, TokenStoreError>> {
        Box::pin(std::future::ready(Ok(Vec::new())))
    }
    fn purge(&self, _: u64) -> BoxFuture<'_, Result<usize, TokenStoreError>> {
        Box::pin(std::future::ready(Ok(0)))
    }
}

struct Fixture {
    tokens: ApiTokens,
    store: Arc<CountingStore>,
    clock: ManualClock,
    sink: RecordingSink,
}

fn fixture() -> Fixture {
    let store = Arc::new(CountingStore::default());
    let clock = ManualClock::from_unix(START);
    let sink = RecordingSink::new(64);
    let tokens = ApiTokens::new(store.clone())
        .with_clock(Arc::new(clock.clone()))
        .with_sink(Arc::new(sink.clone()));
    Fixture {
        tokens,
        store,
        clock,
        sink,
    }
}

fn scopes(list: &str) -> Scopes {
    Scopes::parse(list).unwrap()
}

/// The futures of the memory store are ready at once; a runtime keeps the tests honest anyway.
fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn issue_then_authenticate() {
    let f = fixture();
    block_on(async {
        let (token, record) = f
            .tokens
            .issue(
                "partner-a",
                scopes("orders:read orders:write"),
                TokenTtl::Default,
            )
            .await
            .unwrap();
        assert_eq!(record.created_at, START);
        assert_eq!(record.expires_at, Some(START + 90 * DAY));
        assert_eq!(record.hash, TokenHash::of(token.expose_secret()));
        assert_eq!(token.id(), &record.id);
        assert!(f.tokens.looks_like_token(token.expose_secret()));

        let grant = f.tokens.authenticate(token.expose_secret()).await.unwrap();
        assert_eq!(grant.id, record.id);
        assert_eq!(&*grant.principal, "partner-a");
        assert_eq!(grant.scopes, scopes("orders:read orders:write"));
        assert_eq!(grant.expires_at, Some(START + 90 * DAY));
        assert_eq!(grant.label(), format!("token:{}", record.id));

        let hierarchy = ScopeHierarchy::new([("orders:write", "orders:audit")]).unwrap();
        match grant.to_principal(&hierarchy) {
            Principal::ApiToken {
                id,
                scopes: granted,
                principal,
            } => {
                assert_eq!(&*id, record.id.as_str());
                assert_eq!(&*principal, "partner-a");
                assert!(granted.contains("orders:audit"));
            }
            other => panic!("unexpected principal {other:?}"),
        }

        let events = f.sink.take();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, AuthEventKind::TokenIssued);
        assert_eq!(
            events[0].principal.as_deref(),
            Some(record.label().as_str())
        );
        let detail = events[0].detail.as_deref().unwrap();
        assert!(detail.contains("partner-a"), "{detail}");
        assert!(!format!("{events:?}").contains(token.expose_secret()));
    });
}

#[test]
fn a_wrong_secret_of_the_right_shape_is_unknown() {
    let f = fixture();
    block_on(async {
        f.tokens
            .issue("partner-a", scopes("a"), TokenTtl::Default)
            .await
            .unwrap();
        // A well-formed token (valid checksum) that was never issued.
        let stranger = TokenPrefix::default().generate().unwrap();
        let refusal = f.tokens.authenticate(&stranger).await.unwrap_err();
        assert!(matches!(refusal, TokenRefusal::Unknown), "{refusal:?}");
        assert_eq!(refusal.reason(), FailureReason::Unknown);
        assert_eq!(refusal.token_id(), None);
    });
}

#[test]
fn malformed_tokens_are_refused_without_a_store_call() {
    let f = fixture();
    block_on(async {
        let (token, _) = f
            .tokens
            .issue("partner-a", scopes("a"), TokenTtl::Default)
            .await
            .unwrap();
        let before = f.store.calls();
        let secret = token.expose_secret();
        let mut typo = secret.to_owned();
        let swap = if &typo[20..21] == "x" { "y" } else { "x" };
        typo.replace_range(20..21, swap);
        let cases = [
            String::new(),
            "Bearer".to_owned(),
            "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln".to_owned(),
            secret.replacen("mcpat", "ghpat", 1),
            secret[..secret.len() - 1].to_owned(),
            format!("{secret}A"),
            secret.replacen('_', "=", 1),
            format!("mcpat_{}", "!".repeat(49)),
            typo,
        ];
        for case in &cases {
            let refusal = f.tokens.authenticate(case).await.unwrap_err();
            assert!(
                matches!(refusal, TokenRefusal::Malformed(_)),
                "{case:?}: {refusal:?}"
            );
            assert_eq!(refusal.reason(), FailureReason::Malformed);
            let detail = refusal.detail();
            assert!(detail.starts_with("malformed API token"), "{detail}");
        }
        assert_eq!(
            f.store.calls(),
            before,
            "a malformed token reached the store"
        );
        // The right token still works, with one lookup.
        f.tokens.authenticate(secret).await.unwrap();
        assert_eq!(f.store.calls(), before + 1);
    });
}

#[test]
fn expiry_is_exact_to_the_second() {
    let f = fixture();
    block_on(async {
        let (token, record) = f
            .tokens
            .issue("p", scopes("a"), TokenTtl::For(Duration::from_secs(3600)))
            .await
            .unwrap();
        assert_eq!(record.expires_at, Some(START + 3600));
        f.clock.set(Duration::from_secs(START + 3599));
        f.clock.advance(Duration::from_millis(999));
        assert!(f.tokens.authenticate(token.expose_secret()).await.is_ok());
        f.clock.advance(Duration::from_millis(1));
        let refusal = f
            .tokens
            .authenticate(token.expose_secret())
            .await
            .unwrap_err();
        match &refusal {
            TokenRefusal::Expired {
                id,
                expired_at,
                replaced_by,
            } => {
                assert_eq!(id, &record.id);
                assert_eq!(*expired_at, START + 3600);
                assert_eq!(replaced_by, &None);
            }
            other => panic!("expected Expired, got {other:?}"),
        }
        assert_eq!(refusal.reason(), FailureReason::Expired);
        assert_eq!(refusal.token_id(), Some(&record.id));
    });
}

#[test]
fn ttl_choices() {
    let f = fixture();
    block_on(async {
        let (_, never) = f
            .tokens
            .issue("p", scopes("a"), TokenTtl::Never)
            .await
            .unwrap();
        assert_eq!(never.expires_at, None);
        let err = f
            .tokens
            .issue("p", scopes("a"), TokenTtl::For(Duration::from_millis(500)))
            .await
            .unwrap_err();
        assert!(matches!(err, TokenError::InvalidTtl { .. }), "{err:?}");
        let err = f
            .tokens
            .issue("p", scopes("a"), TokenTtl::For(Duration::MAX))
            .await
            .unwrap_err();
        assert!(matches!(err, TokenError::InvalidTtl { .. }), "{err:?}");
        let short = f
            .tokens
            .clone()
            .with_config(TokenConfig::new().with_default_ttl(Duration::from_secs(60)));
        let (_, record) = short
            .issue("p", scopes("a"), TokenTtl::Default)
            .await
            .unwrap();
        assert_eq!(record.expires_at, Some(START + 60));
    });
}

#[test]
fn principals_are_validated() {
    let f = fixture();
    block_on(async {
        for bad in ["", "a\nb", &"x".repeat(257)] {
            let err = f
                .tokens
                .issue(bad, scopes("a"), TokenTtl::Default)
                .await
                .unwrap_err();
            assert!(
                matches!(err, TokenError::InvalidPrincipal { .. }),
                "{err:?}"
            );
        }
        assert_eq!(f.store.calls(), 0);
        assert!(
            f.tokens
                .issue("Partner A (billing)", scopes(""), TokenTtl::Default)
                .await
                .is_ok()
        );
    });
}

#[test]
fn revocation_takes_effect_on_the_next_call() {
    let f = fixture();
    block_on(async {
        let (token, record) = f
            .tokens
            .issue("p", scopes("a"), TokenTtl::Default)
            .await
            .unwrap();
        assert!(f.tokens.authenticate(token.expose_secret()).await.is_ok());
        f.clock.advance(Duration::from_secs(10));
        let revoked = f.tokens.revoke(&record.id).await.unwrap();
        assert_eq!(revoked.revoked_at, Some(START + 10));
        let refusal = f
            .tokens
            .authenticate(token.expose_secret())
            .await
            .unwrap_err();
        assert!(
            matches!(&refusal, TokenRefusal::Revoked { id, revoked_at } if id == &record.id && *revoked_at == START + 10),
            "{refusal:?}"
        );
        assert_eq!(refusal.reason(), FailureReason::Revoked);

        // Idempotent, first time kept.
        f.clock.advance(Duration::from_secs(10));
        assert_eq!(
            f.tokens.revoke(&record.id).await.unwrap().revoked_at,
            Some(START + 10)
        );
        let unknown = TokenId::parse("tok_ffff").unwrap();
        assert!(matches!(
            f.tokens.revoke(&unknown).await,
            Err(TokenError::NotFound { .. })
        ));
        let kinds: Vec<_> = f.sink.take().into_iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                AuthEventKind::TokenIssued,
                AuthEventKind::TokenRevoked,
                AuthEventKind::TokenRevoked
            ]
        );
    });
}

#[test]
fn rotation_keeps_both_tokens_during_the_overlap() {
    let f = fixture();
    block_on(async {
        let (old_token, old) = f
            .tokens
            .issue(
                "partner-a",
                scopes("orders:read"),
                TokenTtl::For(Duration::from_secs(30 * DAY)),
            )
            .await
            .unwrap();
        f.clock.advance(Duration::from_secs(DAY));
        let rotation = f.tokens.rotate(&old.id).await.unwrap();
        let rotated_at = START + DAY;
        let overlap_end = rotated_at + 7 * DAY;

        assert_eq!(rotation.old.id, old.id);
        assert_eq!(rotation.old.expires_at, Some(overlap_end));
        assert_eq!(rotation.old.replaced_by.as_ref(), Some(&rotation.new.id));
        assert_eq!(rotation.new.rotated_from.as_ref(), Some(&old.id));
        assert_eq!(rotation.new.principal, old.principal);
        assert_eq!(rotation.new.scopes, old.scopes);
        // Same lifetime as the old token.
        assert_eq!(rotation.new.expires_at, Some(rotated_at + 30 * DAY));
        assert_eq!(rotation.token.id(), &rotation.new.id);
        assert_ne!(rotation.token.expose_secret(), old_token.expose_secret());

        f.clock.set(Duration::from_secs(overlap_end - 1));
        assert_eq!(
            f.tokens
                .authenticate(old_token.expose_secret())
                .await
                .unwrap()
                .id,
            old.id
        );
        assert_eq!(
            f.tokens
                .authenticate(rotation.token.expose_secret())
                .await
                .unwrap()
                .id,
            rotation.new.id
        );

        f.clock.set(Duration::from_secs(overlap_end));
        let refusal = f
            .tokens
            .authenticate(old_token.expose_secret())
            .await
            .unwrap_err();
        assert!(
            matches!(&refusal, TokenRefusal::Expired { replaced_by: Some(next), .. } if next == &rotation.new.id),
            "{refusal:?}"
        );
        assert!(
            refusal.detail().contains("replaced by"),
            "{}",
            refusal.detail()
        );
        assert!(
            f.tokens
                .authenticate(rotation.token.expose_secret())
                .await
                .is_ok()
        );

        let events = f.sink.take();
        let rotated = events
            .iter()
            .find(|e| e.kind == AuthEventKind::TokenRotated)
            .unwrap();
        assert_eq!(rotated.principal.as_deref(), Some(old.label().as_str()));
        assert!(!format!("{events:?}").contains(rotation.token.expose_secret()));
    });
}

#[test]
fn rotation_never_extends_an_earlier_expiry_and_refuses_dead_tokens() {
    let f = fixture();
    block_on(async {
        let (_, short) = f
            .tokens
            .issue("p", scopes("a"), TokenTtl::For(Duration::from_secs(DAY)))
            .await
            .unwrap();
        let rotation = f.tokens.rotate(&short.id).await.unwrap();
        assert_eq!(rotation.old.expires_at, Some(START + DAY));

        // Already rotated.
        assert!(matches!(
            f.tokens.rotate(&short.id).await,
            Err(TokenError::AlreadyRotated { replaced_by, .. }) if replaced_by == rotation.new.id
        ));
        // Revoked.
        f.tokens.revoke(&rotation.new.id).await.unwrap();
        assert!(matches!(
            f.tokens.rotate(&rotation.new.id).await,
            Err(TokenError::Revoked { .. })
        ));
        // Expired.
        let (_, other) = f
            .tokens
            .issue("p", scopes("a"), TokenTtl::For(Duration::from_secs(60)))
            .await
            .unwrap();
        f.clock.advance(Duration::from_secs(60));
        assert!(matches!(
            f.tokens.rotate(&other.id).await,
            Err(TokenError::Expired { .. })
        ));
        // Never-expiring tokens rotate to never-expiring tokens; the old one gets the overlap.
        let (_, forever) = f
            .tokens
            .issue("p", scopes("a"), TokenTtl::Never)
            .await
            .unwrap();
        let rotation = f.tokens.rotate(&forever.id).await.unwrap();
        assert_eq!(rotation.new.expires_at, None);
        assert_eq!(rotation.old.expires_at, Some(START + 60 + 7 * DAY));
        assert!(matches!(
            f.tokens.rotate(&TokenId::parse("tok_0").unwrap()).await,
            Err(TokenError::NotFound { .. })
        ));
    });
}

#[test]
fn a_configured_overlap_and_prefix_are_used() {
    let f = fixture();
    let tokens = f.tokens.clone().with_config(
        TokenConfig::new()
            .with_prefix("acme")
            .unwrap()
            .with_rotation_overlap(Duration::ZERO),
    );
    block_on(async {
        let (old_token, old) = tokens
            .issue("p", scopes("a"), TokenTtl::Default)
            .await
            .unwrap();
        assert!(old_token.expose_secret().starts_with("acme_"));
        assert_eq!(old_token.expose_secret().len(), 4 + 1 + 43 + 6);
        let rotation = tokens.rotate(&old.id).await.unwrap();
        assert!(matches!(
            tokens.authenticate(old_token.expose_secret()).await,
            Err(TokenRefusal::Expired { .. })
        ));
        assert!(
            tokens
                .authenticate(rotation.token.expose_secret())
                .await
                .is_ok()
        );
        // Tokens of another prefix are malformed here.
        assert!(matches!(
            f.tokens.authenticate(rotation.token.expose_secret()).await,
            Err(TokenRefusal::Malformed(MalformedToken::WrongPrefix))
        ));
    });
}

#[test]
fn list_and_purge() {
    let f = fixture();
    block_on(async {
        let (_, a) = f
            .tokens
            .issue("a", scopes("x"), TokenTtl::For(Duration::from_secs(DAY)))
            .await
            .unwrap();
        f.clock.advance(Duration::from_secs(1));
        let (_, b) = f
            .tokens
            .issue("b", scopes("x"), TokenTtl::Default)
            .await
            .unwrap();
        let ids: Vec<_> = f
            .tokens
            .list()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, [a.id.clone(), b.id.clone()]);
        f.clock.advance(Duration::from_secs(3 * DAY));
        assert_eq!(f.tokens.purge(Duration::from_secs(DAY)).await.unwrap(), 1);
        let ids: Vec<_> = f
            .tokens
            .list()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, [b.id]);
    });
}

#[test]
fn an_unavailable_store_fails_closed() {
    let tokens =
        ApiTokens::new(Arc::new(DownStore)).with_clock(Arc::new(ManualClock::from_unix(START)));
    block_on(async {
        let raw = TokenPrefix::default().generate().unwrap();
        let refusal = tokens.authenticate(&raw).await.unwrap_err();
        assert_eq!(refusal.reason(), FailureReason::StoreUnavailable);
        assert!(refusal.detail().contains("down"), "{}", refusal.detail());
        assert!(matches!(
            tokens.revoke(&TokenId::parse("tok_1").unwrap()).await,
            Err(TokenError::Store(TokenStoreError::Unavailable { .. }))
        ));
    });
}

#[test]
fn a_store_returning_another_record_is_not_trusted() {
    // A (buggy) store that answers every lookup with the same record.
    struct LyingStore(TokenRecord);
    impl TokenStore for LyingStore {
        fn get(&self, _: TokenHash) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
            Box::pin(std::future::ready(Ok(Some(self.0.clone()))))
        }
        fn find_by_id(
            &self,
            _: &TokenId,
        ) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
            self.get(self.0.hash)
        }
        fn insert(&self, _: TokenRecord) -> BoxFuture<'_, Result<(), TokenStoreError>> {
            Box::pin(std::future::ready(Ok(())))
        }
        fn revoke(
            &self,
            _: &TokenId,
            _: u64,
        ) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
            self.get(self.0.hash)
        }
        fn rotate(
            &self,
            _: &TokenId,
            _: TokenRecord,
            _: u64,
        ) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
            self.get(self.0.hash)
        }
        fn list(&self) -> BoxFuture<'_, Result<Vec<TokenRecord>, TokenStoreError>> {
            Box::pin(std::future::ready(Ok(vec![self.0.clone()])))
        }
        fn purge(&self, _: u64) -> BoxFuture<'_, Result<usize, TokenStoreError>> {
            Box::pin(std::future::ready(Ok(0)))
        }
    }
    let record = TokenRecord::new(
        TokenHash::from_bytes([7; 32]),
        TokenId::parse("tok_7").unwrap(),
        Arc::from("p"),
        Scopes::empty(),
        START,
        None,
    );
    let tokens = ApiTokens::new(Arc::new(LyingStore(record)));
    block_on(async {
        let raw = TokenPrefix::default().generate().unwrap();
        assert!(matches!(
            tokens.authenticate(&raw).await,
            Err(TokenRefusal::Unknown)
        ));
    });
}

#[test]
fn debug_output_never_shows_a_secret() {
    let f = fixture();
    block_on(async {
        let (token, record) = f
            .tokens
            .issue("p", scopes("a"), TokenTtl::Default)
            .await
            .unwrap();
        let secret = token.expose_secret().to_owned();
        let body = &secret["mcpat_".len()..];
        let rotation = f.tokens.rotate(&record.id).await.unwrap();
        let shown = format!(
            "{token:?} {token:#?} {record:?} {record:#?} {rotation:?} {:?} {:?}",
            f.tokens,
            f.tokens.list().await.unwrap()
        );
        for secret in [body, &rotation.token.expose_secret()["mcpat_".len()..]] {
            assert!(!shown.contains(secret), "secret in {shown}");
        }
        assert!(!shown.contains(&record.hash.to_hex()));
        assert!(shown.contains("[redacted]"));
        assert!(shown.contains(record.id.as_str()));
    });
}

#[test]
fn the_authenticate_future_does_not_borrow_the_token() {
    let f = fixture();
    block_on(async {
        let (token, _) = f
            .tokens
            .issue("p", scopes("a"), TokenTtl::Default)
            .await
            .unwrap();
        let future = {
            let copy = token.expose_secret().to_owned();
            f.tokens.authenticate(&copy)
        };
        fn assert_send<T: Send>(_: &T) {}
        assert_send(&future);
        assert!(future.await.is_ok());
    });
}

proptest! {
    #[test]
    fn authenticate_never_panics(raw in any::<String>(), suffix in "[A-Za-z0-9_-]{0,60}") {
        let f = fixture();
        block_on(async {
            let _ = f.tokens.authenticate(&raw).await;
            let _ = f.tokens.authenticate(&format!("mcpat_{suffix}")).await;
            let _ = f.tokens.authenticate(&format!("mcpat_{raw}")).await;
        });
        // Nothing reached the store: a random 49-character tail has a valid checksum with a
        // probability of 2^-36.
        prop_assert_eq!(f.store.calls(), 0);
    }
}
