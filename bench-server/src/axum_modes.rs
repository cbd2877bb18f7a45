//! The axum modes: `axum-bare` and ours on `session-axum` (`axum-cookie-signed`,
//! `axum-cookie-encrypted`, `axum-memory`, `axum-redis`), with the actix-web modes' routes,
//! bodies, session type, cookie and keys, served by `axum::serve` on a current-thread Tokio
//! runtime (one thread, as the actix-web modes' one worker).
//!
//! Our layer is added with `Router::layer`, as users write it; axum then wraps every route
//! (and the fallback) in it, so each request also pays axum's own cost of a layered route.
//! `axum-cookie-encrypted-outer` wraps the whole `Router` in the layer instead, to tell that
//! cost from ours.
//!
//! The peers: tower-sessions 0.14 (the version tower-sessions-redis-store 0.16 builds on),
//! `tower-memory` with its `MemoryStore` and `tower-redis` with tower-sessions-redis-store's
//! `RedisStore` on one fred `Client` (one connection, like ours on one thread). Both sign the ID
//! cookie (`with_signed`, the key from [`peer_key_material`], as actix-session's), and set the
//! cookie as ours: `session`, `Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/`, no `Max-Age`
//! (`Expiry::OnSessionEnd`). Their layer is added with `Router::layer` too, and the counter
//! lives under the key `"counter"` of tower-sessions' string map, as in actix-session's.

use std::io::Write as _;

use axum::Router;
use axum::extract::Request;
use axum::routing::get;
use example_support::StartError;
use session_axum::{Encrypt, MemoryStore, SessionStore, Sign, SigningKey};
use session_axum::{RedisSessionStore, SessionConfig, Sessions};
use tokio::net::TcpListener;

use crate::{BenchError, Counter, Keys, Mode, our_cookie, peer_key_material, redis_url};

/// Serves an axum `mode` on a current-thread runtime until the process is stopped.
pub(crate) fn run(mode: Mode, keys: Keys) -> Result<(), BenchError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(serve(mode, keys))
}

/// Binds `BIND_ADDR` and prints `Listening on http://<bound address>/` as the only line on
/// stdout, as the actix-web modes do (the scripts read the port from it).
async fn listen() -> Result<TcpListener, BenchError> {
    let addr = example_support::bind_addr()?;
    let listener = TcpListener::bind(addr.as_str())
        .await
        .map_err(|source| StartError::Bind {
            addr: addr.clone(),
            source,
        })?;
    let bound = listener.local_addr()?;
    tracing::info!(address = %bound, "listening");
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "Listening on http://{bound}/")?;
    stdout.flush()?;
    Ok(listener)
}

/// A server-side setup of ours: the store, the ID signed.
fn server_side(store: impl SessionStore, key: SigningKey) -> Result<Sessions, BenchError> {
    let config = SessionConfig::<Counter>::new(our_cookie())
        .store(store)
        .transform(Sign::new(key));
    Ok(Sessions::new(config).map_err(StartError::from)?)
}

async fn serve(mode: Mode, keys: Keys) -> Result<(), BenchError> {
    let Keys {
        signing,
        encryption,
    } = keys;
    let sessions = match mode {
        Mode::AxumBare => {
            axum::serve(listen().await?, bare::routes()).await?;
            return Ok(());
        }
        Mode::TowerMemory | Mode::TowerRedis => {
            let key = tower_peer::Key::from(&peer_key_material(&signing, &encryption));
            let routes = tower_peer::routes();
            let app = if mode == Mode::TowerMemory {
                routes.layer(tower_peer::layer(tower_peer::MemoryStore::default(), key))
            } else {
                routes.layer(tower_peer::layer(tower_peer::redis_store().await?, key))
            };
            axum::serve(listen().await?, app).await?;
            return Ok(());
        }
        Mode::AxumCookieSigned => {
            let config = SessionConfig::<Counter>::new(our_cookie()).transform(Sign::new(signing));
            Sessions::new(config).map_err(StartError::from)?
        }
        Mode::AxumCookieEncrypted | Mode::AxumCookieEncryptedOuter => {
            let config =
                SessionConfig::<Counter>::new(our_cookie()).transform(Encrypt::new(encryption));
            Sessions::new(config).map_err(StartError::from)?
        }
        Mode::AxumMemory => server_side(MemoryStore::new(), signing)?,
        Mode::AxumRedis => {
            let store = RedisSessionStore::new(redis_url()?)
                .await
                .map_err(StartError::from)?;
            server_side(store, signing)?
        }
        Mode::Bare
        | Mode::CookieSigned
        | Mode::CookieEncrypted
        | Mode::Memory
        | Mode::Fs
        | Mode::FsFsync
        | Mode::Redis
        | Mode::ActixCookieSigned
        | Mode::ActixCookiePrivate
        | Mode::ActixRedis => unreachable!("{mode} is served by actix_modes"),
    };
    let listener = listen().await?;
    if mode == Mode::AxumCookieEncryptedOuter {
        // The layer around the whole router: one SessionsService in front of axum's routing.
        // `with_state` turns the handlers into routes once, as `axum::serve` does for a bare
        // `Router` on each connection; a `Router` inside another service would otherwise do it
        // on every request.
        let app = tower::Layer::layer(&sessions, ours::routes().with_state(()));
        axum::serve(
            listener,
            axum::ServiceExt::<Request>::into_make_service(app),
        )
        .await?;
    } else {
        // How users write it: axum layers every route with it.
        axum::serve(listener, ours::routes().layer(sessions)).await?;
    }
    Ok(())
}

/// `GET /plain`, identical in every mode: never touches a session.
async fn plain() -> axum::response::Response {
    example_support::axum::text("plain")
}

/// No sessions: a process-wide counter stands in for the session's.
mod bare {
    use std::sync::atomic::{AtomicU64, Ordering};

    use axum::Router;
    use axum::response::Response;
    use axum::routing::get;

    static COUNTER: AtomicU64 = AtomicU64::new(0);

    async fn counter() -> Response {
        let value = COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
        example_support::axum::text(value.to_string())
    }

    async fn read() -> Response {
        example_support::axum::text(COUNTER.load(Ordering::Relaxed).to_string())
    }

    pub(super) fn routes() -> Router {
        Router::new()
            .route("/counter", get(counter))
            .route("/read", get(read))
            .route("/plain", get(super::plain))
    }
}

/// This workspace's `Session<Counter>` on axum.
mod ours {
    use axum::response::Response;
    use session_axum::{Session, SessionError};

    use super::{Counter, Router, get};

    async fn counter(session: Session<Counter>) -> Result<Response, SessionError> {
        // get + set, like actix-session's get + insert (Session::update would be atomic).
        let value = session.get().await?.map_or(0, |stored| stored.value) + 1;
        session.set(Counter { value })?;
        Ok(example_support::axum::text(value.to_string()))
    }

    async fn read(session: Session<Counter>) -> Result<Response, SessionError> {
        let value = session.get().await?.map_or(0, |stored| stored.value);
        Ok(example_support::axum::text(value.to_string()))
    }

    pub(super) fn routes() -> Router {
        Router::new()
            .route("/counter", get(counter))
            .route("/read", get(read))
            .route("/plain", get(super::plain))
    }
}

/// tower-sessions 0.14: its string-map `Session`, the counter under one key (as actix-session's).
mod tower_peer {
    use axum::http::StatusCode;
    use axum::response::{IntoResponse as _, Response};
    use tower_sessions::cookie::SameSite;
    use tower_sessions::service::SignedCookie;
    use tower_sessions::{Expiry, Session, SessionManagerLayer, SessionStore};
    use tower_sessions_redis_store::RedisStore;
    use tower_sessions_redis_store::fred::prelude::{
        Client, ClientLike as _, Config, Error as FredError,
    };

    pub(super) use tower_sessions::MemoryStore;
    pub(super) use tower_sessions::cookie::Key;

    use super::{Router, get};
    use crate::{BenchError, COOKIE_NAME, redis_url};

    /// The key of the counter in tower-sessions' string map.
    const COUNTER_KEY: &str = "counter";

    /// tower-sessions' layer with cookie settings equivalent to ours, the ID cookie signed.
    pub(super) fn layer<S: SessionStore + Clone>(
        store: S,
        key: Key,
    ) -> SessionManagerLayer<S, SignedCookie> {
        SessionManagerLayer::new(store)
            .with_name(COOKIE_NAME)
            .with_secure(true)
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_path("/")
            // No Max-Age: a browser-session cookie (the record still expires in the store).
            .with_expiry(Expiry::OnSessionEnd)
            .with_signed(key)
    }

    /// tower-sessions-redis-store on one fred client (one connection) to `REDIS_URL`.
    pub(super) async fn redis_store() -> Result<RedisStore<Client>, BenchError> {
        let failed = |error: FredError| BenchError::TowerRedis(error.to_string());
        let config = Config::from_url(&redis_url()?).map_err(failed)?;
        let client = Client::new(config, None, None, None);
        // The connection task runs on this (current-thread) runtime until the process stops.
        let _connection = client.init().await.map_err(failed)?;
        Ok(RedisStore::new(client))
    }

    /// A failed session operation: an empty 500, logged (as our adapter answers a store failure).
    fn failed(error: tower_sessions::session::Error) -> Response {
        tracing::error!(%error, "tower-sessions failed");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    }

    async fn counter(session: Session) -> Result<Response, Response> {
        let value = session
            .get::<u64>(COUNTER_KEY)
            .await
            .map_err(failed)?
            .unwrap_or(0)
            + 1;
        session.insert(COUNTER_KEY, value).await.map_err(failed)?;
        Ok(example_support::axum::text(value.to_string()))
    }

    async fn read(session: Session) -> Result<Response, Response> {
        let value = session
            .get::<u64>(COUNTER_KEY)
            .await
            .map_err(failed)?
            .unwrap_or(0);
        Ok(example_support::axum::text(value.to_string()))
    }

    pub(super) fn routes() -> Router {
        Router::new()
            .route("/counter", get(counter))
            .route("/read", get(read))
            .route("/plain", get(super::plain))
    }
}
