//! The file token store: persistence across instances, changes made by another instance (as
//! an operator's CLI in another process would), corrupt files, concurrent writers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mcp_auth::clock::ManualClock;
use mcp_auth::scope::Scopes;
use mcp_auth::token::{
    ApiTokens, FileTokenStore, TokenError, TokenRefusal, TokenStore, TokenStoreError, TokenTtl,
};

const START: u64 = 1_700_000_000;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "mcp-auth-token-store-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn file(&self) -> PathBuf {
        self.0.join("tokens.json")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tokens(path: &Path, clock: &ManualClock) -> ApiTokens {
    let store = FileTokenStore::open(path).unwrap();
    ApiTokens::new(Arc::new(store)).with_clock(Arc::new(clock.clone()))
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

fn scopes(list: &str) -> Scopes {
    Scopes::parse(list).unwrap()
}

#[test]
fn tokens_survive_a_restart_and_the_file_holds_no_secret() {
    let dir = TempDir::new("restart");
    let clock = ManualClock::from_unix(START);
    let (secret, id) = block_on(async {
        let first = tokens(&dir.file(), &clock);
        let (token, record) = first
            .issue("partner-a", scopes("orders:read"), TokenTtl::Default)
            .await
            .unwrap();
        (token.expose_secret().to_owned(), record.id)
    });
    // The first instance is gone; a new one reads the file.
    let second = tokens(&dir.file(), &clock);
    block_on(async {
        let grant = second.authenticate(&secret).await.unwrap();
        assert_eq!(grant.id, id);
        assert_eq!(&*grant.principal, "partner-a");
        assert!(grant.scopes.contains("orders:read"));
    });
    let text = std::fs::read_to_string(dir.file()).unwrap();
    assert!(text.contains(id.as_str()));
    assert!(text.contains("\"format\": \"mcp-auth-tokens\""));
    assert!(!text.contains(&secret["mcpat_".len()..]), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.file()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn a_missing_file_is_created_empty() {
    let dir = TempDir::new("create");
    let store = FileTokenStore::open(dir.file()).unwrap();
    assert!(dir.file().exists());
    assert_eq!(store.path(), dir.file());
    assert!(block_on(store.list()).unwrap().is_empty());
    // A second open reads the file created by the first.
    assert!(FileTokenStore::open(dir.file()).is_ok());
}

#[test]
fn changes_by_another_instance_are_seen_at_once() {
    let dir = TempDir::new("other-instance");
    let clock = ManualClock::from_unix(START);
    let server = tokens(&dir.file(), &clock);
    let cli = tokens(&dir.file(), &clock);
    block_on(async {
        // Issued by the CLI: the server knows it on the next call.
        let (token, record) = cli
            .issue("partner-a", scopes("a"), TokenTtl::Default)
            .await
            .unwrap();
        assert!(server.authenticate(token.expose_secret()).await.is_ok());

        // Revoked by the CLI, with no time passing (same second, same file length class): the
        // server refuses the very next call.
        cli.revoke(&record.id).await.unwrap();
        let refusal = server
            .authenticate(token.expose_secret())
            .await
            .unwrap_err();
        assert!(
            matches!(refusal, TokenRefusal::Revoked { .. }),
            "{refusal:?}"
        );

        // Rotated by the CLI: the server accepts both during the overlap.
        let (old_token, old) = cli
            .issue("partner-b", scopes("b"), TokenTtl::Default)
            .await
            .unwrap();
        assert!(server.authenticate(old_token.expose_secret()).await.is_ok());
        let rotation = cli.rotate(&old.id).await.unwrap();
        assert!(server.authenticate(old_token.expose_secret()).await.is_ok());
        assert!(
            server
                .authenticate(rotation.token.expose_secret())
                .await
                .is_ok()
        );
        clock.advance(Duration::from_secs(7 * 24 * 60 * 60));
        assert!(matches!(
            server.authenticate(old_token.expose_secret()).await,
            Err(TokenRefusal::Expired { .. })
        ));

        // And the other way round: the server's writes reach the CLI's instance.
        let (token, _) = server
            .issue("partner-c", scopes("c"), TokenTtl::Default)
            .await
            .unwrap();
        assert!(cli.authenticate(token.expose_secret()).await.is_ok());
        assert_eq!(cli.list().await.unwrap().len(), 4);
        assert_eq!(server.list().await.unwrap().len(), 4);
    });
}

#[test]
fn a_corrupt_file_is_an_error_never_an_empty_store() {
    let dir = TempDir::new("corrupt");
    let clock = ManualClock::from_unix(START);
    let server = tokens(&dir.file(), &clock);
    block_on(async {
        let (token, record) = server
            .issue("partner-a", scopes("a"), TokenTtl::Default)
            .await
            .unwrap();
        let good = std::fs::read_to_string(dir.file()).unwrap();

        // Truncated by a careless editor.
        std::fs::write(dir.file(), &good[..good.len() / 2]).unwrap();
        let refusal = server
            .authenticate(token.expose_secret())
            .await
            .unwrap_err();
        match &refusal {
            TokenRefusal::StoreUnavailable(TokenStoreError::Corrupt { location, .. }) => {
                assert!(location.contains("tokens.json:"), "{location}");
            }
            other => panic!("expected a corrupt-store refusal, got {other:?}"),
        }
        // Again (the parse failure is cached, the answer is the same).
        assert!(matches!(
            server.authenticate(token.expose_secret()).await,
            Err(TokenRefusal::StoreUnavailable(_))
        ));
        assert!(matches!(
            server.list().await,
            Err(TokenError::Store(TokenStoreError::Corrupt { .. }))
        ));
        // Writes refuse to replace a file they cannot read.
        assert!(server.revoke(&record.id).await.is_err());
        assert!(
            server
                .issue("partner-b", scopes("b"), TokenTtl::Default)
                .await
                .is_err()
        );
        assert_eq!(
            std::fs::read_to_string(dir.file()).unwrap(),
            good[..good.len() / 2]
        );
        // Opening it is an error too.
        assert!(matches!(
            FileTokenStore::open(dir.file()),
            Err(TokenStoreError::Corrupt { .. })
        ));

        // Valid JSON, invalid content: a record with a bad scope, another format, an empty file.
        for bad in [
            good.replace("\"a\"", "\"a b\""),
            good.replace("mcp-auth-tokens", "something-else"),
            good.replace("\"version\": 1", "\"version\": 2"),
            String::new(),
        ] {
            std::fs::write(dir.file(), &bad).unwrap();
            assert!(
                matches!(
                    server.authenticate(token.expose_secret()).await,
                    Err(TokenRefusal::StoreUnavailable(
                        TokenStoreError::Corrupt { .. }
                    ))
                ),
                "{bad}"
            );
        }

        // Repaired: it works again.
        std::fs::write(dir.file(), &good).unwrap();
        assert!(server.authenticate(token.expose_secret()).await.is_ok());

        // Deleted: unavailable, not "unknown token".
        std::fs::remove_file(dir.file()).unwrap();
        assert!(matches!(
            server.authenticate(token.expose_secret()).await,
            Err(TokenRefusal::StoreUnavailable(
                TokenStoreError::Unavailable { .. }
            ))
        ));
    });
}

#[test]
fn duplicate_records_in_the_file_are_corrupt() {
    let dir = TempDir::new("duplicates");
    let clock = ManualClock::from_unix(START);
    let server = tokens(&dir.file(), &clock);
    block_on(async {
        let (token, _) = server
            .issue("partner-a", scopes("a"), TokenTtl::Default)
            .await
            .unwrap();
        let text = std::fs::read_to_string(dir.file()).unwrap();
        let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let tokens = value["tokens"].as_array_mut().unwrap();
        let copy = tokens[0].clone();
        tokens.push(copy);
        std::fs::write(dir.file(), serde_json::to_vec(&value).unwrap()).unwrap();
        let refusal = server
            .authenticate(token.expose_secret())
            .await
            .unwrap_err();
        assert!(refusal.detail().contains("duplicate"), "{refusal}");
    });
}

#[test]
fn concurrent_writers_lose_nothing() {
    let dir = TempDir::new("concurrent");
    let clock = ManualClock::from_unix(START);
    FileTokenStore::open(dir.file()).unwrap();
    let writers: Vec<_> = (0..4)
        .map(|n| {
            let path = dir.file();
            let clock = clock.clone();
            std::thread::spawn(move || {
                // Each thread has its own store instance, as separate processes would.
                let tokens = tokens(&path, &clock);
                block_on(async {
                    for _ in 0..10 {
                        tokens
                            .issue(&format!("writer-{n}"), scopes("a"), TokenTtl::Default)
                            .await
                            .unwrap();
                    }
                });
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let reader = FileTokenStore::open(dir.file()).unwrap();
    let records = block_on(reader.list()).unwrap();
    assert_eq!(records.len(), 40);
    for n in 0..4 {
        let principal = format!("writer-{n}");
        assert_eq!(
            records
                .iter()
                .filter(|r| *r.principal == *principal)
                .count(),
            10
        );
    }
    // No temporary file is left behind; only the file and its lock file remain.
    let mut names: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["tokens.json", "tokens.json.lock"]);
}
