//! Serving a `Router` as actix-web's `HttpServer` serves an `App`.

use std::io::{self, Write as _};
use std::net::{SocketAddr, ToSocketAddrs as _};
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::env::bind_addr;
use crate::error::StartError;

/// How long a graceful stop waits for requests in flight (actix-web's `shutdown_timeout`).
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// Binds every address `addr` resolves to, keeping those that bind (actix-web's `bind`).
async fn bind_all(addr: &str) -> io::Result<Vec<TcpListener>> {
    let mut error = None;
    let mut listeners = Vec::new();
    for addr in addr.to_socket_addrs()? {
        match TcpListener::bind(addr).await {
            Ok(listener) => listeners.push(listener),
            Err(failure) => error = Some(failure),
        }
    }
    match (listeners.is_empty(), error) {
        (false, _) => Ok(listeners),
        (true, Some(error)) => Err(error),
        (true, None) => Err(io::Error::other("Could not bind to address")),
    }
}

/// How the process was asked to stop.
enum Stop {
    /// `SIGTERM`: finish the requests in flight (up to [`SHUTDOWN_TIMEOUT`]), then exit.
    Graceful,
    /// `SIGINT` or `SIGQUIT`: exit now.
    Forced,
}

/// Waits for a stop signal; the handlers are installed at once, so none is missed.
fn stop_signal() -> io::Result<impl Future<Output = Stop>> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut quit = signal(SignalKind::quit())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => Stop::Graceful,
            _ = interrupt.recv() => Stop::Forced,
            _ = quit.recv() => Stop::Forced,
        }
    })
}

/// Serves `app` on [`bind_addr`] (every address it resolves to), prints
/// `Listening on http://<bound address>/` as the only line on stdout (so `BIND_ADDR=…:0` shows
/// the port chosen) after logging `listening`, then serves HTTP/1 until the process is stopped,
/// answering `Connection: close` after a request body nobody read (as actix-web does),
/// as the actix-web examples do: `SIGTERM` stops gracefully (requests in flight get up to 30
/// seconds), `SIGINT` and `SIGQUIT` stop at once; both exit with code 0. Call it inside a
/// multi-threaded Tokio runtime (`#[tokio::main]`), the counterpart of actix-web's worker per
/// core.
///
/// # Errors
///
/// [`StartError::Bind`] when the address cannot be bound, and [`StartError::Io`].
pub async fn serve(app: Router) -> Result<(), StartError> {
    let app = app.layer(axum::middleware::from_fn(super::unread::close_if_unread));
    let addr = bind_addr()?;
    let listeners = bind_all(&addr).await.map_err(|source| StartError::Bind {
        addr: addr.clone(),
        source,
    })?;
    let bound = listeners
        .iter()
        .map(TcpListener::local_addr)
        .collect::<io::Result<Vec<SocketAddr>>>()?;
    let first = bound.first().ok_or_else(|| StartError::Bind {
        addr,
        source: io::Error::other("no address was bound"),
    })?;
    // Installed before announcing the address, so a signal right after it is not missed.
    let stop = stop_signal()?;
    tracing::info!(addresses = ?bound, "listening");
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "Listening on http://{first}/")?;
    stdout.flush()?;
    drop(stdout);

    let (graceful, stopping) = watch::channel(false);
    let mut servers = JoinSet::new();
    for listener in listeners {
        let mut stopping = stopping.clone();
        let server = axum::serve(listener, app.clone()).with_graceful_shutdown(async move {
            let _ = stopping.wait_for(|stop| *stop).await;
        });
        servers.spawn(server.into_future());
    }
    tokio::select! {
        stop = stop => match stop {
            Stop::Forced => servers.abort_all(),
            Stop::Graceful => {
                graceful.send_replace(true);
                let all = async { while servers.join_next().await.is_some() {} };
                if tokio::time::timeout(SHUTDOWN_TIMEOUT, all).await.is_err() {
                    servers.abort_all();
                }
            }
        },
        Some(ended) = servers.join_next() => {
            ended.map_err(io::Error::other)??;
        }
    }
    Ok(())
}
