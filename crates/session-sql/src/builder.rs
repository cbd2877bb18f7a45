//! The builder of [`SqlSessionStore`]: where the database is, the table, the time limits.

use std::fmt;
use std::time::Duration;

use crate::table::validate_table_name;
use crate::{SqlPool, SqlSessionStore, SqlStoreError};

/// Where the store's connections come from.
enum Source {
    /// A URL (may hold a password: never printed, never kept after `build`).
    Url(String),
    /// A pool of the application's own.
    Pool(SqlPool),
}

/// Configures and connects a [`SqlSessionStore`]; made by [`SqlSessionStore::builder`] (from a
/// URL) or [`SqlSessionStore::with_pool`] (from a pool of yours).
///
/// | Option | Default |
/// |---|---|
/// | [`table`](Self::table) | `"sessions"` |
/// | [`acquire_timeout`](Self::acquire_timeout) | 1 s |
/// | [`statement_timeout`](Self::statement_timeout) | 1 s |
/// | [`max_connections`](Self::max_connections) (URL only) | 10 |
/// | [`sweep_batch_size`](Self::sweep_batch_size) | 1,000 rows |
///
/// `Debug` shows the backend a URL names, never the URL, which may hold a password.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// // From your adapter: `session_actix::` or `session_axum::` (feature `postgres`).
/// # use session_sql::SqlSessionStore;
///
/// # async fn run() -> Result<(), session_sql::SqlStoreError> {
/// let store = SqlSessionStore::builder("postgres://app:secret@db.internal/app")
///     .table("shop_sessions")
///     .acquire_timeout(Duration::from_millis(500))
///     .statement_timeout(Duration::from_millis(500))
///     .max_connections(20)
///     .build()
///     .await?;
/// store.migrate().await?;
/// assert_eq!(store.table(), "shop_sessions");
/// # Ok(())
/// # }
/// ```
#[must_use]
pub struct SqlSessionStoreBuilder {
    source: Source,
    table: String,
    acquire_timeout: Duration,
    statement_timeout: Duration,
    max_connections: u32,
    sweep_batch_size: u32,
}

impl fmt::Debug for SqlSessionStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::Url(url) => match scheme(url) {
                Scheme::Postgres => "postgres URL",
                Scheme::Sqlite => "sqlite URL",
                Scheme::Other => "URL",
            },
            Source::Pool(pool) => pool.backend(),
        };
        f.debug_struct("SqlSessionStoreBuilder")
            .field("source", &source)
            .field("table", &self.table)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("max_connections", &self.max_connections)
            .field("sweep_batch_size", &self.sweep_batch_size)
            .finish()
    }
}

enum Scheme {
    Postgres,
    Sqlite,
    Other,
}

fn scheme(url: &str) -> Scheme {
    let lower = url
        .trim_start()
        .get(..13)
        .unwrap_or(url)
        .to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        Scheme::Postgres
    } else if lower.starts_with("sqlite:") {
        Scheme::Sqlite
    } else {
        Scheme::Other
    }
}

impl SqlSessionStoreBuilder {
    pub(crate) fn from_url(url: String) -> Self {
        Self::with_source(Source::Url(url))
    }

    pub(crate) fn from_pool(pool: SqlPool) -> Self {
        Self::with_source(Source::Pool(pool))
    }

    fn with_source(source: Source) -> Self {
        Self {
            source,
            table: SqlSessionStore::DEFAULT_TABLE.to_owned(),
            acquire_timeout: SqlSessionStore::DEFAULT_ACQUIRE_TIMEOUT,
            statement_timeout: SqlSessionStore::DEFAULT_STATEMENT_TIMEOUT,
            max_connections: SqlSessionStore::DEFAULT_MAX_CONNECTIONS,
            sweep_batch_size: SqlSessionStore::DEFAULT_SWEEP_BATCH_SIZE,
        }
    }

    /// The table the sessions live in, `"sessions"` by default: 1 to 48 characters of
    /// `a`–`z`, `0`–`9` and `_`, not starting with a digit (checked by
    /// [`build`](Self::build)). Its index is `<table>_expires_at_idx`. Give each application
    /// its own table when several share a database.
    ///
    /// To put it in another PostgreSQL schema, set the connection's `search_path` (in the
    /// URL: `?options=-c%20search_path%3Dapp`).
    pub fn table(mut self, name: impl Into<String>) -> Self {
        self.table = name.into();
        self
    }

    /// How long an operation may wait for a pooled connection, including opening a new one,
    /// 1 s by default: a stopped or unreachable database fails requests after this long.
    /// Applies to pools made from a URL; for a pool of yours, its own acquire timeout applies
    /// (and this one still bounds each operation, see [`statement_timeout`](Self::statement_timeout)).
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// How long one statement may run, 1 s by default. On PostgreSQL pools made from a URL
    /// it is the server's `statement_timeout`, set on each connection when it opens; on
    /// SQLite pools made from a URL, the busy timeout (how long a write waits for another
    /// connection's or process's lock).
    ///
    /// Besides, the store bounds every operation on its side to
    /// `acquire_timeout + statement_timeout`, whatever the pool: a database that stopped
    /// answering altogether (a frozen server, a network that drops packets) fails the request
    /// with [`SqlStoreError::Timeout`] instead of hanging it.
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// The most connections a pool made from a URL opens, 10 by default (sqlx's default).
    /// Ignored for a pool of yours.
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max;
        self
    }

    /// How many expired rows one statement of [`SqlSessionStore::sweep_expired`] deletes,
    /// 1,000 by default, so that a sweep never holds locks on a large part of the table.
    pub fn sweep_batch_size(mut self, rows: u32) -> Self {
        self.sweep_batch_size = rows;
        self
    }

    /// Checks the options, opens the pool (from a URL: one connection, so that a wrong URL,
    /// password or an unreachable database fails at start-up) and returns the store. It does
    /// not create the table: call [`SqlSessionStore::migrate`], or run its SQL yourself.
    ///
    /// A pool made from a `postgres://` URL sets `statement_timeout` on every connection;
    /// one made from a `sqlite://FILE` URL creates the file if missing, and opens it in WAL
    /// mode (readers and one writer at a time, from any number of processes) with
    /// `synchronous = FULL` (every committed write is on disk) and the busy timeout.
    ///
    /// Must be called inside a Tokio runtime (such as actix-web's).
    ///
    /// # Errors
    ///
    /// - [`SqlStoreError::InvalidTableName`] when the table name is not a plain identifier.
    /// - [`SqlStoreError::InvalidConfig`] when a time limit, the connection limit or the batch
    ///   size is zero, or when called outside a Tokio runtime.
    /// - [`SqlStoreError::InvalidUrl`] when the URL is not `postgres://`, `postgresql://` or
    ///   `sqlite:`, names a backend whose feature is off, or does not parse.
    /// - [`SqlStoreError::Connect`] when the database refuses the connection or the
    ///   credentials, and [`SqlStoreError::Timeout`] when no connection could be made within
    ///   the acquire timeout.
    pub async fn build(self) -> Result<SqlSessionStore, SqlStoreError> {
        validate_table_name(&self.table)?;
        let checks = [
            (
                self.acquire_timeout.is_zero(),
                "the acquire timeout must be above zero",
            ),
            (
                self.statement_timeout.is_zero(),
                "the statement timeout must be above zero",
            ),
            (
                self.max_connections == 0,
                "the connection limit must be above zero",
            ),
            (
                self.sweep_batch_size == 0,
                "the sweep batch size must be above zero",
            ),
        ];
        if let Some((_, reason)) = checks.iter().find(|(failed, _)| *failed) {
            return Err(SqlStoreError::InvalidConfig { reason });
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(SqlStoreError::InvalidConfig {
                reason: "the store must be built inside a Tokio runtime",
            });
        }
        let pool = match self.source {
            Source::Pool(ref pool) => pool.clone(),
            Source::Url(ref url) => self.connect(url).await?,
        };
        Ok(SqlSessionStore::from_parts(
            pool,
            self.table,
            self.acquire_timeout,
            self.statement_timeout,
            self.sweep_batch_size,
        ))
    }

    async fn connect(&self, url: &str) -> Result<SqlPool, SqlStoreError> {
        match scheme(url) {
            #[cfg(feature = "postgres")]
            Scheme::Postgres => self.connect_postgres(url).await,
            #[cfg(feature = "sqlite")]
            Scheme::Sqlite => self.connect_sqlite(url).await,
            #[cfg(not(feature = "postgres"))]
            Scheme::Postgres => Err(SqlStoreError::InvalidUrl {
                reason: "postgres:// URLs need the crate feature `postgres`".into(),
            }),
            #[cfg(not(feature = "sqlite"))]
            Scheme::Sqlite => Err(SqlStoreError::InvalidUrl {
                reason: "sqlite: URLs need the crate feature `sqlite`".into(),
            }),
            Scheme::Other => Err(SqlStoreError::InvalidUrl {
                reason: "it must start with postgres://, postgresql:// or sqlite:".into(),
            }),
        }
    }

    fn connect_error(&self, error: sqlx::Error) -> SqlStoreError {
        match error {
            sqlx::Error::PoolTimedOut => SqlStoreError::Timeout {
                after: self.acquire_timeout,
            },
            error => SqlStoreError::Connect(error),
        }
    }

    #[cfg(feature = "postgres")]
    async fn connect_postgres(&self, url: &str) -> Result<SqlPool, SqlStoreError> {
        use std::str::FromStr as _;

        use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

        let options = PgConnectOptions::from_str(url)
            .map_err(invalid_url)?
            .options([(
                "statement_timeout",
                self.statement_timeout.as_millis().max(1),
            )]);
        let pool = PgPoolOptions::new()
            .max_connections(self.max_connections)
            .acquire_timeout(self.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(|error| self.connect_error(error))?;
        Ok(SqlPool::Postgres(pool))
    }

    #[cfg(feature = "sqlite")]
    async fn connect_sqlite(&self, url: &str) -> Result<SqlPool, SqlStoreError> {
        use std::str::FromStr as _;

        use sqlx::sqlite::{
            SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
        };

        let options = SqliteConnectOptions::from_str(url)
            .map_err(invalid_url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(self.statement_timeout);
        let deadline = tokio::time::Instant::now() + self.acquire_timeout;
        loop {
            let connected = SqlitePoolOptions::new()
                .max_connections(self.max_connections)
                .acquire_timeout(self.acquire_timeout)
                .connect_with(options.clone())
                .await;
            match connected {
                Ok(pool) => return Ok(SqlPool::Sqlite(pool)),
                // Switching a new file to WAL takes a lock the busy timeout does not wait
                // for: another process opening the same new file at the same moment has it.
                Err(sqlx::Error::Database(error))
                    if error.code().is_some_and(|code| code == "5")
                        && tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(error) => return Err(self.connect_error(error)),
            }
        }
    }
}

/// sqlx's reason a URL does not parse; its messages name the part (a port, an option), not
/// the URL or its password.
#[cfg(any(feature = "postgres", feature = "sqlite"))]
fn invalid_url(error: sqlx::Error) -> SqlStoreError {
    SqlStoreError::InvalidUrl {
        reason: error.to_string(),
    }
}
