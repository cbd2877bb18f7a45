//! The connections of a store, and how every command is sent: on the connection of the
//! calling thread and runtime (see [`crate::local`]), under a deadline, and sent a second time
//! when the connection had dropped and the command is idempotent.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, FromRedisValue, Pipeline, RedisResult};
use tokio::runtime::Handle;

use crate::{RedisStoreError, local};

/// The connections of one store, shared by all its clones: how to open one, and an identity
/// for the per-thread caches (see [`crate::local`]).
pub(crate) struct Connection {
    shared: Arc<Shared>,
}

/// What the per-thread caches know of a store: its identity, and how to open a connection.
///
/// The caches hold it weakly: once every clone of the store is gone, their entries are dead.
pub(crate) struct Shared {
    /// Unique in the process: distinguishes the entries of several stores in one thread.
    id: u64,
    opener: Opener,
}

/// How to open one more connection, with the client and settings the store was built with.
#[cfg_attr(
    feature = "cluster",
    expect(
        clippy::large_enum_variant,
        reason = "one per store, behind its `Arc`: the size does not matter"
    )
)]
pub(crate) enum Opener {
    /// One server: the client that made the first connection (its protocol, RESP3 or RESP2,
    /// already settled) and the connection manager's settings.
    Single {
        /// The client of the first connection.
        client: redis::Client,
        /// Time limits and the retry policy.
        config: ConnectionManagerConfig,
    },
    /// A Redis Cluster: its clients (one with retries, one without) and time limits.
    #[cfg(feature = "cluster")]
    Cluster(Arc<crate::cluster::ClusterOpener>),
}

/// One connection: what a thread sends its commands over.
#[derive(Clone)]
pub(crate) enum Link {
    /// One server: a multiplexed connection that reconnects by itself.
    Single(ConnectionManager),
    /// A Redis Cluster: one multiplexed connection per node, routed by key slot, and a
    /// second one without retries for compare-and-swap, opened on first use.
    #[cfg(feature = "cluster")]
    Cluster(crate::cluster::ClusterLink),
}

/// The settings of every connection manager of a single-server store.
pub(crate) fn manager_config(connect_timeout: Duration) -> ConnectionManagerConfig {
    // The response timeout is enforced around every operation by `Connection::query` (a
    // reconnection included), so the manager gets none of its own: a second timer per
    // command would only cost time. (Unset, the redis crate would apply 500 ms.)
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(connect_timeout))
        .set_response_timeout(None)
        // One connection attempt per reconnection, no backoff: while Redis is down,
        // operations fail at once instead of waiting out a retry schedule, and the
        // next operation after Redis is back triggers a fresh, successful attempt.
        .set_number_of_retries(0)
}

/// What is sent in one round trip: a command, or a pipeline (a transaction) of them.
#[derive(Clone, Copy)]
pub(crate) enum Request<'a> {
    /// One command.
    Cmd(&'a Cmd),
    /// Several commands, written and answered together.
    Pipeline(&'a Pipeline),
}

impl<'a> From<&'a Cmd> for Request<'a> {
    fn from(cmd: &'a Cmd) -> Self {
        Self::Cmd(cmd)
    }
}

impl<'a> From<&'a Pipeline> for Request<'a> {
    fn from(pipeline: &'a Pipeline) -> Self {
        Self::Pipeline(pipeline)
    }
}

impl Request<'_> {
    pub(crate) async fn send<T: FromRedisValue>(
        self,
        connection: &mut impl ConnectionLike,
    ) -> RedisResult<T> {
        match self {
            Self::Cmd(cmd) => cmd.query_async(connection).await,
            Self::Pipeline(pipeline) => pipeline.query_async(connection).await,
        }
    }
}

/// Whether a command may be sent again after the connection dropped under it.
///
/// When a connection drops, a command may or may not have run on the server. Sending it again
/// is only right when running it twice is the same as running it once: `GET`, `SET`, `DEL`,
/// `SET … XX` (`replace`: a second run writes the same text again, or nothing if the entry
/// was deleted in between, so it never brings an entry back), and the `touch` script (sets a
/// time to live and an expiry, never creates). A compare-and-swap is not: had the first one
/// swapped, the second would report a conflict, and the caller would apply its change a
/// second time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Idempotent: send once more on a fresh connection if the first one had dropped.
    Once,
    /// Not idempotent: report the failure. On a cluster, sent on a connection without the
    /// cluster client's retries (see [`crate::cluster`]).
    Never,
}

impl Shared {
    fn new(opener: Opener) -> Arc<Self> {
        /// The identity of the next store.
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Arc::new(Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            opener,
        })
    }

    /// The shared state of a store that has no first connection.
    #[cfg(test)]
    pub(crate) fn for_tests(opener: Opener) -> Arc<Self> {
        Self::new(opener)
    }

    /// This store's identity in the per-thread caches.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// A new connection with the store's settings. Nothing is sent yet: it connects on its
    /// first command (so within that command's time limit), and concurrent first commands
    /// wait for the same connection attempt. Its tasks run on the current Tokio runtime.
    pub(crate) fn open(&self) -> RedisResult<Link> {
        match &self.opener {
            Opener::Single { client, config } => Ok(Link::Single(
                ConnectionManager::new_lazy_with_config(client.clone(), config.clone())?,
            )),
            #[cfg(feature = "cluster")]
            Opener::Cluster(opener) => Ok(Link::Cluster(opener.open())),
        }
    }
}

impl Connection {
    /// The connections of a new store: `first`, made by the builder on `runtime` (the
    /// current one), serves this thread on that runtime; other threads and runtimes open
    /// their own with `opener`.
    pub(crate) fn new(opener: Opener, first: Link, runtime: &Handle) -> Self {
        let shared = Shared::new(opener);
        local::adopt(&shared, first, runtime);
        Self { shared }
    }

    /// Sends `request` and waits for its reply, giving up after `limit` (which includes
    /// opening this thread's connection and any wait for a reconnection, so a dead or hung
    /// Redis never holds a request longer).
    pub(crate) async fn query<T: FromRedisValue>(
        &self,
        request: Request<'_>,
        retry: Retry,
        limit: Duration,
    ) -> Result<T, RedisStoreError> {
        let Ok(runtime) = Handle::try_current() else {
            return Err(RedisStoreError::InvalidConfig {
                reason: "the store was used outside a Tokio runtime",
            });
        };
        let sent = self.query_with_retry(request, retry, &runtime);
        match tokio::time::timeout(limit, sent).await {
            Ok(result) => result.map_err(|error| RedisStoreError::from_command(error, limit)),
            Err(_elapsed) => Err(RedisStoreError::Timeout { after: limit }),
        }
    }

    async fn query_with_retry<T: FromRedisValue>(
        &self,
        request: Request<'_>,
        retry: Retry,
        runtime: &Handle,
    ) -> RedisResult<T> {
        match local::link(&self.shared, runtime)? {
            Link::Single(mut manager) => {
                match request.send(&mut manager).await {
                    // The connection was found dead (closed by the server after its idle
                    // `timeout`, or Redis restarted): the manager has started a new one, which
                    // this second attempt waits for. actix-session does the same since #230.
                    Err(error) if retry == Retry::Once && error.is_unrecoverable_error() => {
                        tracing::debug!(error = %error, "Redis connection dropped; sending again");
                        request.send(&mut manager).await
                    }
                    result => result,
                }
            }
            // The cluster client retries and reconnects by itself, bounded by its own
            // overall response timeout; a compare-and-swap goes on a link without retries.
            #[cfg(feature = "cluster")]
            Link::Cluster(link) => link.send(request, retry).await,
        }
    }

    /// A name for `Debug` output.
    pub(crate) fn kind(&self) -> &'static str {
        match self.shared.opener {
            Opener::Single { .. } => "single",
            #[cfg(feature = "cluster")]
            Opener::Cluster(_) => "cluster",
        }
    }
}
