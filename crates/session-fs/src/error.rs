//! The directory storage's errors. Paths of session files are never included: their names are
//! session IDs, which are bearer secrets.

use std::path::PathBuf;

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
    /// A file system operation on a session file failed.
    #[error("session file {operation} failed")]
    Io {
        /// What was being done, such as `write` or `rename`.
        operation: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The blocking task running the operation did not finish (the runtime is shutting down).
    #[error("session file task was cancelled")]
    Cancelled,
}

impl FsStoreError {
    pub(crate) fn io(operation: &'static str) -> impl FnOnce(std::io::Error) -> Self {
        move |source| Self::Io { operation, source }
    }
}

impl From<FsStoreError> for StoreError {
    fn from(error: FsStoreError) -> Self {
        StoreError::backend(error)
    }
}
