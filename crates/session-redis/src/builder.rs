//! The builder of [`RedisSessionStore`]: where Redis is, the key prefix, and the time limits.

use std::fmt;
#[cfg(feature = "cluster")]
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::io::tcp::TcpSettings;
use redis::io::tcp::socket2::TcpKeepalive;
use redis::{ErrorKind, IntoConnectionInfo as _, ProtocolVersion, RedisError};

#[cfg(feature = "cluster")]
use crate::cluster::{ClusterLink, ClusterOpener};
use crate::connection::{Connection, Link, Opener};
use crate::{RedisSessionStore, RedisStoreError};

/// Where the store connects to.
enum Target {
    /// A server URL (may hold a password: never printed).
    Url(String),
    /// The URLs of some Redis Cluster nodes (the rest are discovered).
    #[cfg(feature = "cluster")]
    Cluster(Vec<String>),
}

/// Configures and connects a [`RedisSessionStore`]; made by [`RedisSessionStore::builder`].
///
/// | Option | Default |
/// |---|---|
/// | [`key_prefix`](Self::key_prefix) | `"session:"` |
/// | [`connect_timeout`](Self::connect_timeout) | 2 s |
/// | [`response_timeout`](Self::response_timeout) | 1 s |
/// | `tls_root_certificates` (feature `tls-rustls`) | the system's (or Mozilla's) roots |
///
/// `Debug` does not show the URL, which may hold a password.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// // From your adapter: `session_actix::` or `session_axum::` (feature `redis`).
/// # use session_redis::RedisSessionStore;
///
/// # async fn run() -> Result<(), session_redis::RedisStoreError> {
/// let store = RedisSessionStore::builder("redis://127.0.0.1:6379/0")
///     .key_prefix("shop:session:")
///     .connect_timeout(Duration::from_secs(1))
///     .response_timeout(Duration::from_millis(500))
///     .build()
///     .await?;
/// assert_eq!(store.key_prefix(), "shop:session:");
/// # Ok(())
/// # }
/// ```
#[must_use]
pub struct RedisSessionStoreBuilder {
    target: Target,
    key_prefix: String,
    connect_timeout: Duration,
    response_timeout: Duration,
    #[cfg(feature = "tls-rustls")]
    tls_root_certificates: Option<Vec<u8>>,
}

impl RedisSessionStoreBuilder {
    pub(crate) fn new(url: String) -> Self {
        Self::with_target(Target::Url(url))
    }

    #[cfg(feature = "cluster")]
    pub(crate) fn cluster(nodes: Vec<String>) -> Self {
        Self::with_target(Target::Cluster(nodes))
    }

    fn with_target(target: Target) -> Self {
        Self {
            target,
            key_prefix: RedisSessionStore::DEFAULT_KEY_PREFIX.to_owned(),
            connect_timeout: RedisSessionStore::DEFAULT_CONNECT_TIMEOUT,
            response_timeout: RedisSessionStore::DEFAULT_RESPONSE_TIMEOUT,
            #[cfg(feature = "tls-rustls")]
            tls_root_certificates: None,
        }
    }

    /// The text put before every session ID to make its Redis key, `"session:"` by default.
    ///
    /// Give each application (or each kind of session) its own prefix when they share a Redis
    /// database, so their sessions stay apart. The prefix is used as is: it may be empty, and
    /// any separator is part of it.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// How long one attempt to connect (TCP, TLS and the handshake) may take, 2 s by default.
    ///
    /// It bounds [`build`](Self::build), every reconnection made in the background, and the
    /// first connection of each thread (which, made by an operation, the
    /// [response timeout](Self::response_timeout) bounds as well).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a storage operation may take in all, 1 s by default: sending the command,
    /// waiting for a reconnection if the connection was lost, and reading the reply.
    ///
    /// When Redis is down or hung, every operation fails within this time with
    /// [`RedisStoreError::Timeout`] or [`RedisStoreError::Unavailable`], so requests are
    /// answered promptly instead of piling up.
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// Trusts the certificate authorities in `pem` (one or more PEM certificates) to verify
    /// the server of a `rediss://` URL, instead of the system's (or Mozilla's) roots: for a
    /// Redis whose certificate comes from a private CA.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // From your adapter: `session_actix::` or `session_axum::` (feature `redis`).
    /// # use session_redis::RedisSessionStore;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let ca = std::fs::read("/etc/redis/tls/ca.crt")?;
    /// let store = RedisSessionStore::builder("rediss://redis.internal:6380")
    ///     .tls_root_certificates(ca)
    ///     .build()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "tls-rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls-rustls")))]
    pub fn tls_root_certificates(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls_root_certificates = Some(pem.into());
        self
    }

    /// Connects to Redis and returns the store.
    ///
    /// This first connection checks, at startup, that Redis is reachable and accepts the
    /// credentials, then serves the calling thread; every other thread that uses the store
    /// opens its own on first use (see [connections](RedisSessionStore#connections)).
    ///
    /// Must be called inside a Tokio runtime (such as actix-web's): the connection runs as a
    /// task on it.
    ///
    /// # Errors
    ///
    /// - [`RedisStoreError::InvalidConfig`] when a time limit is zero, or when called outside
    ///   a Tokio runtime.
    /// - [`RedisStoreError::InvalidUrl`] when the URL does not parse, or needs a feature this
    ///   build lacks (`rediss://` needs `tls-rustls`).
    /// - `RedisStoreError::InvalidTls` (feature `tls-rustls`) when the root certificates do
    ///   not parse, or are given with a URL that is not `rediss://`.
    /// - [`RedisStoreError::Connect`] when Redis cannot be reached or refuses the credentials,
    ///   and [`RedisStoreError::Timeout`] when it does not answer within the connect timeout.
    pub async fn build(self) -> Result<RedisSessionStore, RedisStoreError> {
        if self.connect_timeout.is_zero() {
            return Err(RedisStoreError::InvalidConfig {
                reason: "the connect timeout must be above zero",
            });
        }
        if self.response_timeout.is_zero() {
            return Err(RedisStoreError::InvalidConfig {
                reason: "the response timeout must be above zero",
            });
        }
        // Checked here rather than left to the redis crate, which panics without a runtime.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Err(RedisStoreError::InvalidConfig {
                reason: "the store must be built inside a Tokio runtime",
            });
        };
        let (opener, first) = match &self.target {
            Target::Url(url) => {
                let (client, manager) = self.connect_single(url).await?;
                let config = self.manager_config();
                (Opener::Single { client, config }, Link::Single(manager))
            }
            #[cfg(feature = "cluster")]
            Target::Cluster(nodes) => {
                let (opener, link) = self.connect_cluster(nodes).await?;
                (Opener::Cluster(opener), Link::Cluster(link))
            }
        };
        Ok(RedisSessionStore::from_parts(
            Connection::new(opener, first, &runtime),
            self.key_prefix,
            self.connect_timeout,
            self.response_timeout,
        ))
    }

    /// Connects to one server; returns the connection and the client that made it (the one
    /// with the protocol the server speaks), from which each thread opens its own.
    async fn connect_single(
        &self,
        url: &str,
    ) -> Result<(redis::Client, ConnectionManager), RedisStoreError> {
        #[cfg(feature = "tls-rustls")]
        crate::tls::prepare(url);
        if names_protocol(url) {
            return self.connect_manager(self.client(url, None)?).await;
        }
        // RESP3 unless the URL says otherwise: over RESP3 the connection manager learns of a
        // dropped connection at once and replaces it in the background, so the next command
        // finds a live one (over RESP2 that command meets the dead connection first).
        let resp3 = self.client(url, Some(ProtocolVersion::RESP3))?;
        match self.connect_manager(resp3).await {
            Err(RedisStoreError::Connect(error)) if lacks_resp3(&error) => {
                tracing::info!("Redis does not support RESP3 (no HELLO command); using RESP2");
                self.connect_manager(self.client(url, None)?).await
            }
            result => result,
        }
    }

    /// The settings of every connection manager of the store: the time limits, no retries.
    fn manager_config(&self) -> ConnectionManagerConfig {
        crate::connection::manager_config(self.connect_timeout)
    }

    async fn connect_manager(
        &self,
        client: redis::Client,
    ) -> Result<(redis::Client, ConnectionManager), RedisStoreError> {
        let connect = ConnectionManager::new_with_config(client.clone(), self.manager_config());
        Ok((client, self.first_connection(connect).await?))
    }

    fn client(
        &self,
        url: &str,
        protocol: Option<ProtocolVersion>,
    ) -> Result<redis::Client, RedisStoreError> {
        let mut info = url
            .into_connection_info()
            .map_err(RedisStoreError::InvalidUrl)?
            .set_tcp_settings(tcp_settings());
        if let Some(protocol) = protocol {
            let settings = info.redis_settings().clone().set_protocol(protocol);
            info = info.set_redis_settings(settings);
        }
        #[cfg(feature = "tls-rustls")]
        if let Some(pem) = &self.tls_root_certificates {
            return redis::Client::build_with_tls(info, crate::tls::certificates(pem))
                .map_err(RedisStoreError::InvalidTls);
        }
        redis::Client::open(info).map_err(RedisStoreError::InvalidUrl)
    }

    /// Connects to a cluster; returns the first thread's link and what opens the others.
    #[cfg(feature = "cluster")]
    async fn connect_cluster(
        &self,
        nodes: &[String],
    ) -> Result<(Arc<ClusterOpener>, ClusterLink), RedisStoreError> {
        for url in nodes {
            url.as_str()
                .into_connection_info()
                .map_err(RedisStoreError::InvalidUrl)?;
            #[cfg(feature = "tls-rustls")]
            crate::tls::prepare(url);
        }
        let config = redis::cluster::ClusterConfig::new()
            .set_connection_timeout(self.connect_timeout)
            .set_response_timeout(self.response_timeout);
        let builder = || {
            redis::cluster::ClusterClient::builder(nodes.iter().map(String::as_str))
                .connection_timeout(self.connect_timeout)
                // Per attempt and, by default, for the whole request with its retries and
                // redirections.
                .response_timeout(self.response_timeout)
                .tcp_settings(tcp_settings())
        };
        let opener = ClusterOpener::new(
            builder,
            |builder| self.build_cluster_client(builder),
            config,
        )?;
        let first = opener.retrying_client().get_async_connection();
        let connection = self.first_connection(first).await?;
        Ok((Arc::clone(&opener), opener.link(connection)))
    }

    /// Builds a cluster client, with the root certificates if any.
    #[cfg(feature = "cluster")]
    fn build_cluster_client(
        &self,
        builder: redis::cluster::ClusterClientBuilder,
    ) -> Result<redis::cluster::ClusterClient, RedisStoreError> {
        #[cfg(feature = "tls-rustls")]
        if let Some(pem) = &self.tls_root_certificates {
            return builder
                .certs(crate::tls::certificates(pem))
                .build()
                .map_err(RedisStoreError::InvalidTls);
        }
        // The URLs parsed: what is left to refuse is their combination (mixed credentials).
        builder.build().map_err(RedisStoreError::InvalidUrl)
    }

    /// Awaits the first connection, bounded even if the client's own limits are not.
    async fn first_connection<C>(
        &self,
        connect: impl Future<Output = redis::RedisResult<C>>,
    ) -> Result<C, RedisStoreError> {
        let limit = self.connect_timeout.saturating_add(self.response_timeout);
        match tokio::time::timeout(limit, connect).await {
            Ok(result) => {
                result.map_err(|error| RedisStoreError::from_connect(error, self.connect_timeout))
            }
            Err(_elapsed) => Err(RedisStoreError::Timeout { after: limit }),
        }
    }
}

/// True when the URL's query names a protocol (`?protocol=resp2`): then it is used as is.
fn names_protocol(url: &str) -> bool {
    url.split_once('?').is_some_and(|(_, query)| {
        let query = query.split('#').next().unwrap_or_default();
        query
            .split('&')
            .any(|pair| pair.split('=').next() == Some("protocol"))
    })
}

/// True when the server refused RESP3 because it has no `HELLO` command (Redis before 6, or
/// a proxy without it).
fn lacks_resp3(error: &RedisError) -> bool {
    error.kind() == ErrorKind::RESP3NotSupported
        || error.detail().is_some_and(|detail| {
            let detail = detail.to_ascii_lowercase();
            detail.contains("unknown command") && detail.contains("hello")
        })
}

/// How long a connection may be silent before keepalive probes start.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);
/// How long sent data may stay unacknowledged before the kernel closes the connection
/// (Linux `TCP_USER_TIMEOUT`; also bounds the keepalive probing).
#[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
const UNACKNOWLEDGED_LIMIT: Duration = Duration::from_secs(10);

/// The TCP options of every connection to Redis.
///
/// - No Nagle delay: commands are small, and pipelined ones must not wait for an ACK.
/// - Keepalive probes, so a connection that died while idle (a NAT or firewall dropped it, a
///   failed-over host vanished) is found and replaced.
/// - On Linux, a limit on unacknowledged data: a connection that dies under traffic, with its
///   packets silently dropped, fails and is replaced after 10 s. Without it the response
///   timeout fails each request, but the dead connection is never replaced until the kernel
///   gives up on its retransmissions, about 15 minutes later, because the redis crate only
///   reconnects on connection errors, not on timeouts.
fn tcp_settings() -> TcpSettings {
    let keepalive = TcpKeepalive::new().with_time(KEEPALIVE_IDLE);
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "macos"))]
    let keepalive = keepalive
        .with_interval(Duration::from_secs(10))
        .with_retries(3);
    let settings = TcpSettings::default()
        .set_nodelay(true)
        .set_keepalive(keepalive);
    #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
    let settings = settings.set_user_timeout(UNACKNOWLEDGED_LIMIT);
    settings
}

impl fmt::Debug for RedisSessionStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("RedisSessionStoreBuilder");
        match &self.target {
            Target::Url(_) => debug.field("url", &"<redacted>"),
            #[cfg(feature = "cluster")]
            Target::Cluster(nodes) => debug.field("cluster_nodes", &nodes.len()),
        };
        debug
            .field("key_prefix", &self.key_prefix)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout);
        #[cfg(feature = "tls-rustls")]
        debug.field(
            "tls_root_certificates",
            &self.tls_root_certificates.as_ref().map(|_| "<set>"),
        );
        debug.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_use_nodelay_keepalive_and_a_limit_on_unacknowledged_data() {
        let settings = tcp_settings();
        assert!(settings.nodelay());
        assert!(settings.keepalive().is_some());
        #[cfg(target_os = "linux")]
        assert_eq!(settings.user_timeout(), Some(UNACKNOWLEDGED_LIMIT));
    }

    #[test]
    fn an_explicit_protocol_in_the_url_is_kept() {
        assert!(names_protocol("redis://h/?protocol=resp2"));
        assert!(names_protocol("redis://h:1/0?db=1&protocol=3"));
        assert!(!names_protocol("redis://h:1/0"));
        assert!(!names_protocol("redis://h/?db=1"));
        assert!(!names_protocol("rediss://h/#insecure"));
    }

    #[test]
    fn a_server_without_hello_lacks_resp3() {
        let old = RedisError::from((ErrorKind::RESP3NotSupported, "no HELLO"));
        assert!(lacks_resp3(&old));
        let wrong_password = RedisError::from((
            ErrorKind::AuthenticationFailed,
            "Password authentication failed",
        ));
        assert!(!lacks_resp3(&wrong_password));
    }

    #[test]
    fn debug_does_not_show_the_url() {
        let builder = RedisSessionStore::builder("redis://user:hunter2@db.internal:6380/3")
            .key_prefix("app:");
        let debug = format!("{builder:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(!debug.contains("db.internal"), "{debug}");
        assert!(debug.contains("\"app:\""), "{debug}");
    }

    #[actix_rt::test]
    async fn zero_timeouts_are_rejected() {
        let error = RedisSessionStore::builder("redis://127.0.0.1:1")
            .response_timeout(Duration::ZERO)
            .build()
            .await
            .unwrap_err();
        assert!(matches!(error, RedisStoreError::InvalidConfig { .. }));
        let error = RedisSessionStore::builder("redis://127.0.0.1:1")
            .connect_timeout(Duration::ZERO)
            .build()
            .await
            .unwrap_err();
        assert!(matches!(error, RedisStoreError::InvalidConfig { .. }));
    }

    #[actix_rt::test]
    async fn invalid_urls_are_reported_without_the_url() {
        for url in [
            "not a url",
            "http://user:hunter2@example.com",
            "redis://user:hunter2@/",
        ] {
            let error = RedisSessionStore::new(url).await.unwrap_err();
            assert!(
                matches!(error, RedisStoreError::InvalidUrl(_)),
                "{url}: {error:?}"
            );
            let chain = error_chain(&error);
            assert!(!chain.contains("hunter2"), "{chain}");
        }
    }

    #[cfg(not(feature = "tls-rustls"))]
    #[actix_rt::test]
    async fn tls_urls_need_the_feature() {
        let error = RedisSessionStore::new("rediss://127.0.0.1:1")
            .await
            .unwrap_err();
        assert!(matches!(error, RedisStoreError::InvalidUrl(_)), "{error:?}");
    }

    #[actix_rt::test]
    async fn unreachable_redis_fails_to_build() {
        // Port 1 on loopback: nothing listens there, the connection is refused at once.
        let error = RedisSessionStore::builder("redis://:hunter2@127.0.0.1:1")
            .build()
            .await
            .unwrap_err();
        assert!(matches!(error, RedisStoreError::Connect(_)), "{error:?}");
        assert!(!error_chain(&error).contains("hunter2"));
    }

    fn error_chain(error: &dyn std::error::Error) -> String {
        let mut text = format!("{error} / {error:?}");
        let mut source = error.source();
        while let Some(cause) = source {
            text.push_str(&format!(" / {cause} / {cause:?}"));
            source = cause.source();
        }
        text
    }
}
