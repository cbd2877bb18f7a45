//! Redis Cluster: the clients of a store, each thread's connections, and how a command that
//! must not run twice (compare-and-swap) is sent.
//!
//! The cluster client retries a command by itself after redirections, busy nodes and dropped
//! connections, up to its retry count. A command whose connection dropped after the node ran
//! it is then run a second time: harmless for the idempotent commands, wrong for a
//! compare-and-swap, whose second run finds its own result, answers "conflict", and makes the
//! caller apply its change again. So each thread has a second connection, opened on the first
//! compare-and-swap, from a client with no retries. On it the store resends a swap only after
//! answers that prove the node did not run it (`MOVED`, `ASK`, `TRYAGAIN`, `CLUSTERDOWN`,
//! `LOADING`, `MASTERDOWN`, `READONLY`, or no connection to send it on), and reports any
//! other failure, a dropped connection first of all, as it is.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use redis::cluster::{ClusterClient, ClusterClientBuilder, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{Cmd, ErrorKind, FromRedisValue, RedisError, RedisResult, ServerErrorKind};

use crate::connection::{Request, Retry};

/// How many times a swap the cluster refused is sent again, at most (the operation's time
/// limit usually ends it sooner).
const MAX_RESENDS: u32 = 8;
/// The pause before resending after a "not now" answer, doubled each time up to
/// [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(10);
/// The longest pause between two resends.
const MAX_PAUSE: Duration = Duration::from_millis(200);

/// How a store opens connections to its cluster.
pub(crate) struct ClusterOpener {
    /// With the client's retries: for the idempotent commands.
    retrying: ClusterClient,
    /// Without any: for compare-and-swap.
    once: ClusterClient,
    /// The time limits, for connections opened after the first.
    config: ClusterConfig,
}

/// One thread's connections to the cluster.
#[derive(Clone)]
pub(crate) struct ClusterLink {
    /// What opens the connection without retries.
    opener: Arc<ClusterOpener>,
    /// Opened with the link (it connects in the background at once).
    retrying: ClusterConnection,
    /// Opened on the thread's first compare-and-swap, so threads that never swap keep one
    /// connection per node.
    once: Arc<OnceLock<ClusterConnection>>,
}

impl ClusterOpener {
    /// Makes the two clients from `builder` (a function, as the redis crate's builder is
    /// used up by building); `config` holds the time limits of later connections.
    pub(crate) fn new<E>(
        builder: impl Fn() -> ClusterClientBuilder,
        build: impl Fn(ClusterClientBuilder) -> Result<ClusterClient, E>,
        config: ClusterConfig,
    ) -> Result<Arc<Self>, E> {
        Ok(Arc::new(Self {
            retrying: build(builder())?,
            once: build(builder().retries(0))?,
            config,
        }))
    }

    /// The client whose connection the builder checks the cluster with.
    pub(crate) fn retrying_client(&self) -> &ClusterClient {
        &self.retrying
    }

    /// A link around `retrying`, a connection of the retrying client.
    pub(crate) fn link(self: &Arc<Self>, retrying: ClusterConnection) -> ClusterLink {
        ClusterLink {
            opener: Arc::clone(self),
            retrying,
            once: Arc::new(OnceLock::new()),
        }
    }

    /// A new link for this thread; nothing is sent yet.
    pub(crate) fn open(self: &Arc<Self>) -> ClusterLink {
        self.link(
            self.retrying
                .get_pending_async_connection_with_config(self.config.clone()),
        )
    }
}

impl ClusterLink {
    /// Sends `request`: on the retrying connection if it may run twice, else on the one
    /// without retries (see the [module docs](self)).
    pub(crate) async fn send<T: FromRedisValue>(
        &self,
        request: Request<'_>,
        retry: Retry,
    ) -> RedisResult<T> {
        match (retry, request) {
            (Retry::Once, _) => request.send(&mut self.retrying.clone()).await,
            (Retry::Never, Request::Cmd(cmd)) => send_once(self.once(), cmd).await,
            // No pipeline is sent with `Retry::Never`; if one were, it is sent once.
            (Retry::Never, Request::Pipeline(_)) => request.send(&mut self.once()).await,
        }
    }

    /// The connection without retries, opened now if this is its first use.
    fn once(&self) -> ClusterConnection {
        self.once
            .get_or_init(|| {
                let opener = &self.opener;
                opener
                    .once
                    .get_pending_async_connection_with_config(opener.config.clone())
            })
            .clone()
    }
}

/// What to do after an answer that proves the node did not run the command.
#[derive(Debug, PartialEq, Eq)]
enum Resend {
    /// `MOVED`: send it to that node.
    To { host: String, port: u16 },
    /// `ASK`: send it to that node, after `ASKING`.
    Asking { host: String, port: u16 },
    /// The node is busy or unreachable: send it again after a pause.
    Later,
}

/// Sends `cmd` without ever sending it again after a failure that leaves unknown whether it
/// ran.
async fn send_once<T: FromRedisValue>(
    mut connection: ClusterConnection,
    cmd: &Cmd,
) -> RedisResult<T> {
    let mut result = cmd.query_async(&mut connection).await;
    let mut pause = FIRST_PAUSE;
    for _ in 0..MAX_RESENDS {
        let Some(resend) = result.as_ref().err().and_then(not_run) else {
            break;
        };
        tracing::debug!(?resend, "Redis Cluster did not run the swap; sending again");
        result = match resend {
            Resend::To { host, port } => {
                let route = SingleNodeRoutingInfo::ByAddress { host, port };
                let value = connection
                    .route_command(cmd.clone(), RoutingInfo::SingleNode(route))
                    .await;
                value.and_then(|value| Ok(redis::from_redis_value(value.extract_error()?)?))
            }
            Resend::Asking { host, port } => asking(&mut connection, cmd, host, port).await,
            Resend::Later => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_PAUSE);
                cmd.query_async(&mut connection).await
            }
        };
    }
    result
}

/// Sends `ASKING` then `cmd` to the node at `host:port`, together.
async fn asking<T: FromRedisValue>(
    connection: &mut ClusterConnection,
    cmd: &Cmd,
    host: String,
    port: u16,
) -> RedisResult<T> {
    let mut pipeline = redis::pipe();
    pipeline.cmd("ASKING").add_command(cmd.clone());
    let route = SingleNodeRoutingInfo::ByAddress { host, port };
    // Only the reply of `cmd`, the second command.
    let mut replies = connection.route_pipeline(pipeline, 1, 1, route).await?;
    let reply = replies.pop().ok_or_else(|| {
        RedisError::from((ErrorKind::UnexpectedReturnType, "no reply after ASKING"))
    })?;
    Ok(redis::from_redis_value(reply.extract_error()?)?)
}

/// Whether `error` proves the command did not run, and how to send it again.
///
/// A redirection, or a node that cannot serve now, refuses a command before running it;
/// `READONLY` refuses the script's write, its only effect. `ClusterConnectionNotFound` means
/// the client had no connection to send it on. Anything else (a dropped connection, a
/// timeout, a reply that did not parse) may come after the command ran.
fn not_run(error: &RedisError) -> Option<Resend> {
    match error.kind() {
        ErrorKind::Server(ServerErrorKind::Moved | ServerErrorKind::Ask) => {
            let (address, _slot) = error.redirect_node()?;
            let (host, port) = address.rsplit_once(':')?;
            let (host, port) = (host.to_owned(), port.parse().ok()?);
            Some(match error.kind() {
                ErrorKind::Server(ServerErrorKind::Ask) => Resend::Asking { host, port },
                _ => Resend::To { host, port },
            })
        }
        ErrorKind::Server(
            ServerErrorKind::TryAgain
            | ServerErrorKind::ClusterDown
            | ServerErrorKind::BusyLoading
            | ServerErrorKind::MasterDown
            | ServerErrorKind::ReadOnly,
        )
        | ErrorKind::ClusterConnectionNotFound => Some(Resend::Later),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    fn server_error(kind: ServerErrorKind, detail: &'static str) -> RedisError {
        RedisError::from((ErrorKind::Server(kind), "server error", detail.to_owned()))
    }

    #[test]
    fn redirections_name_the_node_to_send_to() {
        let moved = server_error(ServerErrorKind::Moved, "3999 127.0.0.1:7001");
        assert_eq!(
            not_run(&moved),
            Some(Resend::To {
                host: "127.0.0.1".to_owned(),
                port: 7001
            })
        );
        let ask = server_error(ServerErrorKind::Ask, "3999 10.0.0.2:7002");
        assert_eq!(
            not_run(&ask),
            Some(Resend::Asking {
                host: "10.0.0.2".to_owned(),
                port: 7002
            })
        );
        let garbled = server_error(ServerErrorKind::Moved, "3999 nowhere");
        assert_eq!(not_run(&garbled), None);
    }

    #[test]
    fn busy_nodes_are_asked_again_later() {
        for kind in [
            ServerErrorKind::TryAgain,
            ServerErrorKind::ClusterDown,
            ServerErrorKind::BusyLoading,
            ServerErrorKind::MasterDown,
            ServerErrorKind::ReadOnly,
        ] {
            assert_eq!(
                not_run(&server_error(kind, "")),
                Some(Resend::Later),
                "{kind:?}"
            );
        }
        let no_connection = RedisError::from((ErrorKind::ClusterConnectionNotFound, "none"));
        assert_eq!(not_run(&no_connection), Some(Resend::Later));
    }

    #[test]
    fn failures_after_which_the_swap_may_have_run_are_not_resent() {
        for kind in [
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::BrokenPipe,
            io::ErrorKind::UnexpectedEof,
            io::ErrorKind::TimedOut,
        ] {
            assert_eq!(not_run(&io::Error::from(kind).into()), None, "{kind:?}");
        }
        let script_error = server_error(ServerErrorKind::ResponseError, "ERR in script");
        assert_eq!(not_run(&script_error), None);
        let parse = RedisError::from((ErrorKind::Parse, "bad reply"));
        assert_eq!(not_run(&parse), None);
    }
}
