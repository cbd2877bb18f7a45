//! Error types of the core crate. None of them ever carries key material or session data.

use std::error::Error as StdError;

/// A key could not be built: wrong length, bad encoding or a missing environment variable.
///
/// The messages name the problem and the expected shape, never the key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key has the wrong number of bytes.
    #[error("{kind} must be {expected} bytes, got {actual}")]
    WrongLength {
        /// Which kind of key was being built.
        kind: &'static str,
        /// What the key needs, for example `32` or `32 to 64`.
        expected: &'static str,
        /// How many bytes were given.
        actual: usize,
    },
    /// The text was not valid hexadecimal.
    #[error("{kind} is not valid hexadecimal")]
    InvalidHex {
        /// Which kind of key was being built.
        kind: &'static str,
    },
    /// The text was not valid base64 (standard or URL-safe, with or without padding).
    #[error("{kind} is not valid base64")]
    InvalidBase64 {
        /// Which kind of key was being built.
        kind: &'static str,
    },
    /// The environment variable is not set.
    #[error("environment variable {variable} is not set")]
    MissingVariable {
        /// The variable's name.
        variable: String,
    },
    /// The environment variable is set but is not valid Unicode.
    #[error("environment variable {variable} is not valid Unicode")]
    NotUnicode {
        /// The variable's name.
        variable: String,
    },
}

/// A session ID was rejected by [`SessionId::parse`](crate::SessionId::parse).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The ID does not have the length of the IDs this crate issues.
    #[error("session ID must be {expected} characters, got {actual}")]
    WrongLength {
        /// The required length.
        expected: usize,
        /// The received length, in bytes.
        actual: usize,
    },
    /// The ID contains a character outside the URL-safe base64 alphabet.
    #[error("session ID contains a character outside [A-Za-z0-9_-]")]
    InvalidCharacter,
}

/// A session value could not be serialized.
#[derive(Debug, thiserror::Error)]
#[error("session value could not be serialized")]
pub struct SerializeError(#[source] pub Box<dyn StdError + Send + Sync>);

/// Stored or received text could not be turned back into a session value.
///
/// Middleware treats this as "no session" (for example after the session type changed between
/// deploys); it is an error type only so that the cause can be logged.
#[derive(Debug, thiserror::Error)]
#[error("session text could not be deserialized")]
pub struct DeserializeError(#[source] pub Box<dyn StdError + Send + Sync>);

/// A transformer could not seal a value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The value is larger than the transformer can seal.
    #[error("value of {len} bytes is too large to seal")]
    TooLarge {
        /// The length of the value.
        len: usize,
    },
    /// The cryptographic primitive failed (for example, no randomness was available).
    #[error("cryptographic operation failed")]
    Crypto,
}

/// A storage operation failed.
///
/// "Not found" is not an error: [`SessionStore::load`](crate::SessionStore::load) answers
/// `Ok(None)` for it. A `StoreError` means the storage itself failed (I/O, network, timeout),
/// which middleware turns into an opaque server error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend failed; the source says why.
    #[error("session storage backend failed")]
    Backend(#[source] Box<dyn StdError + Send + Sync>),
    /// The backend did not answer in time.
    #[error("session storage timed out")]
    Timeout,
    /// The backend is unavailable (for example, disconnected and not yet reconnected).
    #[error("session storage is unavailable")]
    Unavailable(#[source] Box<dyn StdError + Send + Sync>),
    /// The store does not implement this operation.
    #[error("session storage does not support {operation}")]
    Unsupported {
        /// The operation, such as `compare_and_swap`.
        operation: &'static str,
    },
    /// An operation built on compare-and-swap lost to concurrent writes of the same entry
    /// every time it tried.
    #[error("session storage: {operation} kept losing to concurrent writes")]
    Contended {
        /// The operation, such as `replace`.
        operation: &'static str,
    },
    /// The store holds as many sessions as it may, so a new one was refused; existing
    /// sessions can still be written, touched and deleted. Not a failure of the storage:
    /// middleware answers it with an empty 503 Service Unavailable (the client may retry
    /// later), not a 500.
    #[error("session storage is full ({capacity} sessions); new sessions are refused")]
    Full {
        /// How many sessions the store may hold.
        capacity: usize,
    },
}

impl StoreError {
    /// Wraps any error as a [`StoreError::Backend`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use session_core::StoreError;
    /// let error = StoreError::backend(std::io::Error::other("disk on fire"));
    /// assert!(matches!(error, StoreError::Backend(_)));
    /// ```
    pub fn backend(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self::Backend(source.into())
    }
}
