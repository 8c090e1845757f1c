//! [`FileTokenStore`]: token records in a JSON file that survives restarts and that another
//! process (an operator's CLI) may change while the server runs.

use std::fs::{self, File, OpenOptions};
use std::future::ready;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use arc_swap::ArcSwap;
use serde::{Deserialize, Serialize};

use super::record::{TokenId, TokenRecord};
use super::secret::TokenHash;
use super::store::{TokenStore, TokenStoreError};
use super::table::TokenTable;
use crate::BoxFuture;

/// The largest token file read, in bytes (about 150 000 records). A larger file is reported as
/// corrupt rather than read.
pub const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024 * 1024;

const FORMAT: &str = "mcp-auth-tokens";
const VERSION: u32 = 1;

/// Token records in a JSON file:
///
/// ```json
/// {"format": "mcp-auth-tokens", "version": 1, "tokens": [
///   {"id": "tok_…", "hash": "sha256:…", "principal": "partner-a", "scopes": ["orders:read"],
///    "created_at": 1700000000, "expires_at": 1707776000, "revoked_at": null}
/// ]}
/// ```
///
/// - **Read at open**, created (empty) when missing. A file that cannot be parsed is an error at
///   open and, later, on every call: the store never answers "no tokens" for a file it cannot
///   read, and never writes over one.
/// - **Changes by other processes are seen at once.** Each call compares the file's identity
///   (device and inode on Unix), length and modification time with those of the copy in memory
///   (one `metadata` system call) and re-reads the file when they differ. Writers here always
///   replace the file by renaming a new one over it, and the new file exists alongside the old
///   one until then, so its inode differs from the one just replaced: a change is detected even
///   within the file system's timestamp granularity. (A hand edit in place that keeps the
///   length within one timestamp tick could go unnoticed until the next change.)
/// - **Writes are atomic and serialized**: under an advisory lock on a `<file>.lock` file next
///   to it (shared by every process using this store), the file is re-read, changed, written to
///   a temporary file (mode 0600 on Unix), flushed to disk and renamed over the old one, and the
///   directory is synced. Concurrent writers in other processes therefore lose nothing.
/// - **Blocking I/O**: calls do their file work on the calling thread. A lookup costs one
///   `metadata` call when the file has not changed (a few microseconds at most); a re-read or a
///   write costs what reading or writing the file costs. Writes (issue, rotate, revoke) are
///   operator actions and rare.
pub struct FileTokenStore {
    path: PathBuf,
    lock_path: PathBuf,
    snapshot: ArcSwap<Snapshot>,
    /// Serializes re-reads in this process (so that a change is read once, not once per call).
    reload: Mutex<()>,
    /// Serializes writes in this process (the lock file serializes them across processes).
    writer: Mutex<()>,
}

/// What identifies one version of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    dev: u64,
    #[cfg(unix)]
    ino: u64,
}

impl Fingerprint {
    fn of(metadata: &fs::Metadata) -> Fingerprint {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        Fingerprint {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            #[cfg(unix)]
            dev: metadata.dev(),
            #[cfg(unix)]
            ino: metadata.ino(),
        }
    }

    fn of_path(path: &Path) -> Result<Fingerprint, TokenStoreError> {
        match fs::metadata(path) {
            Ok(metadata) => Ok(Fingerprint::of(&metadata)),
            Err(e) => Err(missing_or_io(e, "reading the metadata of", path)),
        }
    }
}

/// The file as last read: its fingerprint and its table, or why it could not be parsed (kept
/// so that a corrupt file is not re-parsed on every call).
struct Snapshot {
    fingerprint: Fingerprint,
    tokens: Result<TokenTable, Corrupt>,
}

#[derive(Debug, Clone)]
struct Corrupt {
    location: String,
    message: String,
}

impl From<Corrupt> for TokenStoreError {
    fn from(c: Corrupt) -> TokenStoreError {
        TokenStoreError::Corrupt {
            location: c.location,
            message: c.message,
        }
    }
}

#[derive(Deserialize)]
struct FileIn {
    format: String,
    version: u32,
    tokens: Vec<TokenRecord>,
}

#[derive(Serialize)]
struct FileOut<'a> {
    format: &'static str,
    version: u32,
    tokens: &'a [TokenRecord],
}

impl FileTokenStore {
    /// Opens the token file at `path`, creating an empty one (mode 0600 on Unix) when there is
    /// none. An unreadable or corrupt file is an error.
    pub fn open(path: impl Into<PathBuf>) -> Result<FileTokenStore, TokenStoreError> {
        let path = path.into();
        let lock_path = sibling(&path, "", ".lock");
        match fs::metadata(&path) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let _lock = lock_file(&lock_path)?;
                if !path.exists() {
                    write_file(&path, &TokenTable::default())?;
                }
            }
            Err(e) => return Err(io_error(e, "reading the metadata of", &path)),
        }
        let snapshot = read_file(&path)?;
        if let Err(corrupt) = &snapshot.tokens {
            return Err(corrupt.clone().into());
        }
        Ok(FileTokenStore {
            path,
            lock_path,
            snapshot: ArcSwap::from_pointee(snapshot),
            reload: Mutex::new(()),
            writer: Mutex::new(()),
        })
    }

    /// The token file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The table as the file holds it now: re-read when its fingerprint changed.
    fn current(&self) -> Result<Arc<Snapshot>, TokenStoreError> {
        let fingerprint = Fingerprint::of_path(&self.path)?;
        let snapshot = self.snapshot.load_full();
        if snapshot.fingerprint == fingerprint {
            return Ok(snapshot);
        }
        let _reload = lock(&self.reload);
        let snapshot = self.snapshot.load_full();
        if snapshot.fingerprint == fingerprint {
            return Ok(snapshot);
        }
        let fresh = Arc::new(read_file(&self.path)?);
        if let Err(corrupt) = &fresh.tokens {
            tracing::error!(
                target: "mcp_auth::token",
                location = %corrupt.location,
                message = %corrupt.message,
                "the token file is corrupt: every API token is refused until it is fixed"
            );
        }
        self.snapshot.store(Arc::clone(&fresh));
        Ok(fresh)
    }

    fn read<T>(&self, f: impl FnOnce(&TokenTable) -> T) -> Result<T, TokenStoreError> {
        let snapshot = self.current()?;
        match &snapshot.tokens {
            Ok(table) => Ok(f(table)),
            Err(corrupt) => Err(corrupt.clone().into()),
        }
    }

    /// Runs `change` on the file's current content and writes the result, under the
    /// cross-process lock. Nothing is written when `change` fails.
    fn write<T>(
        &self,
        change: impl FnOnce(&mut TokenTable) -> Result<T, TokenStoreError>,
    ) -> Result<T, TokenStoreError> {
        let _writer = lock(&self.writer);
        let _lock = lock_file(&self.lock_path)?;
        let snapshot = read_file(&self.path)?;
        let mut table = snapshot.tokens.map_err(TokenStoreError::from)?;
        let result = change(&mut table)?;
        let fingerprint = write_file(&self.path, &table)?;
        self.snapshot.store(Arc::new(Snapshot {
            fingerprint,
            tokens: Ok(table),
        }));
        Ok(result)
    }
}

impl std::fmt::Debug for FileTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileTokenStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl TokenStore for FileTokenStore {
    fn get(&self, hash: TokenHash) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
        Box::pin(ready(self.read(|t| t.get(&hash).cloned())))
    }

    fn find_by_id(
        &self,
        id: &TokenId,
    ) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
        Box::pin(ready(self.read(|t| t.find_by_id(id).cloned())))
    }

    fn insert(&self, record: TokenRecord) -> BoxFuture<'_, Result<(), TokenStoreError>> {
        Box::pin(ready(self.write(|t| t.insert(record))))
    }

    fn revoke(
        &self,
        id: &TokenId,
        at: u64,
    ) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
        Box::pin(ready(self.write(|t| Ok(t.revoke(id, at)))))
    }

    fn rotate(
        &self,
        old: &TokenId,
        replacement: TokenRecord,
        old_expires_at: u64,
    ) -> BoxFuture<'_, Result<Option<TokenRecord>, TokenStoreError>> {
        Box::pin(ready(
            self.write(|t| t.rotate(old, replacement, old_expires_at)),
        ))
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<TokenRecord>, TokenStoreError>> {
        Box::pin(ready(self.read(TokenTable::sorted)))
    }

    fn purge(&self, before: u64) -> BoxFuture<'_, Result<usize, TokenStoreError>> {
        Box::pin(ready(self.write(|t| Ok(t.purge(before)))))
    }
}

fn lock(mutex: &Mutex<()>) -> MutexGuard<'_, ()> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Opens (creating) and locks the lock file; the lock is released when the file is closed.
fn lock_file(path: &Path) -> Result<File, TokenStoreError> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options
        .open(path)
        .map_err(|e| io_error(e, "opening the lock file", path))?;
    file.lock()
        .map_err(|e| io_error(e, "locking the lock file", path))?;
    Ok(file)
}

/// Reads and parses the file; I/O errors are returned, parse errors kept in the snapshot.
fn read_file(path: &Path) -> Result<Snapshot, TokenStoreError> {
    let file = File::open(path).map_err(|e| missing_or_io(e, "opening", path))?;
    let metadata = file
        .metadata()
        .map_err(|e| io_error(e, "reading the metadata of", path))?;
    let fingerprint = Fingerprint::of(&metadata);
    if metadata.len() > MAX_TOKEN_FILE_BYTES {
        return Ok(Snapshot {
            fingerprint,
            tokens: Err(too_large(path)),
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(MAX_TOKEN_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(e, "reading", path))?;
    let tokens = if bytes.len() as u64 > MAX_TOKEN_FILE_BYTES {
        Err(too_large(path))
    } else {
        parse(path, &bytes)
    };
    Ok(Snapshot {
        fingerprint,
        tokens,
    })
}

fn too_large(path: &Path) -> Corrupt {
    Corrupt {
        location: path.display().to_string(),
        message: format!("the file is larger than {MAX_TOKEN_FILE_BYTES} bytes"),
    }
}

fn parse(path: &Path, bytes: &[u8]) -> Result<TokenTable, Corrupt> {
    let file: FileIn = serde_json::from_slice(bytes).map_err(|e| Corrupt {
        location: format!("{}:{}:{}", path.display(), e.line(), e.column()),
        message: e.to_string(),
    })?;
    let whole_file = || path.display().to_string();
    if file.format != FORMAT || file.version != VERSION {
        return Err(Corrupt {
            location: whole_file(),
            message: format!(
                "format {:?} version {} is not {FORMAT:?} version {VERSION}",
                file.format, file.version
            ),
        });
    }
    TokenTable::from_records(file.tokens).map_err(|message| Corrupt {
        location: whole_file(),
        message,
    })
}

/// Writes `table` to a new file next to `path` and renames it over `path`; returns the new
/// file's fingerprint.
fn write_file(path: &Path, table: &TokenTable) -> Result<Fingerprint, TokenStoreError> {
    let records = table.sorted();
    let mut bytes = serde_json::to_vec_pretty(&FileOut {
        format: FORMAT,
        version: VERSION,
        tokens: &records,
    })
    .map_err(|e| TokenStoreError::Unavailable {
        reason: format!("cannot serialize the token records: {e}"),
    })?;
    bytes.push(b'\n');

    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let unique = format!(
        ".tmp.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let temp = sibling(path, ".", &unique);
    if let Err(e) = write_new(&temp, &bytes).and_then(|()| {
        fs::rename(&temp, path).map_err(|e| io_error(e, "renaming a new version over", path))
    }) {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    sync_dir(path);
    Fingerprint::of_path(path)
}

fn write_new(temp: &Path, bytes: &[u8]) -> Result<(), TokenStoreError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(temp)
        .map_err(|e| io_error(e, "creating", temp))?;
    file.write_all(bytes)
        .map_err(|e| io_error(e, "writing", temp))?;
    file.sync_all().map_err(|e| io_error(e, "syncing", temp))
}

/// Makes the rename durable. The rename has happened whatever this says, so a failure is only
/// logged.
fn sync_dir(path: &Path) {
    #[cfg(unix)]
    {
        let dir = parent(path);
        if let Err(e) = File::open(dir).and_then(|d| d.sync_all()) {
            tracing::warn!(
                target: "mcp_auth::token",
                dir = %dir.display(),
                error = %e,
                "could not sync the token file's directory"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// `<dir>/<before><file name><after>`.
fn sibling(path: &Path, before: &str, after: &str) -> PathBuf {
    let mut name = std::ffi::OsString::from(before);
    name.push(path.file_name().unwrap_or(path.as_os_str()));
    name.push(after);
    parent(path).join(name)
}

fn io_error(source: io::Error, operation: &'static str, path: &Path) -> TokenStoreError {
    TokenStoreError::Io {
        operation,
        path: path.to_owned(),
        source,
    }
}

fn missing_or_io(e: io::Error, operation: &'static str, path: &Path) -> TokenStoreError {
    if e.kind() == io::ErrorKind::NotFound {
        TokenStoreError::Unavailable {
            reason: format!("the token file {} is missing", path.display()),
        }
    } else {
        io_error(e, operation, path)
    }
}
