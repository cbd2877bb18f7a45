//! [`SqlSessionStore`]: sessions as rows of a table, one statement per operation.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use session_core::{SessionId, SessionStore, StoreCapabilities, StoreError, StoredEntry};

use crate::table::{self, Statements};
use crate::{SqlPool, SqlSessionStoreBuilder, SqlStoreError};

/// The longest time to live sent to the database: 100 years, in milliseconds.
const MAX_TTL_MS: u64 = 100 * 365 * 24 * 3600 * 1000;

/// Sessions as rows of a PostgreSQL or SQLite table, shared by every instance of the
/// application that uses the database, through sqlx's async drivers.
///
/// One row per session, `(id, data, expires_at)`, and one statement per operation:
///
/// | Operation | Statement |
/// |---|---|
/// | [`load`](SessionStore::load), [`load_entry`](SessionStore::load_entry) | `SELECT data, expires_at … WHERE id = $1 AND expires_at > now()` |
/// | [`save`](SessionStore::save) | `INSERT … ON CONFLICT (id) DO UPDATE SET data = …, expires_at = …` |
/// | [`replace`](SessionStore::replace) | `UPDATE … SET data = $2, expires_at = … WHERE id = $1 AND expires_at > now()` |
/// | [`compare_and_swap`](SessionStore::compare_and_swap) | `UPDATE … SET data = $3, expires_at = … WHERE id = $1 AND data = $2 AND expires_at > now()` |
/// | [`touch`](SessionStore::touch) | `UPDATE … SET expires_at = … WHERE id = $1 AND expires_at > now()`: the data is not sent again |
/// | [`delete`](SessionStore::delete) | `DELETE … WHERE id = $1` |
///
/// - **Expired rows are never returned**, and never written over by `replace`,
///   `compare_and_swap` or `touch`: every statement checks `expires_at`. They stay in the
///   table until [`sweep_expired`](Self::sweep_expired) (or a sweeper from
///   [`spawn_sweeper`](Self::spawn_sweeper)) deletes them, in batches.
/// - **Atomic updates**: `compare_and_swap` is one conditional `UPDATE`. Two concurrent
///   swaps from the same `expected` text cannot both succeed: on PostgreSQL the second waits
///   for the first's row lock, then finds the data changed and updates nothing; SQLite runs
///   one write at a time. So `Session::update` loses nothing across app instances.
/// - **Whose clock**: on PostgreSQL expiry is the server's `now()`, one clock for every app
///   instance; on SQLite (one host) the app's clock, in milliseconds since the Unix epoch.
///
/// `Debug` shows the backend, table and time limits, never a URL.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// // From your adapter: `session_actix::` or `session_axum::` (feature `sqlite`).
/// # use session_core::{SessionId, SessionStore};
/// # use session_sql::SqlSessionStore;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = SqlSessionStore::new("sqlite://build/sessions.db").await?;
/// store.migrate().await?;
/// let id = SessionId::generate();
/// store.save(&id, r#"{"cart":[1]}"#, Duration::from_secs(3600)).await?;
/// assert_eq!(store.load(&id).await?.as_deref(), Some(r#"{"cart":[1]}"#));
/// assert!(store.touch(&id, Duration::from_secs(7200)).await?);
/// assert!(store.compare_and_swap(&id, r#"{"cart":[1]}"#, r#"{"cart":[1,2]}"#, Duration::from_secs(3600)).await?);
/// store.delete(&id).await?;
/// // A logout stays a logout: `replace` writes only over a live row.
/// assert!(!store.replace(&id, r#"{"cart":[1,2,3]}"#, Duration::from_secs(3600)).await?);
/// assert_eq!(store.load(&id).await?, None);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SqlSessionStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: SqlPool,
    table: String,
    statements: Statements,
    acquire_timeout: Duration,
    statement_timeout: Duration,
    sweep_batch_size: u32,
    /// SQLite's writes of this process, one at a time and in order (see `run_write`).
    #[cfg(feature = "sqlite")]
    sqlite_writes: tokio::sync::Mutex<()>,
}

impl fmt::Debug for SqlSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlSessionStore")
            .field("backend", &self.inner.pool.backend())
            .field("table", &self.inner.table)
            .field("acquire_timeout", &self.inner.acquire_timeout)
            .field("statement_timeout", &self.inner.statement_timeout)
            .field("sweep_batch_size", &self.inner.sweep_batch_size)
            .finish_non_exhaustive()
    }
}

impl SqlSessionStore {
    /// The table unless [configured](SqlSessionStoreBuilder::table).
    pub const DEFAULT_TABLE: &'static str = "sessions";
    /// The acquire timeout unless [configured](SqlSessionStoreBuilder::acquire_timeout).
    pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);
    /// The statement timeout unless [configured](SqlSessionStoreBuilder::statement_timeout).
    pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(1);
    /// The connection limit of a pool made from a URL unless
    /// [configured](SqlSessionStoreBuilder::max_connections).
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;
    /// The rows one sweep statement deletes unless
    /// [configured](SqlSessionStoreBuilder::sweep_batch_size).
    pub const DEFAULT_SWEEP_BATCH_SIZE: u32 = 1_000;

    /// Connects to the database at `url` with the default options: `postgres://…` (or
    /// `postgresql://…`, feature `postgres`) or `sqlite://FILE` (feature `sqlite`). Same as
    /// `SqlSessionStore::builder(url).build().await`. Does not create the table: see
    /// [`migrate`](Self::migrate).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use session_sql::SqlSessionStore;
    /// # async fn run() -> Result<(), session_sql::SqlStoreError> {
    /// let store = SqlSessionStore::new(std::env::var("DATABASE_URL").unwrap()).await?;
    /// store.migrate().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`SqlSessionStoreBuilder::build`].
    pub async fn new(url: impl Into<String>) -> Result<Self, SqlStoreError> {
        Self::builder(url).build().await
    }

    /// A builder for a store on the database at `url`, to set the table and time limits
    /// before connecting.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use session_sql::SqlSessionStore;
    /// # async fn run() -> Result<(), session_sql::SqlStoreError> {
    /// let store = SqlSessionStore::builder("sqlite://build/sessions.db")
    ///     .table("web_sessions")
    ///     .build()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder(url: impl Into<String>) -> SqlSessionStoreBuilder {
        SqlSessionStoreBuilder::from_url(url.into())
    }

    /// A builder for a store on a pool of yours (`PgPool` or `SqlitePool`), which the store
    /// shares with the rest of the application. The pool's own settings apply: give a
    /// PostgreSQL pool a `statement_timeout` (its connect options' `options`), and open an
    /// SQLite file in WAL mode with a busy timeout, as the store does for URLs; the store
    /// still bounds each operation by `acquire_timeout + statement_timeout` on its side.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use session_sql::SqlSessionStore;
    /// use sqlx::SqlitePool; // the app's own sqlx 0.8
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = SqlitePool::connect("sqlite://app.db").await?;
    /// let store = SqlSessionStore::with_pool(pool).build().await?;
    /// store.migrate().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_pool(pool: impl Into<SqlPool>) -> SqlSessionStoreBuilder {
        SqlSessionStoreBuilder::from_pool(pool.into())
    }

    pub(crate) fn from_parts(
        pool: SqlPool,
        table: String,
        acquire_timeout: Duration,
        statement_timeout: Duration,
        sweep_batch_size: u32,
    ) -> Self {
        let statements = match &pool {
            #[cfg(feature = "postgres")]
            SqlPool::Postgres(_) => table::postgres(&table),
            #[cfg(feature = "sqlite")]
            SqlPool::Sqlite(_) => table::sqlite(&table),
        };
        Self {
            inner: Arc::new(Inner {
                pool,
                table,
                statements,
                acquire_timeout,
                statement_timeout,
                sweep_batch_size,
                #[cfg(feature = "sqlite")]
                sqlite_writes: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The table the sessions live in.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use session_sql::SqlSessionStore;
    /// # async fn run() -> Result<(), session_sql::SqlStoreError> {
    /// let store = SqlSessionStore::new("sqlite://build/sessions.db").await?;
    /// assert_eq!(store.table(), SqlSessionStore::DEFAULT_TABLE);
    /// # Ok(())
    /// # }
    /// ```
    pub fn table(&self) -> &str {
        &self.inner.table
    }

    /// The pool the store runs on, to share it with the rest of the application.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use session_sql::{SqlPool, SqlSessionStore};
    /// # async fn run(store: SqlSessionStore) -> Result<(), Box<dyn std::error::Error>> {
    /// if let SqlPool::Postgres(pool) = store.pool() {
    ///     let live: i64 = session_sql::sqlx::query_scalar(
    ///         "SELECT count(*) FROM sessions WHERE expires_at > now()",
    ///     )
    ///     .fetch_one(pool)
    ///     .await?;
    ///     println!("{live} live sessions");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn pool(&self) -> &SqlPool {
        &self.inner.pool
    }

    /// The SQL that [`migrate`](Self::migrate) runs for this store's backend and table, for
    /// teams that run their own migrations: a `CREATE TABLE IF NOT EXISTS` and a
    /// `CREATE INDEX IF NOT EXISTS` on the expiry, each ending with `;`. For the default
    /// table it is the SQL in the crate documentation (*Schema*).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use session_sql::SqlSessionStore;
    /// # async fn run(store: SqlSessionStore) -> std::io::Result<()> {
    /// std::fs::write("migrations/0007_sessions.sql", store.schema_sql())?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn schema_sql(&self) -> String {
        let [table, index] = &self.inner.statements.schema;
        format!("{table};\n{index};\n")
    }

    /// Creates the table and its index on the expiry if they do not exist yet: idempotent,
    /// so it can run at every start, and safe when several instances start at once (on
    /// PostgreSQL they take turns on an advisory lock). Never changes or drops an existing
    /// table.
    ///
    /// # Errors
    ///
    /// [`SqlStoreError`] when the database fails or refuses (for example a user without the
    /// right to create tables: then run [`schema_sql`](Self::schema_sql) as one who has it).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use session_sql::SqlSessionStore;
    /// # async fn run() -> Result<(), session_sql::SqlStoreError> {
    /// let store = SqlSessionStore::new("postgres://app@db.internal/app").await?;
    /// store.migrate().await?;
    /// store.migrate().await?; // idempotent
    /// # Ok(())
    /// # }
    /// ```
    pub async fn migrate(&self) -> Result<(), SqlStoreError> {
        let [create_table, create_index] = &self.inner.statements.schema;
        let (create_table, create_index) = (create_table.as_str(), create_index.as_str());
        match &self.inner.pool {
            #[cfg(feature = "postgres")]
            SqlPool::Postgres(pool) => {
                let lock = format!("session-sql migrate {}", self.inner.table);
                self.run(async move {
                    let mut transaction = pool.begin().await?;
                    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                        .bind(lock)
                        .execute(&mut *transaction)
                        .await?;
                    sqlx::query(create_table).execute(&mut *transaction).await?;
                    sqlx::query(create_index).execute(&mut *transaction).await?;
                    transaction.commit().await
                })
                .await
            }
            #[cfg(feature = "sqlite")]
            SqlPool::Sqlite(pool) => {
                self.run_write(async move {
                    sqlx::query(create_table).execute(pool).await?;
                    sqlx::query(create_index).execute(pool).await?;
                    Ok(())
                })
                .await
            }
        }
    }

    /// Deletes the expired rows, in statements of at most
    /// [`sweep_batch_size`](SqlSessionStoreBuilder::sweep_batch_size) rows each (each its own
    /// short transaction), until none is left; returns how many it deleted. Reads never
    /// return expired rows anyway: sweeping only keeps the table small.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use session_sql::SqlSessionStore;
    /// # async fn run(store: SqlSessionStore) -> Result<(), session_sql::SqlStoreError> {
    /// let deleted = store.sweep_expired().await?;
    /// println!("{deleted} expired sessions deleted");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SqlStoreError`] when a statement fails; batches deleted before it stay deleted.
    pub async fn sweep_expired(&self) -> Result<u64, SqlStoreError> {
        let batch = self.inner.sweep_batch_size;
        let sql = self.inner.statements.sweep.as_str();
        let mut total = 0;
        loop {
            let deleted = match &self.inner.pool {
                #[cfg(feature = "postgres")]
                SqlPool::Postgres(pool) => {
                    self.run(async {
                        let done = sqlx::query(sql)
                            .bind(i64::from(batch))
                            .execute(pool)
                            .await?;
                        Ok(done.rows_affected())
                    })
                    .await?
                }
                #[cfg(feature = "sqlite")]
                SqlPool::Sqlite(pool) => {
                    self.run_write(async {
                        let done = sqlx::query(sql)
                            .bind(now_ms())
                            .bind(i64::from(batch))
                            .execute(pool)
                            .await?;
                        Ok(done.rows_affected())
                    })
                    .await?
                }
            };
            total += deleted;
            if deleted < u64::from(batch) {
                return Ok(total);
            }
            // Let requests waiting for a connection or a lock go first.
            tokio::task::yield_now().await;
        }
    }

    /// Runs [`sweep_expired`](Self::sweep_expired) every `period` on the Tokio runtime this is
    /// called from (the first time one `period` from now), logging failures, until the
    /// returned handle is [aborted](tokio::task::JoinHandle::abort). Dropping the handle
    /// leaves the sweeper running for the life of the runtime. Several app instances may
    /// each run one: on PostgreSQL they skip the rows another is deleting.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// # use session_sql::SqlSessionStore;
    /// # async fn run(store: SqlSessionStore) {
    /// let sweeper = store.spawn_sweeper(Duration::from_secs(300));
    /// // … on shutdown:
    /// sweeper.abort();
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime (such as actix-web's), or when `period` is zero.
    pub fn spawn_sweeper(&self, period: Duration) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::spawn(async move {
            loop {
                ticks.tick().await;
                match store.sweep_expired().await {
                    Ok(deleted) => tracing::debug!(deleted, "expired sessions swept"),
                    Err(error) => tracing::warn!(%error, "sweeping expired sessions failed"),
                }
            }
        })
    }

    /// Runs one operation within the store's own bound, classifying its error.
    async fn run<T>(
        &self,
        operation: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, SqlStoreError> {
        let (acquire, statement) = (self.inner.acquire_timeout, self.inner.statement_timeout);
        let limit = acquire + statement;
        match tokio::time::timeout(limit, operation).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(SqlStoreError::from_sqlx(error, acquire, statement)),
            Err(_) => Err(SqlStoreError::Timeout { after: limit }),
        }
    }

    /// Runs an SQLite write within the same bound, after this process's earlier writes.
    /// SQLite lets one connection write at a time; its busy handler makes the others poll
    /// with growing sleeps, so under a steady stream of writes an unlucky one can lose every
    /// round until its busy timeout ends. Queued here, in order (a fair mutex), a process's
    /// writes take turns instead; the busy timeout is then only for other processes' writes.
    #[cfg(feature = "sqlite")]
    async fn run_write<T>(
        &self,
        operation: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, SqlStoreError> {
        self.run(async {
            let _turn = self.inner.sqlite_writes.lock().await;
            operation.await
        })
        .await
    }

    /// Runs a write statement with `texts`, then the expiry, bound (and on SQLite, when
    /// `live_only`, the time now, for its `expires_at > ?` condition); tells whether it
    /// changed a row.
    async fn changed(
        &self,
        sql: &str,
        texts: &[&str],
        ttl: Duration,
        live_only: bool,
    ) -> Result<bool, SqlStoreError> {
        let ttl_ms = ttl_ms(ttl);
        match &self.inner.pool {
            #[cfg(feature = "postgres")]
            SqlPool::Postgres(pool) => {
                let _ = live_only; // `now()` is in the statement.
                self.run(async {
                    let mut query = sqlx::query(sql);
                    for text in texts {
                        query = query.bind(*text);
                    }
                    let done = query.bind(ttl_ms).execute(pool).await?;
                    Ok(done.rows_affected() > 0)
                })
                .await
            }
            #[cfg(feature = "sqlite")]
            SqlPool::Sqlite(pool) => {
                self.run_write(async {
                    let now = now_ms();
                    let mut query = sqlx::query(sql);
                    for text in texts {
                        query = query.bind(*text);
                    }
                    query = query.bind(now.saturating_add(ttl_ms));
                    if live_only {
                        query = query.bind(now);
                    }
                    let done = query.execute(pool).await?;
                    Ok(done.rows_affected() > 0)
                })
                .await
            }
        }
    }

    async fn load_row(&self, id: &SessionId) -> Result<Option<(String, i64)>, SqlStoreError> {
        let sql = self.inner.statements.load.as_str();
        match &self.inner.pool {
            #[cfg(feature = "postgres")]
            SqlPool::Postgres(pool) => {
                self.run(sqlx::query_as(sql).bind(id.as_str()).fetch_optional(pool))
                    .await
            }
            #[cfg(feature = "sqlite")]
            SqlPool::Sqlite(pool) => {
                self.run(
                    sqlx::query_as(sql)
                        .bind(id.as_str())
                        .bind(now_ms())
                        .fetch_optional(pool),
                )
                .await
            }
        }
    }
}

/// A time to live in milliseconds: at least 1, at most 100 years.
fn ttl_ms(ttl: Duration) -> i64 {
    let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
    i64::try_from(ms.clamp(1, MAX_TTL_MS)).unwrap_or(i64::MAX)
}

/// Now, in milliseconds since the Unix epoch (SQLite's clock).
#[cfg(feature = "sqlite")]
fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// An expiry read back, in milliseconds since the Unix epoch.
fn expiry(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

impl SessionStore for SqlSessionStore {
    /// Every ability: a conditional `UPDATE` for compare-and-swap, an `UPDATE` of the expiry
    /// alone for touch, and the expiry read with the data.
    fn capabilities(&self) -> StoreCapabilities {
        StoreCapabilities::ALL
    }

    async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        Ok(self.load_row(id).await?.map(|(text, _)| text))
    }

    async fn load_entry(&self, id: &SessionId) -> Result<Option<StoredEntry>, StoreError> {
        let row = self.load_row(id).await?;
        Ok(row.map(|(text, expires_at)| StoredEntry::new(text, Some(expiry(expires_at)))))
    }

    async fn save(&self, id: &SessionId, text: &str, ttl: Duration) -> Result<(), StoreError> {
        let sql = self.inner.statements.save.as_str();
        let _ = self.changed(sql, &[id.as_str(), text], ttl, false).await?;
        Ok(())
    }

    async fn replace(&self, id: &SessionId, text: &str, ttl: Duration) -> Result<bool, StoreError> {
        let sql = self.inner.statements.replace.as_str();
        Ok(self.changed(sql, &[id.as_str(), text], ttl, true).await?)
    }

    async fn compare_and_swap(
        &self,
        id: &SessionId,
        expected: &str,
        new: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let sql = self.inner.statements.compare_and_swap.as_str();
        Ok(self
            .changed(sql, &[id.as_str(), expected, new], ttl, true)
            .await?)
    }

    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        let sql = self.inner.statements.delete.as_str();
        match &self.inner.pool {
            #[cfg(feature = "postgres")]
            SqlPool::Postgres(pool) => {
                self.run(sqlx::query(sql).bind(id.as_str()).execute(pool))
                    .await?;
            }
            #[cfg(feature = "sqlite")]
            SqlPool::Sqlite(pool) => {
                self.run_write(sqlx::query(sql).bind(id.as_str()).execute(pool))
                    .await?;
            }
        }
        Ok(())
    }

    async fn touch(&self, id: &SessionId, ttl: Duration) -> Result<bool, StoreError> {
        let sql = self.inner.statements.touch.as_str();
        Ok(self.changed(sql, &[id.as_str()], ttl, true).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_to_live_are_clamped_to_what_the_database_takes() {
        assert_eq!(ttl_ms(Duration::ZERO), 1);
        assert_eq!(ttl_ms(Duration::from_micros(10)), 1);
        assert_eq!(ttl_ms(Duration::from_secs(60)), 60_000);
        assert_eq!(ttl_ms(Duration::MAX), MAX_TTL_MS as i64);
    }

    #[test]
    fn expiries_before_the_epoch_read_as_the_epoch() {
        assert_eq!(expiry(-5), UNIX_EPOCH);
        assert_eq!(expiry(1_500), UNIX_EPOCH + Duration::from_millis(1_500));
    }
}
