//! The axum twin of `session-cookie-client`, itself a port of Ktor's `session-cookie-client`
//! sample: the whole session lives in the client's cookie, encrypted and authenticated
//! (AES-256-GCM) so the client can neither read nor change it.
//!
//! Same routes, texts, status codes, cookie and environment variables as the actix-web
//! original (a client or test of one passes against the other); the session type, texts, keys
//! and serving are shared through `example-support`.
//!
//! ```text
//! cargo run -p axum-session-cookie-client
//! ```
//!
//! Without `SESSION_ENCRYPTION_KEY` it uses the development key file
//! `build/dev-session-encryption.key` in the working directory (`$DEV_KEY_DIR` instead of `build`),
//! created with mode 0600 on the first start and reused by later ones, with a warning. Anywhere but
//! on a development machine, set the variable: `SESSION_ENCRYPTION_KEY=$(openssl rand -hex 32)`.
//!
//! Then open `/login`, reload `/user` a few times (the cookie lives 10 seconds), and `/logout`.

use std::time::Duration;

use axum::Router;
use axum::http::Method;
use axum::response::Response;
use example_support::axum::{found, not_found, route_for, text};
use example_support::{StartError, UserSession};
use session_axum::Encrypt;
use session_axum::{CookieTransport, Session, SessionConfig, SessionError, Sessions};

async fn login(session: Session<UserSession>) -> Result<Response, SessionError> {
    session.set(UserSession::login())?;
    Ok(found("/user"))
}

async fn user(session: Session<UserSession>) -> Result<Response, SessionError> {
    let user = session.get().await?;
    if let Some(user) = &user {
        session.set(user.reloaded())?;
    }
    Ok(text(UserSession::page(user.as_ref())))
}

async fn logout(session: Session<UserSession>) -> Result<Response, SessionError> {
    session.clear();
    Ok(found("/user"))
}

#[tokio::main]
async fn main() -> Result<(), StartError> {
    example_support::init_tracing();
    let key = example_support::encryption_key()?;
    let sessions = Sessions::builder()
        .session(
            SessionConfig::<UserSession>::new(
                CookieTransport::new("user_session").max_age(Duration::from_secs(10)),
            )
            .transform(Encrypt::new(key)),
        )
        .build()?;
    let app = Router::new()
        .route("/login", route_for(Method::GET, login))
        .route("/user", route_for(Method::GET, user))
        .route("/logout", route_for(Method::GET, logout))
        .fallback(not_found)
        .layer(sessions);
    example_support::axum::serve(app).await
}
