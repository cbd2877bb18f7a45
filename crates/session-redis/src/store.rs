//! [`RedisSessionStore`]: sessions in Redis, one round trip per operation, native expiry.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use redis::FromRedisValue;
use session_core::{SessionId, SessionStore, StoreCapabilities, StoreError, StoredEntry};

use crate::connection::{Connection, Request, Retry};
use crate::{RedisSessionStoreBuilder, RedisStoreError, command, value};

/// Sessions in Redis, shared by every instance of the application, with native expiry.
///
/// Each session is a Redis string under the key `<prefix><session ID>` (the prefix is
/// `"session:"` unless [configured](RedisSessionStoreBuilder::key_prefix)), written with a
/// time to live so that Redis removes it by itself. Each operation is one round trip:
///
/// | Operation | Command |
/// |---|---|
/// | [`load`](SessionStore::load), [`load_entry`](SessionStore::load_entry) | `GET key` |
/// | [`save`](SessionStore::save) | `SET key "@<expiry> text" PX ttl` |
/// | [`replace`](SessionStore::replace) | `SET key "@<expiry> text" PX ttl XX`: only over a live key |
/// | [`compare_and_swap`](SessionStore::compare_and_swap) | `EVAL` of a script: `GET`, compare the text, `SET … PX` |
/// | [`delete`](SessionStore::delete) | `DEL key` |
/// | [`touch`](SessionStore::touch) | `EVAL` of a script: `GET`, `SET "@<new expiry> text" PX ttl` |
///
/// The expiry in the value (milliseconds since the Unix epoch) is the key's own deadline:
/// [`load_entry`](SessionStore::load_entry) reports it from the one `GET`
/// (the crate docs of `session-redis`, *Keys and commands*).
///
/// Times to live are sent in milliseconds: below 1 ms they count as 1 ms (Redis refuses 0),
/// above 100 years as 100 years.
///
/// # Connections
///
/// The store keeps one multiplexed connection per thread and Tokio runtime that uses it,
/// shared by all its clones on that thread, each reconnecting by itself. The connection made
/// by [`build`](RedisSessionStoreBuilder::build) checks the server at startup and serves the
/// thread that built the store; any other thread (an actix-web worker) opens its own on its
/// first operation, within that operation's time limit, so that its commands are sent and
/// answered on the worker's own thread. An actix-web application thus has one connection per
/// worker and store, plus the idle startup one per store. See the crate documentation of
/// `session-redis` (*Connection and failures*) for the details and for how failures behave.
///
/// `Debug` shows the key prefix and time limits, never the URL.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// // From your adapter: `session_actix::` or `session_axum::` (feature `redis`).
/// # use session_core::{SessionId, SessionStore};
/// # use session_redis::RedisSessionStore;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisSessionStore::new("redis://127.0.0.1:6379").await?;
/// let id = SessionId::generate();
/// store.save(&id, r#"{"cart":[1]}"#, Duration::from_secs(3600)).await?;
/// assert_eq!(store.load(&id).await?.as_deref(), Some(r#"{"cart":[1]}"#));
/// assert!(store.touch(&id, Duration::from_secs(7200)).await?);
/// assert!(store.replace(&id, r#"{"cart":[1,2]}"#, Duration::from_secs(3600)).await?);
/// store.delete(&id).await?;
/// assert_eq!(store.load(&id).await?, None);
/// assert!(!store.touch(&id, Duration::from_secs(60)).await?);
/// // A logout stays a logout: `replace` writes only over a live entry.
/// assert!(!store.replace(&id, r#"{"cart":[1,2,3]}"#, Duration::from_secs(3600)).await?);
/// assert_eq!(store.load(&id).await?, None);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisSessionStore {
    inner: Arc<Inner>,
}

struct Inner {
    connection: Connection,
    key_prefix: Box<str>,
    connect_timeout: Duration,
    response_timeout: Duration,
}

impl RedisSessionStore {
    /// The key prefix unless [configured](RedisSessionStoreBuilder::key_prefix).
    pub const DEFAULT_KEY_PREFIX: &'static str = "session:";
    /// The connect timeout unless [configured](RedisSessionStoreBuilder::connect_timeout).
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
    /// The response timeout unless [configured](RedisSessionStoreBuilder::response_timeout).
    pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);

    /// Connects to the Redis server at `url` with the default options.
    ///
    /// The URL has the form `redis://[[user]:password@]host[:port][/db]`, or `rediss://…` for
    /// TLS (feature `tls-rustls`). Same as `RedisSessionStore::builder(url).build().await`.
    ///
    /// # Errors
    ///
    /// As [`RedisSessionStoreBuilder::build`].
    pub async fn new(url: impl Into<String>) -> Result<Self, RedisStoreError> {
        Self::builder(url).build().await
    }

    /// A builder for a store on the Redis server at `url`, to set the key prefix and time
    /// limits before connecting.
    pub fn builder(url: impl Into<String>) -> RedisSessionStoreBuilder {
        RedisSessionStoreBuilder::new(url.into())
    }

    /// A builder for a store on a Redis Cluster, given the URLs of one or more of its nodes
    /// (the others are discovered).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // From your adapter: `session_actix::` or `session_axum::` (feature `redis`).
    /// # use session_redis::RedisSessionStore;
    ///
    /// # async fn run() -> Result<(), session_redis::RedisStoreError> {
    /// let store = RedisSessionStore::cluster_builder([
    ///     "redis://10.0.0.1:7000",
    ///     "redis://10.0.0.2:7000",
    /// ])
    /// .key_prefix("shop:session:")
    /// .build()
    /// .await?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "cluster")]
    #[cfg_attr(docsrs, doc(cfg(feature = "cluster")))]
    pub fn cluster_builder<I>(nodes: I) -> RedisSessionStoreBuilder
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        RedisSessionStoreBuilder::cluster(nodes.into_iter().map(Into::into).collect())
    }

    pub(crate) fn from_parts(
        connection: Connection,
        key_prefix: String,
        connect_timeout: Duration,
        response_timeout: Duration,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                connection,
                key_prefix: key_prefix.into(),
                connect_timeout,
                response_timeout,
            }),
        }
    }

    /// The text put before each session ID to make its Redis key.
    pub fn key_prefix(&self) -> &str {
        &self.inner.key_prefix
    }

    /// The Redis key of a session. IDs are validated by [`SessionId`] (URL-safe base64 of a
    /// fixed length), so they need no escaping.
    fn key(&self, id: &SessionId) -> String {
        let mut key = String::with_capacity(self.inner.key_prefix.len() + SessionId::LEN);
        key.push_str(&self.inner.key_prefix);
        key.push_str(id.as_str());
        key
    }

    async fn query<'a, T: FromRedisValue>(
        &self,
        request: impl Into<Request<'a>>,
        retry: Retry,
    ) -> Result<T, RedisStoreError> {
        self.inner
            .connection
            .query(request.into(), retry, self.inner.response_timeout)
            .await
    }
}

impl SessionStore for RedisSessionStore {
    /// Every ability: compare-and-swap and touch are Lua scripts; values carry their expiry.
    fn capabilities(&self) -> StoreCapabilities {
        StoreCapabilities::ALL
    }

    async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        Ok(self.load_entry(id).await?.map(|entry| entry.text))
    }

    async fn load_entry(&self, id: &SessionId) -> Result<Option<StoredEntry>, StoreError> {
        let stored: Option<String> = self
            .query(&command::get(&self.key(id)), Retry::Once)
            .await?;
        Ok(stored.map(|stored| {
            let (text, expires_at) = value::decode(stored);
            StoredEntry::new(text, expires_at)
        }))
    }

    async fn save(&self, id: &SessionId, text: &str, ttl: Duration) -> Result<(), StoreError> {
        let cmd = command::set(&self.key(id), text, ttl, SystemTime::now());
        Ok(self.query(&cmd, Retry::Once).await?)
    }

    async fn replace(&self, id: &SessionId, text: &str, ttl: Duration) -> Result<bool, StoreError> {
        let cmd = command::replace(&self.key(id), text, ttl, SystemTime::now());
        // `OK` when written, nil when there was no live key. Safe to send twice (see
        // `command::replace`).
        let written: Option<redis::Value> = self.query(&cmd, Retry::Once).await?;
        Ok(written.is_some())
    }

    async fn compare_and_swap(
        &self,
        id: &SessionId,
        expected: &str,
        new: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let cmd = command::compare_and_swap(&self.key(id), expected, new, ttl, SystemTime::now());
        Ok(self.query(&cmd, Retry::Never).await?)
    }

    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        Ok(self
            .query(&command::del(&self.key(id)), Retry::Once)
            .await?)
    }

    async fn touch(&self, id: &SessionId, ttl: Duration) -> Result<bool, StoreError> {
        let cmd = command::touch(&self.key(id), ttl, SystemTime::now());
        // Safe to send twice: a second run sets the same text, time to live and expiry again
        // (from a moment later), and never creates a key.
        Ok(self.query(&cmd, Retry::Once).await?)
    }
}

impl fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSessionStore")
            .field("connection", &self.inner.connection.kind())
            .field("key_prefix", &self.inner.key_prefix)
            .field("connect_timeout", &self.inner.connect_timeout)
            .field("response_timeout", &self.inner.response_timeout)
            .finish()
    }
}
