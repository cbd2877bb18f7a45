//! Where a session lives on disk and how its file is written, read and expired.
//!
//! `<root>/<first two characters of the ID>/<ID>`: at most 4096 shard directories, no path
//! deeper than two levels. The file holds a format line and the session text; its modification
//! time is its expiry time (set in the future), so extending a session is one metadata update
//! and never rewrites (or races with) its content.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use session_core::SessionId;

use crate::FsStoreError;

/// The first line of every session file.
const FORMAT_LINE: &[u8] = b"session-fs 1\n";
/// Expiry times further away than this are clamped (file systems cap timestamps).
const MAX_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
pub(crate) const TEMP_SUFFIX: &str = ".tmp";
/// The file whose lock serializes the writes of one shard, across processes.
pub(crate) const LOCK_FILE: &str = ".lock";

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

pub(crate) fn shard_dir(root: &Path, id: &SessionId) -> PathBuf {
    root.join(&id.as_str()[..2])
}

pub(crate) fn session_file(root: &Path, id: &SessionId) -> PathBuf {
    shard_dir(root, id).join(id.as_str())
}

pub(crate) fn expiry_after(ttl: Duration) -> SystemTime {
    SystemTime::now() + ttl.min(MAX_TTL)
}

/// Creates a directory readable only by its owner; an existing one is fine.
pub(crate) fn create_private_dir(path: &Path, recursive: bool) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(recursive);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(path) {
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
        other => other,
    }
}

fn create_private_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

/// Runs `f` holding the shard's write lock (an exclusive `flock` of `<shard>/.lock`, so other
/// processes wait too). With `create`, a missing shard directory is created; without, a missing
/// shard means there is nothing to change and `f` is not run.
fn with_shard_lock<T>(
    root: &Path,
    id: &SessionId,
    create: bool,
    durable: bool,
    f: impl FnOnce() -> Result<T, FsStoreError>,
) -> Result<Option<T>, FsStoreError> {
    let dir = shard_dir(root, id);
    let path = dir.join(LOCK_FILE);
    let mut attempts = 0;
    let lock = loop {
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(file) => break file,
            Err(error) if error.kind() == io::ErrorKind::NotFound && create && attempts < 3 => {
                attempts += 1;
                create_private_dir(&dir, false).map_err(FsStoreError::io("create shard"))?;
                if durable {
                    sync_dir(root).map_err(FsStoreError::io("sync root"))?;
                }
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound && !create => return Ok(None),
            Err(error) => return Err(FsStoreError::io("open lock")(error)),
        }
    };
    lock.lock().map_err(FsStoreError::io("lock"))?;
    // Closing the file releases the lock.
    let result = f();
    drop(lock);
    result.map(Some)
}

/// Saves under the shard lock.
pub(crate) fn save(
    root: &Path,
    id: &SessionId,
    text: &str,
    expires_at: SystemTime,
    durable: bool,
) -> Result<(), FsStoreError> {
    with_shard_lock(root, id, true, durable, || {
        write(root, id, text, expires_at, durable)
    })
    .map(drop)
}

/// Deletes under the shard lock.
pub(crate) fn delete(root: &Path, id: &SessionId) -> Result<(), FsStoreError> {
    with_shard_lock(root, id, false, false, || remove(&session_file(root, id))).map(drop)
}

/// Replaces the session's text only if it is still `expected`, under the shard lock.
pub(crate) fn compare_and_swap(
    root: &Path,
    id: &SessionId,
    expected: &str,
    new: &str,
    expires_at: SystemTime,
    durable: bool,
) -> Result<bool, FsStoreError> {
    let swapped = with_shard_lock(root, id, false, durable, || match read(root, id)? {
        Some((current, _)) if current == expected => {
            write(root, id, new, expires_at, durable)?;
            Ok(true)
        }
        _ => Ok(false),
    })?;
    Ok(swapped.unwrap_or(false))
}

/// Writes the session atomically: a temporary file in the same directory, flushed, given its
/// expiry, then renamed over the old file. A crash at any point leaves the old file or the new
/// one, never a torn or empty one. With `durable`, file and directory are fsynced.
fn write(
    root: &Path,
    id: &SessionId,
    text: &str,
    expires_at: SystemTime,
    durable: bool,
) -> Result<(), FsStoreError> {
    let dir = shard_dir(root, id);
    let temp = dir.join(format!(
        ".{}.{}.{}{TEMP_SUFFIX}",
        id.as_str(),
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    // A sweep may prune the shard directory between our mkdir and our create: try again.
    let mut attempts = 0;
    let mut file = loop {
        match create_private_file(&temp) {
            Ok(file) => break file,
            Err(error) if error.kind() == io::ErrorKind::NotFound && attempts < 3 => {
                attempts += 1;
                create_private_dir(&dir, false).map_err(FsStoreError::io("create shard"))?;
                if durable {
                    sync_dir(root).map_err(FsStoreError::io("sync root"))?;
                }
            }
            Err(error) => return Err(FsStoreError::io("create temporary file")(error)),
        }
    };
    let written = (|| {
        file.write_all(FORMAT_LINE)?;
        file.write_all(text.as_bytes())?;
        if durable {
            file.sync_all()?;
        }
        file.set_modified(expires_at)?;
        drop(file);
        fs::rename(&temp, dir.join(id.as_str()))
    })();
    if let Err(error) = written {
        let _ = fs::remove_file(&temp);
        return Err(FsStoreError::io("write")(error));
    }
    if durable {
        sync_dir(&dir).map_err(FsStoreError::io("sync shard"))?;
    }
    Ok(())
}

/// Reads the session text and its expiry, or `None` when there is none. An expired file is
/// removed; a file that is not in this format (which this crate never writes) is logged and
/// removed.
pub(crate) fn read(
    root: &Path,
    id: &SessionId,
) -> Result<Option<(String, SystemTime)>, FsStoreError> {
    let path = session_file(root, id);
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(FsStoreError::io("open")(error)),
    };
    // Metadata and content come from the same open file, even if a writer renames meanwhile.
    let metadata = file.metadata().map_err(FsStoreError::io("stat"))?;
    let expires_at = metadata.modified().map_err(FsStoreError::io("stat"))?;
    if expires_at <= SystemTime::now() {
        remove_if_unchanged(&path, &metadata)?;
        return Ok(None);
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(FsStoreError::io("read"))?;
    match bytes
        .strip_prefix(FORMAT_LINE)
        .and_then(|text| std::str::from_utf8(text).ok())
    {
        Some(text) => Ok(Some((text.to_owned(), expires_at))),
        None => {
            tracing::warn!("removing a session file that is not in session-fs format");
            remove_if_unchanged(&path, &metadata)?;
            Ok(None)
        }
    }
}

/// Moves the expiry without touching the content; `false` when there is no live session.
pub(crate) fn touch(
    root: &Path,
    id: &SessionId,
    expires_at: SystemTime,
) -> Result<bool, FsStoreError> {
    let path = session_file(root, id);
    let file = match OpenOptions::new().write(true).open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(FsStoreError::io("open")(error)),
    };
    let metadata = file.metadata().map_err(FsStoreError::io("stat"))?;
    if metadata.modified().map_err(FsStoreError::io("stat"))? <= SystemTime::now() {
        drop(file);
        remove_if_unchanged(&path, &metadata)?;
        return Ok(false);
    }
    file.set_modified(expires_at)
        .map_err(FsStoreError::io("set expiry"))?;
    Ok(true)
}

/// Removes a file; a missing one is fine.
pub(crate) fn remove(path: &Path) -> Result<(), FsStoreError> {
    match fs::remove_file(path) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => {
            Err(FsStoreError::io("remove")(error))
        }
        _ => Ok(()),
    }
}

/// Removes the file at `path` unless a writer has meanwhile renamed a new file over the one
/// described by `seen` (a fresh session must not be deleted for its predecessor's expiry).
fn remove_if_unchanged(path: &Path, seen: &fs::Metadata) -> Result<(), FsStoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        match fs::metadata(path) {
            Ok(now) if now.dev() == seen.dev() && now.ino() == seen.ino() => remove(path),
            Ok(_) => Ok(()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(FsStoreError::io("stat")(error)),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = seen;
        remove(path)
    }
}
