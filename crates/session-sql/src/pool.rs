//! [`SqlPool`]: the connection pool a store runs on, PostgreSQL or SQLite.

use std::fmt;

/// The sqlx connection pool of a [`SqlSessionStore`](crate::SqlSessionStore): PostgreSQL or
/// SQLite, whichever crate features are on.
///
/// Made from a `PgPool` or `SqlitePool` of the application's own with `.into()`, to share
/// its connections (see [`SqlSessionStore::with_pool`](crate::SqlSessionStore::with_pool)),
/// or by the store from a URL. `Debug` shows the backend and the pool's size, never the
/// connection options (which hold the password).
///
/// # Examples
///
/// ```no_run
/// // From your adapter: `session_actix::` or `session_axum::` (feature `postgres`).
/// # use session_sql::{SqlPool, SqlSessionStore};
/// use sqlx::PgPool; // the app's own sqlx 0.8
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = PgPool::connect("postgres://app@db.internal/app").await?;
/// let store = SqlSessionStore::with_pool(pool.clone()).build().await?;
/// assert!(matches!(store.pool(), SqlPool::Postgres(_)));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub enum SqlPool {
    /// A PostgreSQL pool (feature `postgres`).
    #[cfg(feature = "postgres")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    Postgres(sqlx::PgPool),
    /// An SQLite pool (feature `sqlite`).
    #[cfg(feature = "sqlite")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    Sqlite(sqlx::SqlitePool),
}

impl SqlPool {
    /// `"postgres"` or `"sqlite"`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use session_sql::SqlPool;
    /// # fn show(pool: &SqlPool) {
    /// println!("sessions in {}", pool.backend());
    /// # }
    /// ```
    pub fn backend(&self) -> &'static str {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres(_) => "postgres",
            #[cfg(feature = "sqlite")]
            Self::Sqlite(_) => "sqlite",
        }
    }

    /// Connections open now, idle or in use.
    fn size(&self) -> u32 {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres(pool) => pool.size(),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(pool) => pool.size(),
        }
    }
}

impl fmt::Debug for SqlPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlPool")
            .field("backend", &self.backend())
            .field("size", &self.size())
            .finish()
    }
}

#[cfg(feature = "postgres")]
impl From<sqlx::PgPool> for SqlPool {
    fn from(pool: sqlx::PgPool) -> Self {
        Self::Postgres(pool)
    }
}

#[cfg(feature = "sqlite")]
impl From<sqlx::SqlitePool> for SqlPool {
    fn from(pool: sqlx::SqlitePool) -> Self {
        Self::Sqlite(pool)
    }
}
