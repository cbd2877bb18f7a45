//! Port of Ktor's `session-header-server` sample: the cart lives on the server, one file per
//! session in `build/.sessions` (or `$SESSIONS_DIR`; in Redis when `REDIS_URL` is set; in
//! PostgreSQL or an SQLite file when `DATABASE_URL` is, `postgres://…` or `sqlite://FILE`), so
//! carts survive a restart, and its signed ID travels in the `cart_session` header, for API clients.
//! CORS lets scripts on other origins send that header and read it from responses.
//!
//! ```text
//! cargo run -p session-header-server
//! ```
//!
//! Without `SESSION_SIGNING_KEY` it uses the development key file `build/dev-session-signing.key`
//! in the working directory (`$DEV_KEY_DIR` instead of `build`), created with mode 0600 on the
//! first start and reused by later ones, with a warning. Carts survive a restart out of the box.
//! Anywhere but on a development machine, set the variable: `SESSION_SIGNING_KEY=$(openssl rand
//! -hex 32)`.
//!
//! Then `curl -i localhost:8080/login` and send the `cart_session` header it returns to
//! `/cart` and `/logout`.

use std::sync::Arc;

use actix_web::{App, HttpResponse, get};
use example_support::{CartSession, StartError};
use session_actix::{Cors, HeaderTransport, Session, SessionConfig, SessionError, Sessions, Sign};

#[get("/login")]
async fn login(session: Session<CartSession>) -> Result<HttpResponse, SessionError> {
    session.renew().await?;
    session.set(CartSession::sample())?;
    Ok(example_support::actix::text(example_support::LOGIN_DONE))
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
    Ok(example_support::actix::text(example_support::LOGOUT_DONE))
}

#[actix_web::main]
async fn main() -> Result<(), StartError> {
    example_support::init_tracing();
    let key = example_support::signing_key()?;
    let sessions = Sessions::builder()
        .session(
            SessionConfig::<CartSession>::new(HeaderTransport::new("cart_session"))
                .shared_store(
                    example_support::store_from_env(|| {
                        Ok(Arc::new(example_support::directory_store()?))
                    })
                    .await?,
                )
                .transform(Sign::new(key)),
        )
        .build()?;
    example_support::actix::serve(move || {
        // The last `wrap` is the outermost: CORS answers preflights before sessions run, and
        // adds its headers to every response.
        App::new()
            .wrap(sessions.clone())
            .wrap(sessions.cors(Cors::default().allow_any_origin().allowed_methods(["GET"])))
            .service(login)
            .service(cart)
            .service(logout)
    })
    .await
}
