//! Why an example could not start.

use std::fmt;
use std::path::PathBuf;

use session_core::KeyError;
use session_engine::ConfigError;
use session_fs::FsStoreError;
use session_redis::RedisStoreError;
use session_sql::SqlStoreError;

use crate::dev_key::KeyFileProblem;
use crate::env::BIND_ADDR_VAR;

/// Why an example could not start. `main` returns it; its `Debug` is its message, so the
/// process prints one readable line, `Error: <message>`, and exits with code 1 (and never
/// prints key material: [`KeyError`] carries none).
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A key variable is set but does not hold a valid key.
    #[error("invalid {variable}: {source} (expected hex, e.g. from `openssl rand -hex 32`)")]
    Key {
        /// The variable's name.
        variable: &'static str,
        /// What is wrong with its value.
        source: KeyError,
    },
    /// A key variable is not set, and the development key file that stands in for it cannot
    /// be used (it is refused, never replaced: it may hold the key of existing sessions).
    #[error("{variable} is not set and the development key file {} {problem}", .path.display())]
    KeyFile {
        /// The variable's name.
        variable: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: KeyFileProblem,
    },
    /// [`BIND_ADDR_VAR`] is set but is not valid Unicode.
    #[error("{BIND_ADDR_VAR} is not valid Unicode")]
    BindAddrNotUnicode,
    /// The session setup was rejected.
    #[error("invalid session configuration: {0}")]
    Config(#[from] ConfigError),
    /// The address could not be bound.
    #[error("could not listen on {addr}: {source}")]
    Bind {
        /// The address from [`BIND_ADDR_VAR`] or the default.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// A variable that must hold a whole number of seconds does not.
    #[error("{variable} must be a whole number of seconds greater than zero")]
    Seconds {
        /// The variable's name.
        variable: &'static str,
    },
    /// [`QUERY_FALLBACK_VAR`](crate::QUERY_FALLBACK_VAR) is set but is not valid Unicode.
    #[error("{variable} must name a query parameter (letters, digits and -._~)")]
    QueryFallback {
        /// The variable's name.
        variable: &'static str,
    },
    /// A variable that must hold a number of sessions does not.
    #[error("{variable} must be a whole number greater than zero")]
    Capacity {
        /// The variable's name.
        variable: &'static str,
    },
    /// Redis could not be reached or configured (the message never contains the URL).
    #[error("Redis: {0}")]
    Redis(#[from] RedisStoreError),
    /// The database could not be reached, configured or given its table (the message never
    /// contains the URL).
    #[error("database: {0}")]
    Sql(#[from] SqlStoreError),
    /// Both `REDIS_URL` and `DATABASE_URL` are set: the storage would be a guess.
    #[error("both REDIS_URL and DATABASE_URL are set: set only the one whose storage to use")]
    TwoStores,
    /// The session directory could not be used.
    #[error("session directory: {0}")]
    Directory(#[from] FsStoreError),
    /// The server failed while starting or running.
    #[error("server failed: {0}")]
    Io(#[from] std::io::Error),
}

impl fmt::Debug for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use session_core::EncryptionKey;

    use super::*;
    use crate::env::ENCRYPTION_KEY_VAR;

    #[test]
    fn key_errors_name_the_variable_but_not_the_key() {
        let error = StartError::Key {
            variable: ENCRYPTION_KEY_VAR,
            source: EncryptionKey::from_hex("abcd").unwrap_err(),
        };
        let text = format!("{error:?}");
        assert!(text.contains(ENCRYPTION_KEY_VAR), "{text}");
        assert!(text.contains("32 bytes"), "{text}");
        assert!(!text.contains("abcd"), "{text}");
    }

    #[test]
    fn key_file_errors_name_the_variable_the_file_and_the_remedy() {
        let error = StartError::KeyFile {
            variable: crate::SIGNING_KEY_VAR,
            path: PathBuf::from("build/dev-session-signing.key"),
            problem: KeyFileProblem::Permissions { mode: 0o644 },
        };
        assert_eq!(
            format!("{error:?}"),
            "SESSION_SIGNING_KEY is not set and the development key file \
             build/dev-session-signing.key is open to group or others (mode 0644, must be 0600): \
             `chmod 600` it, or delete it to make a new key"
        );
    }
}
