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

use crate::upkeep::Tally;
use crate::{FsStoreError, secure};

/// The first line of every session file.
const FORMAT_LINE: &[u8] = b"session-fs 1\n";
/// Expiry times further away than this are clamped (file systems cap timestamps).
const MAX_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
pub(crate) const TEMP_SUFFIX: &str = ".tmp";
/// The file whose lock serializes the writes of one shard, across processes.
pub(crate) const LOCK_FILE: &str = ".lock";

/// How often taking a shard's lock is tried while sweeps keep pruning the shard.
const LOCK_ATTEMPTS: usize = 4;

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

fn create_private_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    // `create_new` (`O_EXCL`) never follows a symbolic link.
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

fn sync_dir(path: &Path) -> io::Result<()> {
    secure::open_dir(path)?.sync_all()
}

/// Checks the shard directory, creating it first when `create` is set and it is missing;
/// `false` when it does not exist (without `create`, there is then nothing to change).
fn ensure_shard(
    root: &Path,
    dir: &Path,
    create: bool,
    durable: bool,
) -> Result<bool, FsStoreError> {
    let exists = secure::check_shard(dir)?;
    if exists || !create {
        return Ok(exists);
    }
    secure::create_private_dir(dir, false).map_err(FsStoreError::io("create shard"))?;
    if durable {
        sync_dir(root).map_err(FsStoreError::io("sync root"))?;
    }
    secure::check_shard(dir)
}

/// Takes the shard's write lock: an exclusive `flock` of `<shard>/.lock`, so other processes
/// wait too. `None` when the shard is missing and `create` is not set. A sweep prunes only
/// empty shards, and removes a lock file only while holding its lock: the loop starts over
/// when the shard or the lock file went away meanwhile.
fn lock_shard(
    root: &Path,
    id: &SessionId,
    create: bool,
    durable: bool,
) -> Result<Option<File>, FsStoreError> {
    let dir = shard_dir(root, id);
    let path = dir.join(LOCK_FILE);
    for _ in 0..LOCK_ATTEMPTS {
        if !ensure_shard(root, &dir, create, durable)? {
            if create {
                continue; // A sweep pruned the shard we just created: once more.
            }
            return Ok(None);
        }
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        // `None`: a sweep pruned the shard meanwhile.
        let Some((lock, seen)) = secure::open_entry(&mut options, &path, "lock file")? else {
            continue;
        };
        lock.lock().map_err(FsStoreError::io("lock"))?;
        // A sweep may have removed the lock file while we waited: that lock locks nothing.
        if secure::is_still(&path, &seen).map_err(FsStoreError::io("stat lock"))? {
            return Ok(Some(lock));
        }
    }
    Err(FsStoreError::io("open lock")(
        io::ErrorKind::NotFound.into(),
    ))
}

/// Runs `f` holding the shard's write lock (see [`lock_shard`]). Without `create`, a missing
/// shard means there is nothing to change and `f` is not run.
fn with_shard_lock<T>(
    root: &Path,
    id: &SessionId,
    create: bool,
    durable: bool,
    f: impl FnOnce(&Path) -> Result<T, FsStoreError>,
) -> Result<Option<T>, FsStoreError> {
    let Some(lock) = lock_shard(root, id, create, durable)? else {
        return Ok(None);
    };
    let result = f(&session_file(root, id));
    // Closing the file releases the lock.
    drop(lock);
    result.map(Some)
}

/// Saves under the shard lock. A new file takes a place in `tally` first, so a full store
/// refuses it with [`FsStoreError::Full`]; overwriting an existing file never does.
pub(crate) fn save(
    root: &Path,
    id: &SessionId,
    text: &str,
    expires_at: SystemTime,
    durable: bool,
    tally: &Tally,
) -> Result<(), FsStoreError> {
    with_shard_lock(root, id, true, durable, |path| {
        let is_new = fs::symlink_metadata(path).is_err();
        if is_new {
            tally.add()?;
        }
        let written = write(path, text, expires_at, durable);
        if is_new && written.is_err() && fs::symlink_metadata(path).is_err() {
            tally.removed(1);
        }
        written
    })
    .map(drop)
}

/// Deletes under the shard lock.
pub(crate) fn delete(root: &Path, id: &SessionId, tally: &Tally) -> Result<(), FsStoreError> {
    with_shard_lock(root, id, false, false, |path| {
        if remove(path)? {
            tally.removed(1);
        }
        Ok(())
    })
    .map(drop)
}

/// Replaces the session's text only if it is still `expected`, under the shard lock.
pub(crate) fn compare_and_swap(
    root: &Path,
    id: &SessionId,
    expected: &str,
    new: &str,
    expires_at: SystemTime,
    durable: bool,
    tally: &Tally,
) -> Result<bool, FsStoreError> {
    write_over_live(root, id, new, expires_at, durable, tally, |current| {
        current == expected
    })
}

/// Replaces the session's text only if a live session is there, under the shard lock: a
/// session deleted or expired meanwhile stays gone, whichever process deleted it.
pub(crate) fn replace(
    root: &Path,
    id: &SessionId,
    text: &str,
    expires_at: SystemTime,
    durable: bool,
    tally: &Tally,
) -> Result<bool, FsStoreError> {
    write_over_live(root, id, text, expires_at, durable, tally, |_| true)
}

/// Writes `text` over the live session under the shard lock if `accept` takes its current
/// text; tells whether it did. A missing or expired session is never written.
fn write_over_live(
    root: &Path,
    id: &SessionId,
    text: &str,
    expires_at: SystemTime,
    durable: bool,
    tally: &Tally,
    accept: impl FnOnce(&str) -> bool,
) -> Result<bool, FsStoreError> {
    let written = with_shard_lock(root, id, false, durable, |path| {
        match read_file(path, tally)? {
            Some((current, _)) if accept(&current) => {
                write(path, text, expires_at, durable)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    })?;
    Ok(written.unwrap_or(false))
}

/// Writes the session file at `path` atomically: a temporary file in the same directory,
/// flushed, given its expiry, then renamed over the old file (a rename replaces a symbolic
/// link itself, never its target). A crash at any point leaves the old file or the new one,
/// never a torn or empty one. With `durable`, file and directory are fsynced. Called under the
/// shard lock, so a sweep cannot prune the shard meanwhile.
fn write(
    path: &Path,
    text: &str,
    expires_at: SystemTime,
    durable: bool,
) -> Result<(), FsStoreError> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = path.with_file_name(format!(
        ".{name}.{}.{}{TEMP_SUFFIX}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let mut file = create_private_file(&temp).map_err(FsStoreError::io("create temporary file"))?;
    let written = (|| {
        file.write_all(FORMAT_LINE)?;
        file.write_all(text.as_bytes())?;
        if durable {
            file.sync_all()?;
        }
        file.set_modified(expires_at)?;
        drop(file);
        fs::rename(&temp, path)
    })();
    if let Err(error) = written {
        let _ = fs::remove_file(&temp);
        return Err(FsStoreError::io("write")(error));
    }
    if durable {
        let dir = path.parent().unwrap_or(Path::new("."));
        sync_dir(dir).map_err(FsStoreError::io("sync shard"))?;
    }
    Ok(())
}

/// Reads the session text and its expiry, or `None` when there is none. An expired file is
/// removed; a file that is not in this format (which this crate never writes) is logged and
/// removed.
pub(crate) fn read(
    root: &Path,
    id: &SessionId,
    tally: &Tally,
) -> Result<Option<(String, SystemTime)>, FsStoreError> {
    if !secure::check_shard(&shard_dir(root, id))? {
        return Ok(None);
    }
    read_file(&session_file(root, id), tally)
}

/// [`read`] once the shard is checked.
fn read_file(path: &Path, tally: &Tally) -> Result<Option<(String, SystemTime)>, FsStoreError> {
    let Some((mut file, metadata)) =
        secure::open_entry(OpenOptions::new().read(true), path, "file")?
    else {
        return Ok(None);
    };
    // Metadata and content come from the same open file, even if a writer renames meanwhile.
    let expires_at = metadata.modified().map_err(FsStoreError::io("stat"))?;
    if expires_at <= SystemTime::now() {
        remove_if_unchanged(path, &metadata, tally)?;
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
            remove_if_unchanged(path, &metadata, tally)?;
            Ok(None)
        }
    }
}

/// Moves the expiry without touching the content; `false` when there is no live session.
pub(crate) fn touch(
    root: &Path,
    id: &SessionId,
    expires_at: SystemTime,
    tally: &Tally,
) -> Result<bool, FsStoreError> {
    if !secure::check_shard(&shard_dir(root, id))? {
        return Ok(false);
    }
    let path = session_file(root, id);
    let Some((file, metadata)) = secure::open_entry(OpenOptions::new().write(true), &path, "file")?
    else {
        return Ok(false);
    };
    if metadata.modified().map_err(FsStoreError::io("stat"))? <= SystemTime::now() {
        drop(file);
        remove_if_unchanged(&path, &metadata, tally)?;
        return Ok(false);
    }
    file.set_modified(expires_at)
        .map_err(FsStoreError::io("set expiry"))?;
    Ok(true)
}

/// Removes a file; a missing one is fine. Tells whether there was one.
pub(crate) fn remove(path: &Path) -> Result<bool, FsStoreError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(FsStoreError::io("remove")(error)),
    }
}

/// Removes the file at `path` unless a writer has meanwhile renamed a new file over the one
/// described by `seen` (a fresh session must not be deleted for its predecessor's expiry).
fn remove_if_unchanged(
    path: &Path,
    seen: &fs::Metadata,
    tally: &Tally,
) -> Result<(), FsStoreError> {
    if secure::is_still(path, seen).map_err(FsStoreError::io("stat"))? && remove(path)? {
        tally.removed(1);
    }
    Ok(())
}
