//! The error type of the SQL storage, and how it maps onto [`StoreError`].

use std::time::Duration;

use session_core::StoreError;

/// An SQL storage operation, or building the storage, failed.
///
/// No variant carries the database URL (it may hold a password), a session ID or session
/// text. The sources are sqlx's own errors, which name the failure (a refused connection, an
/// SQL error and its code), not the connection details.
///
/// Middleware sees these through [`StoreError`]: [`Timeout`](Self::Timeout) becomes
/// [`StoreError::Timeout`], [`Connect`](Self::Connect) and [`Unavailable`](Self::Unavailable)
/// become [`StoreError::Unavailable`], everything else [`StoreError::Backend`]. All of them
/// are answered with an empty 500.
///
/// # Examples
///
/// ```no_run
/// // From your adapter: `session_actix::` or `session_axum::` (feature `postgres`).
/// # use session_sql::{SqlSessionStore, SqlStoreError};
///
/// # async fn run() {
/// match SqlSessionStore::builder("postgres://app@db/app").table("web sessions").build().await {
///     Err(SqlStoreError::InvalidTableName { name }) => eprintln!("not an identifier: {name}"),
///     Err(error) => eprintln!("{error}"),
///     Ok(_) => unreachable!("a space is not allowed in a table name"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqlStoreError {
    /// The URL is not one this build can use: not `postgres://`, `postgresql://` or
    /// `sqlite:`, a backend whose crate feature is off, or options sqlx refuses. The message
    /// never repeats the URL.
    #[error("invalid database URL: {reason}")]
    InvalidUrl {
        /// What is wrong, without the URL.
        reason: String,
    },
    /// The table name is not a plain SQL identifier: 1 to 48 characters of `a`–`z`, `0`–`9`
    /// and `_`, not starting with a digit.
    #[error(
        "invalid session table name {name:?}: use 1 to 48 of a-z, 0-9 and _, not starting with a digit"
    )]
    InvalidTableName {
        /// The refused name.
        name: String,
    },
    /// A builder option is out of range, or the store is built outside a Tokio runtime.
    #[error("invalid SQL storage configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: &'static str,
    },
    /// The first connection, made by
    /// [`SqlSessionStoreBuilder::build`](crate::SqlSessionStoreBuilder::build), failed: the
    /// database is unreachable, refused the credentials, or (SQLite) the file cannot be
    /// opened or created.
    #[error("could not connect to the database")]
    Connect(#[source] sqlx::Error),
    /// The database did not answer in time: no connection could be had within the acquire
    /// timeout (a stopped or unreachable server), or a statement ran past the statement
    /// timeout (a hung server, a lock held too long, SQLite's busy timeout).
    #[error("the database did not answer within {after:?}")]
    Timeout {
        /// The limit that was exceeded.
        after: Duration,
    },
    /// The database could not be reached, dropped the connection, or is shutting down or
    /// starting up.
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// The database answered with an error (a missing table: run
    /// [`migrate`](crate::SqlSessionStore::migrate)), or with something unexpected.
    #[error("SQL statement failed")]
    Query(#[source] sqlx::Error),
}

impl SqlStoreError {
    /// Classifies an error of an operation; `acquire` and `statement` are the time limits,
    /// for the message of a timeout.
    pub(crate) fn from_sqlx(error: sqlx::Error, acquire: Duration, statement: Duration) -> Self {
        match &error {
            sqlx::Error::PoolTimedOut => Self::Timeout { after: acquire },
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Self::Unavailable(error),
            sqlx::Error::Database(database) => match database.code().as_deref() {
                Some(code) if is_timeout_code(code) => Self::Timeout { after: statement },
                Some(code) if is_unavailable_code(code) => Self::Unavailable(error),
                _ => Self::Query(error),
            },
            _ => Self::Query(error),
        }
    }
}

/// PostgreSQL's `query_canceled` (a statement timeout), SQLite's `SQLITE_BUSY` and
/// `SQLITE_LOCKED` (the busy timeout ran out), with their extended codes.
fn is_timeout_code(code: &str) -> bool {
    if code == "57014" {
        return true;
    }
    code.parse::<u32>()
        .is_ok_and(|code| matches!(code & 0xff, 5 | 6))
}

/// PostgreSQL's connection exceptions (class `08`), shutdowns and start-ups (`57P01` to
/// `57P03`) and `too_many_connections` (`53300`).
fn is_unavailable_code(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

impl From<SqlStoreError> for StoreError {
    fn from(error: SqlStoreError) -> Self {
        match error {
            SqlStoreError::Timeout { .. } => StoreError::Timeout,
            error @ (SqlStoreError::Connect(_) | SqlStoreError::Unavailable(_)) => {
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

    fn classify(error: sqlx::Error) -> SqlStoreError {
        SqlStoreError::from_sqlx(error, LIMIT, LIMIT * 2)
    }

    #[test]
    fn a_pool_timeout_is_a_timeout_of_the_acquire_limit() {
        let error = classify(sqlx::Error::PoolTimedOut);
        assert!(matches!(error, SqlStoreError::Timeout { after } if after == LIMIT));
        assert!(matches!(StoreError::from(error), StoreError::Timeout));
    }

    #[test]
    fn connection_failures_are_unavailable() {
        for error in [
            sqlx::Error::Io(io::Error::from(io::ErrorKind::ConnectionRefused)),
            sqlx::Error::Io(io::Error::from(io::ErrorKind::UnexpectedEof)),
            sqlx::Error::PoolClosed,
            sqlx::Error::WorkerCrashed,
        ] {
            let error = classify(error);
            assert!(matches!(error, SqlStoreError::Unavailable(_)), "{error:?}");
            assert!(matches!(
                StoreError::from(error),
                StoreError::Unavailable(_)
            ));
        }
    }

    #[test]
    fn codes_of_timeouts_and_unavailability_are_recognised() {
        for code in ["57014", "5", "517", "773", "6", "262"] {
            assert!(is_timeout_code(code), "{code}");
        }
        for code in ["08006", "08001", "57P01", "57P03", "53300"] {
            assert!(is_unavailable_code(code), "{code}");
        }
        for code in ["42P01", "23505", "1", "19"] {
            assert!(
                !is_timeout_code(code) && !is_unavailable_code(code),
                "{code}"
            );
        }
    }

    #[test]
    fn other_failures_are_backend_errors_that_keep_their_cause() {
        let error = classify(sqlx::Error::RowNotFound);
        assert!(matches!(error, SqlStoreError::Query(_)));
        let error = StoreError::from(error);
        assert!(matches!(error, StoreError::Backend(_)));
        let source = std::error::Error::source(&error).expect("source kept");
        assert_eq!(source.to_string(), "SQL statement failed");
        let config = SqlStoreError::InvalidConfig { reason: "x" };
        assert!(matches!(StoreError::from(config), StoreError::Backend(_)));
    }
}
