//! Removing expired sessions, abandoned temporary files and empty shard directories.

use std::fs;
use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::layout::{LOCK_FILE, TEMP_SUFFIX};
use crate::{FsStoreError, secure};

/// A temporary file untouched for this long belongs to a writer that crashed.
const ABANDONED_AFTER: Duration = Duration::from_secs(60);

/// What a sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SweepReport {
    /// Expired session files.
    pub expired: usize,
    /// Temporary files left by crashed writers.
    pub abandoned: usize,
    /// Empty shard directories.
    pub pruned_dirs: usize,
}

pub(crate) fn is_shard_name(name: &str) -> bool {
    name.len() == 2
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// When the file's metadata last changed: a live writer changes it within milliseconds.
fn last_change(metadata: &fs::Metadata) -> Option<SystemTime> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let seconds = u64::try_from(metadata.ctime()).ok()?;
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
    }
    #[cfg(not(unix))]
    {
        metadata.created().ok()
    }
}

pub(crate) fn sweep(root: &Path, now: SystemTime) -> Result<SweepReport, FsStoreError> {
    let mut report = SweepReport::default();
    for shard in fs::read_dir(root).map_err(FsStoreError::io("list root"))? {
        let Ok(shard) = shard else { continue };
        let is_dir = shard.file_type().is_ok_and(|t| t.is_dir());
        if !is_dir || !shard.file_name().to_str().is_some_and(is_shard_name) {
            continue;
        }
        if let Err(error) = secure::check_shard(&shard.path()) {
            tracing::warn!(%error, "not sweeping an unsafe session shard");
            continue;
        }
        if let Err(error) = sweep_shard(&shard.path(), now, &mut report) {
            tracing::warn!(%error, "could not sweep a session shard");
        }
    }
    Ok(report)
}

pub(crate) fn sweep_shard(dir: &Path, now: SystemTime, report: &mut SweepReport) -> io::Result<()> {
    let mut sessions_left = false;
    for entry in fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        if entry.file_name() == LOCK_FILE {
            continue;
        }
        // Not following links; anything but a regular file was planted: left alone.
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        if !metadata.is_file() {
            sessions_left = true;
            continue;
        }
        let is_temp = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.ends_with(TEMP_SUFFIX));
        let remove = if is_temp {
            last_change(&metadata).is_some_and(|changed| changed + ABANDONED_AFTER <= now)
        } else {
            metadata
                .modified()
                .is_ok_and(|expires_at| expires_at <= now)
        };
        if remove && fs::remove_file(entry.path()).is_ok() {
            if is_temp {
                report.abandoned += 1;
            } else {
                report.expired += 1;
            }
        } else {
            sessions_left = true;
        }
    }
    if !sessions_left {
        prune_shard(dir, report);
    }
    Ok(())
}

/// Removes an empty shard: its lock file (when nobody holds it) and the directory, which
/// fails, as it should, if a writer has just put a file there.
fn prune_shard(dir: &Path, report: &mut SweepReport) {
    let lock_path = dir.join(LOCK_FILE);
    match secure::open_entry(fs::OpenOptions::new().read(true), &lock_path, "lock file") {
        Ok(Some((lock, _))) => {
            if lock.try_lock().is_err() {
                return;
            }
            // A writer waiting for this lock sees the file gone and takes a new one.
            let _ = fs::remove_file(&lock_path);
        }
        Ok(None) => {}
        Err(_) => return,
    }
    if fs::remove_dir(dir).is_ok() {
        report.pruned_dirs += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abandoned_temporary_files_are_removed_once_old() {
        let dir = tempfile::tempdir().unwrap();
        let shard = dir.path().join("ab");
        secure::create_private_dir(&shard, false).unwrap();
        fs::write(shard.join(format!(".abc.1.1{TEMP_SUFFIX}")), "partial").unwrap();
        fs::write(dir.path().join("not-a-shard.txt"), "left alone").unwrap();
        let now = SystemTime::now();
        assert_eq!(
            sweep(dir.path(), now).unwrap().abandoned,
            0,
            "maybe a live writer"
        );
        let report = sweep(dir.path(), now + ABANDONED_AFTER + Duration::from_secs(2)).unwrap();
        assert_eq!(report.abandoned, 1);
        assert_eq!(report.pruned_dirs, 1);
        assert!(dir.path().join("not-a-shard.txt").exists());
    }
}
