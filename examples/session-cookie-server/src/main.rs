//! Port of Ktor's `session-cookie-server` sample: the cart lives on the server (in memory, or in
//! Redis when `REDIS_URL` is set, or in PostgreSQL or an SQLite file when `DATABASE_URL` is,
//! `postgres://…` or `sqlite://FILE`, so several instances share it) and the cookie carries
//! only its unguessable ID, signed with HMAC-SHA256.
//!
//! ```text
//! cargo run -p session-cookie-server
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

use actix_web::{App, HttpResponse, get};
use example_support::{CartSession, StartError};
use session_actix::Sign;
use session_actix::{CookieTransport, Session, SessionConfig, SessionError, Sessions};

#[get("/login")]
async fn login(session: Session<CartSession>) -> Result<HttpResponse, SessionError> {
    // A new ID on login, so an ID planted before logging in is worthless (session fixation).
    session.renew().await?;
    session.set(CartSession::sample())?;
    Ok(example_support::actix::found("/cart"))
}

#[get("/cart")]
async fn cart(session: Session<CartSession>) -> Result<HttpResponse, SessionError> {
    Ok(example_support::actix::text(CartSession::page(
        session.get().await?.as_ref(),
    )))
}

#[get("/logout")]
async fn logout(session: Session<CartSession>) -> Result<HttpResponse, SessionError> {
    session.clear();
    Ok(example_support::actix::found("/cart"))
}

#[actix_web::main]
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
    example_support::actix::serve(move || {
        App::new()
            .wrap(sessions.clone())
            .service(login)
            .service(cart)
            .service(logout)
    })
    .await
}
