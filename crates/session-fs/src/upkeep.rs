//! What keeps a directory store bounded: the count of session files against an optional cap
//! ([`Tally`]) and the sweep that writes do in passing ([`Upkeep`]).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use crate::layout::LOCK_FILE;
use crate::sweep::{SweepReport, is_shard_name, sweep_shard};
use crate::{FsStoreError, secure};

/// Every this many saves, one shard directory (in turn) is swept of expired files.
pub(crate) const SWEEP_EVERY: usize = 4;

/// How many session files this store knows of, against its cap. Uncapped, it counts nothing.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// The cap and the count.
    cap: Option<(usize, AtomicUsize)>,
}

impl Tally {
    /// A tally of at most `capacity` files, starting from the `existing` ones.
    pub(crate) fn capped(capacity: usize, existing: usize) -> Self {
        Self {
            cap: Some((capacity, AtomicUsize::new(existing))),
        }
    }

    pub(crate) fn capacity(&self) -> Option<usize> {
        self.cap.as_ref().map(|(capacity, _)| *capacity)
    }

    /// Takes a place for a new file, or refuses with [`FsStoreError::Full`].
    pub(crate) fn add(&self) -> Result<(), FsStoreError> {
        let Some((capacity, count)) = &self.cap else {
            return Ok(());
        };
        count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < *capacity).then_some(n + 1)
            })
            .map(drop)
            .map_err(|_| FsStoreError::Full {
                capacity: *capacity,
            })
    }

    /// `files` session files are gone.
    pub(crate) fn removed(&self, files: usize) {
        if let Some((_, count)) = &self.cap {
            let _ = count.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_sub(files))
            });
        }
    }

    #[cfg(test)]
    pub(crate) fn count(&self) -> usize {
        self.cap
            .as_ref()
            .map_or(0, |(_, count)| count.load(Ordering::Acquire))
    }
}

/// The session files under `root` (expired ones included), for a new [`Tally`]: one pass over
/// the directory, at start-up.
pub(crate) fn count_sessions(root: &Path) -> Result<usize, FsStoreError> {
    let mut count = 0;
    for dir in shard_dirs(root)? {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        count += entries
            .filter_map(Result::ok)
            .filter(|entry| {
                let name = entry.file_name();
                // Temporary files and the lock file start with a dot, session IDs never do.
                !name.to_string_lossy().starts_with('.')
                    && name != LOCK_FILE
                    && entry.file_type().is_ok_and(|t| t.is_file())
            })
            .count();
    }
    Ok(count)
}

/// The shard directories under `root` (at most 4096).
fn shard_dirs(root: &Path) -> Result<Vec<PathBuf>, FsStoreError> {
    let entries = fs::read_dir(root).map_err(FsStoreError::io("list root"))?;
    Ok(entries
        .filter_map(Result::ok)
        .filter(|entry| {
            entry.file_type().is_ok_and(|t| t.is_dir())
                && entry.file_name().to_str().is_some_and(is_shard_name)
        })
        .map(|entry| entry.path())
        .collect())
}

/// The sweep that saves do in passing: every [`SWEEP_EVERY`]th save sweeps the next shard
/// directory of a turn over all of them (listed afresh at the start of each turn). No request
/// pays for more than one shard (a few dozen files at 100,000 sessions) and, once per turn, a
/// listing of the root.
#[derive(Debug, Default)]
pub(crate) struct Upkeep {
    saves: AtomicUsize,
    /// The shards still to visit in this turn.
    turn: Mutex<Vec<PathBuf>>,
}

impl Upkeep {
    /// Called on every save, before it writes.
    pub(crate) fn on_save(&self, root: &Path, tally: &Tally) {
        if !self
            .saves
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(SWEEP_EVERY)
        {
            return;
        }
        let next = {
            let mut turn = self.turn.lock().unwrap_or_else(PoisonError::into_inner);
            if turn.is_empty() {
                match shard_dirs(root) {
                    Ok(dirs) => *turn = dirs,
                    Err(error) => tracing::warn!(%error, "could not list session shards"),
                }
            }
            turn.pop()
        };
        let Some(dir) = next else { return };
        if let Err(error) = secure::check_shard(&dir) {
            tracing::warn!(%error, "not sweeping an unsafe session shard");
            return;
        }
        let mut report = SweepReport::default();
        let swept = sweep_shard(&dir, SystemTime::now(), &mut report);
        tally.removed(report.expired);
        if let Err(error) = swept {
            tracing::warn!(%error, "could not sweep a session shard");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_refuses_past_its_cap_and_makes_room_on_removal() {
        let tally = Tally::capped(2, 1);
        tally.add().unwrap();
        assert!(matches!(
            tally.add(),
            Err(FsStoreError::Full { capacity: 2 })
        ));
        tally.removed(1);
        tally.add().unwrap();
        tally.removed(10);
        assert_eq!(tally.count(), 0, "never below zero");
        Tally::default().add().unwrap();
    }
}
