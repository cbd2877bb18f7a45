//! The directory storage's errors. Paths of session files are never included: their names are
//! session IDs, which are bearer secrets. A shard directory's path shows two characters of the
//! IDs it holds, far too few to guess one.

use std::path::{Path, PathBuf};

use session_core::StoreError;

/// A directory storage operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FsStoreError {
    /// The root directory could not be created.
    #[error("could not create the session directory {root}")]
    CreateRoot {
        /// The root directory.
        root: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The root exists but is not a directory.
    #[error("{root} is not a directory")]
    NotADirectory {
        /// The path given as root.
        root: PathBuf,
    },
    /// The root exists but could not be opened to check its owner and mode, or not tightened
    /// to `0700`.
    #[error("could not check or secure the session directory {root}")]
    InspectRoot {
        /// The root directory.
        root: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The root, or a shard directory inside it, is not safe to keep sessions in: someone else
    /// may read, plant or swap files there. Nothing is read from or written into it.
    #[error("unsafe session directory {}: {problem}{}", .path.display(), remedy(.path, *.problem))]
    UnsafeDirectory {
        /// The directory.
        path: PathBuf,
        /// What is wrong with it.
        problem: DirectoryProblem,
    },
    /// A session file or a shard's lock file is a symbolic link or not a regular file, so it
    /// was planted: it is neither followed nor used.
    #[error("a session {entry} is a symbolic link or not a regular file; it was not used")]
    UnsafeFile {
        /// `file` (a session file) or `lock file`.
        entry: &'static str,
    },
    /// A file system operation on a session file failed.
    #[error("session file {operation} failed")]
    Io {
        /// What was being done, such as `write` or `rename`.
        operation: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The store holds [`max_sessions`](crate::FsSessionStore::max_sessions) sessions, so a
    /// new one was refused. Becomes [`StoreError::Full`], which the adapters answer with an
    /// empty 503.
    #[error("the session directory is full ({capacity} sessions); new sessions are refused")]
    Full {
        /// The cap.
        capacity: usize,
    },
    /// The blocking task running the operation did not finish (the runtime is shutting down).
    #[error("session file task was cancelled")]
    Cancelled,
}

/// Why a directory is not safe to keep sessions in (see [`FsStoreError::UnsafeDirectory`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DirectoryProblem {
    /// It is a symbolic link, which is never followed: give the real directory.
    #[error("it is a symbolic link (give the real directory instead)")]
    SymbolicLink,
    /// It is not a directory.
    #[error("it is not a directory")]
    NotADirectory,
    /// Another user owns it.
    #[error("it is owned by uid {owner}, not by this process's effective uid {expected}")]
    ForeignOwner {
        /// The directory's owner.
        owner: u32,
        /// The process's effective user ID.
        expected: u32,
    },
    /// Group or others may create, delete or rename files in it.
    #[error("group or others may write into it (mode {mode:03o}), so files may have been planted")]
    WritableByOthers {
        /// The directory's permission bits.
        mode: u32,
    },
    /// Group or others may list or enter it. Only shard directories are refused for this
    /// (this crate creates them `0700`); the root is tightened to `0700` instead.
    #[error("group or others may list or enter it (mode {mode:03o})")]
    OpenToOthers {
        /// The directory's permission bits.
        mode: u32,
    },
}

/// What the operator should do, for the problems that have one plain fix.
fn remedy(path: &Path, problem: DirectoryProblem) -> String {
    match problem {
        DirectoryProblem::WritableByOthers { .. } | DirectoryProblem::OpenToOthers { .. } => {
            format!(
                "; check what it holds, then run `chmod 700 {}`",
                path.display()
            )
        }
        _ => String::new(),
    }
}

impl FsStoreError {
    pub(crate) fn io(operation: &'static str) -> impl FnOnce(std::io::Error) -> Self {
        move |source| Self::Io { operation, source }
    }
}

impl From<FsStoreError> for StoreError {
    fn from(error: FsStoreError) -> Self {
        match error {
            FsStoreError::Full { capacity } => StoreError::Full { capacity },
            error => StoreError::backend(error),
        }
    }
}
