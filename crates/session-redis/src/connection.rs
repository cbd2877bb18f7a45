//! One shared connection to Redis, and how every command is sent over it: under a deadline,
//! and sent a second time when the connection had dropped and the command is idempotent.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::{Cmd, FromRedisValue, Pipeline, RedisResult};

use crate::RedisStoreError;

/// The connection every clone of a store shares.
#[derive(Clone)]
pub(crate) enum Connection {
    /// One server: a multiplexed connection that reconnects by itself.
    Single(ConnectionManager),
    /// A Redis Cluster: one multiplexed connection per node, routed by key slot.
    #[cfg(feature = "cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
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
    async fn send<T: FromRedisValue>(self, connection: &mut impl ConnectionLike) -> RedisResult<T> {
        match self {
            Self::Cmd(cmd) => cmd.query_async(connection).await,
            Self::Pipeline(pipeline) => pipeline.query_async(connection).await,
        }
    }
}

/// Whether a command may be sent again after the connection dropped under it.
///
/// When a connection drops, a command may or may not have run on the server. Sending it again
/// is only right when running it twice is the same as running it once (`GET`, `SET`, `DEL`,
/// `PEXPIRE`). A compare-and-swap is not: had the first one swapped, the second would report
/// a conflict, and the caller would apply its change a second time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Idempotent: send once more on a fresh connection if the first one had dropped.
    Once,
    /// Not idempotent: report the failure.
    Never,
}

impl Connection {
    /// Sends `request` and waits for its reply, giving up after `limit` (which includes any
    /// wait for a reconnection, so a dead or hung Redis never holds a request longer).
    pub(crate) async fn query<T: FromRedisValue>(
        &self,
        request: Request<'_>,
        retry: Retry,
        limit: Duration,
    ) -> Result<T, RedisStoreError> {
        match tokio::time::timeout(limit, self.query_with_retry(request, retry)).await {
            Ok(result) => result.map_err(|error| RedisStoreError::from_command(error, limit)),
            Err(_elapsed) => Err(RedisStoreError::Timeout { after: limit }),
        }
    }

    async fn query_with_retry<T: FromRedisValue>(
        &self,
        request: Request<'_>,
        retry: Retry,
    ) -> RedisResult<T> {
        match self {
            Self::Single(manager) => {
                let mut manager = manager.clone();
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
            // overall response timeout.
            #[cfg(feature = "cluster")]
            Self::Cluster(cluster) => request.send(&mut cluster.clone()).await,
        }
    }

    /// A name for `Debug` output.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Single(_) => "single",
            #[cfg(feature = "cluster")]
            Self::Cluster(_) => "cluster",
        }
    }
}
