//! The error type of the Redis storage, and how it maps onto [`StoreError`].

use std::time::Duration;

use redis::{ErrorKind, RedisError, ServerErrorKind};
use session_core::StoreError;

/// A Redis storage operation, or building the storage, failed.
///
/// No variant carries the Redis URL (it may hold a password), a session ID or session text.
/// The sources are the redis crate's own errors, which name the failure, not the connection
/// details.
///
/// Middleware sees these through [`StoreError`]: [`Timeout`](Self::Timeout) becomes
/// [`StoreError::Timeout`], [`Connect`](Self::Connect) and [`Unavailable`](Self::Unavailable)
/// become [`StoreError::Unavailable`], everything else [`StoreError::Backend`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisStoreError {
    /// The URL (or a cluster node's URL) is not a Redis URL this build can use, for example a
    /// `rediss://` URL without a TLS feature. The message does not repeat the URL.
    #[error("invalid Redis URL")]
    InvalidUrl(#[source] RedisError),
    /// The TLS root certificates do not parse, or were given for a URL that is not
    /// `rediss://`.
    #[cfg(feature = "tls-rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls-rustls")))]
    #[error("invalid TLS configuration for Redis")]
    InvalidTls(#[source] RedisError),
    /// A builder option is out of range, or the store is built or used outside a Tokio
    /// runtime.
    #[error("invalid Redis storage configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: &'static str,
    },
    /// The first connection, made by
    /// [`RedisSessionStoreBuilder::build`](crate::RedisSessionStoreBuilder::build), failed:
    /// Redis is unreachable or refused the credentials.
    #[error("could not connect to Redis")]
    Connect(#[source] RedisError),
    /// Redis did not answer in time (including the time spent waiting for a reconnection).
    #[error("Redis did not answer within {after:?}")]
    Timeout {
        /// The limit that was exceeded.
        after: Duration,
    },
    /// Redis could not be reached: the connection was refused, dropped, or is being
    /// re-established, or the server says it cannot serve right now (loading, cluster down,
    /// read-only replica).
    #[error("Redis is unavailable")]
    Unavailable(#[source] RedisError),
    /// Redis answered with an error, or with a reply of an unexpected type.
    #[error("Redis command failed")]
    Command(#[source] RedisError),
}

impl RedisStoreError {
    /// Classifies an error returned by a command; `limit` is the response timeout, for the
    /// message of a timeout the redis crate detected itself.
    pub(crate) fn from_command(error: RedisError, limit: Duration) -> Self {
        if error.is_timeout() {
            Self::Timeout { after: limit }
        } else if is_unavailable(&error) {
            Self::Unavailable(error)
        } else {
            Self::Command(error)
        }
    }

    /// Classifies an error of the first connection.
    pub(crate) fn from_connect(error: RedisError, limit: Duration) -> Self {
        if error.kind() == ErrorKind::InvalidClientConfig {
            Self::InvalidUrl(error)
        } else if error.is_timeout() {
            Self::Timeout { after: limit }
        } else {
            Self::Connect(error)
        }
    }
}

/// Errors that say "not now" rather than "wrong": the connection, or a server that cannot
/// serve yet. Retrying later, once Redis is back, succeeds.
fn is_unavailable(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || matches!(
            error.kind(),
            ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(
                    ServerErrorKind::BusyLoading
                        | ServerErrorKind::ClusterDown
                        | ServerErrorKind::TryAgain
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::ReadOnly
                )
        )
}

impl From<RedisStoreError> for StoreError {
    fn from(error: RedisStoreError) -> Self {
        match error {
            RedisStoreError::Timeout { .. } => StoreError::Timeout,
            error @ (RedisStoreError::Connect(_) | RedisStoreError::Unavailable(_)) => {
                StoreError::Unavailable(Box::new(error))
            }
            error => StoreError::Backend(Box::new(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    const LIMIT: Duration = Duration::from_secs(1);

    fn io_error(kind: io::ErrorKind) -> RedisError {
        io::Error::from(kind).into()
    }

    #[test]
    fn timeouts_map_to_store_timeout() {
        let error = RedisStoreError::from_command(io_error(io::ErrorKind::TimedOut), LIMIT);
        assert!(matches!(error, RedisStoreError::Timeout { after } if after == LIMIT));
        assert!(matches!(StoreError::from(error), StoreError::Timeout));
    }

    #[test]
    fn connection_failures_map_to_unavailable() {
        for kind in [
            io::ErrorKind::ConnectionRefused,
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::BrokenPipe,
            io::ErrorKind::UnexpectedEof,
        ] {
            let error = RedisStoreError::from_command(io_error(kind), LIMIT);
            assert!(matches!(error, RedisStoreError::Unavailable(_)), "{kind:?}");
            assert!(matches!(
                StoreError::from(error),
                StoreError::Unavailable(_)
            ));
        }
        let loading =
            RedisError::from((ErrorKind::Server(ServerErrorKind::BusyLoading), "loading"));
        assert!(matches!(
            RedisStoreError::from_command(loading, LIMIT),
            RedisStoreError::Unavailable(_)
        ));
    }

    #[test]
    fn other_failures_map_to_backend() {
        let wrong_type = RedisError::from((ErrorKind::UnexpectedReturnType, "not a string"));
        let error = RedisStoreError::from_command(wrong_type, LIMIT);
        assert!(matches!(error, RedisStoreError::Command(_)));
        assert!(matches!(StoreError::from(error), StoreError::Backend(_)));

        let config = RedisStoreError::InvalidConfig { reason: "x" };
        assert!(matches!(StoreError::from(config), StoreError::Backend(_)));
    }

    #[test]
    fn connect_errors_are_classified() {
        let bad_url = RedisError::from((ErrorKind::InvalidClientConfig, "Redis URL did not parse"));
        assert!(matches!(
            RedisStoreError::from_connect(bad_url, LIMIT),
            RedisStoreError::InvalidUrl(_)
        ));
        let refused = io_error(io::ErrorKind::ConnectionRefused);
        let error = RedisStoreError::from_connect(refused, LIMIT);
        assert!(matches!(error, RedisStoreError::Connect(_)));
        assert!(matches!(
            StoreError::from(error),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            RedisStoreError::from_connect(io_error(io::ErrorKind::TimedOut), LIMIT),
            RedisStoreError::Timeout { .. }
        ));
    }

    #[test]
    fn store_error_keeps_the_cause() {
        let error = StoreError::from(RedisStoreError::from_command(
            io_error(io::ErrorKind::ConnectionRefused),
            LIMIT,
        ));
        let source = std::error::Error::source(&error).expect("source kept");
        assert_eq!(source.to_string(), "Redis is unavailable");
    }
}
