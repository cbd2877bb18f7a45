//! The axum twin of `session-cookie-server`, itself a port of Ktor's `session-cookie-server`
//! sample: the cart lives on the server (in memory, or in Redis when `REDIS_URL` is set, or in
//! PostgreSQL or an SQLite file when `DATABASE_URL` is, `postgres://…` or `sqlite://FILE`, so
//! several instances share it) and the cookie carries only its unguessable ID, signed with
//! HMAC-SHA256.
//!
//! Same routes, texts, status codes, cookie and environment variables as the actix-web
//! original (a client or test of one passes against the other, and both can share one Redis
//! with one `SESSION_SIGNING_KEY`); the cart, texts, keys, storage and serving are shared
//! through `example-support`.
//!
//! ```text
//! cargo run -p axum-session-cookie-server
//! ```
//!
//! Without `SESSION_SIGNING_KEY` it uses the development key file `build/dev-session-signing.key`
//! in the working directory (`$DEV_KEY_DIR` instead of `build`), created with mode 0600 on the
//! first start and reused by later ones, with a warning. Two instances started in one directory (on
//! one Redis) share that file, so they share sessions. Anywhere but on a development machine, set
//! the variable: `SESSION_SIGNING_KEY=$(openssl rand -hex 32)`.
//!
//! The memory storage keeps at most `MEMORY_STORE_CAPACITY` carts (10,000 by default); past
//! that, a new cart evicts the one that expires soonest.
//!
//! Then open `/login`, `/cart` and `/logout`.

use axum::Router;
use axum::http::Method;
use axum::response::Response;
use example_support::axum::{found, not_found, route_for, text};
use example_support::{CartSession, StartError};
use session_axum::Sign;
use session_axum::{CookieTransport, Session, SessionConfig, SessionError, Sessions};

async fn login(session: Session<CartSession>) -> Result<Response, SessionError> {
    // A new ID on login, so an ID planted before logging in is worthless (session fixation).
    session.renew().await?;
    session.set(CartSession::sample())?;
    Ok(found("/cart"))
}

async fn cart(session: Session<CartSession>) -> Result<Response, SessionError> {
    Ok(text(CartSession::page(session.get().await?.as_ref())))
}

async fn logout(session: Session<CartSession>) -> Result<Response, SessionError> {
    session.clear();
    Ok(found("/cart"))
}

#[tokio::main]
async fn main() -> Result<(), StartError> {
    example_support::init_tracing();
    let key = example_support::signing_key()?;
    // Bounded by MEMORY_STORE_CAPACITY (10,000 by default), checked even when Redis is used.
    let memory = example_support::memory_store()?;
    let sessions = Sessions::builder()
        .session(
            SessionConfig::<CartSession>::new(CookieTransport::new("cart_session"))
                .shared_store(example_support::store_from_env(|| Ok(memory)).await?)
                .transform(Sign::new(key)),
        )
        .build()?;
    let app = Router::new()
        .route("/login", route_for(Method::GET, login))
        .route("/cart", route_for(Method::GET, cart))
        .route("/logout", route_for(Method::GET, logout))
        .fallback(not_found)
        .layer(sessions);
    example_support::axum::serve(app).await
}
