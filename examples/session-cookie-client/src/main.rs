//! Port of Ktor's `session-cookie-client` sample: the whole session lives in the client's
//! cookie, encrypted and authenticated (AES-256-GCM) so the client can neither read nor change
//! it.
//!
//! ```text
//! cargo run -p session-cookie-client
//! ```
//!
//! Without `SESSION_ENCRYPTION_KEY` it uses the development key file
//! `build/dev-session-encryption.key` in the working directory (`$DEV_KEY_DIR` instead of `build`),
//! created with mode 0600 on the first start and reused by later ones, with a warning. Anywhere but
//! on a development machine, set the variable: `SESSION_ENCRYPTION_KEY=$(openssl rand -hex 32)`.
//!
//! Then open `/login`, reload `/user` a few times (the cookie lives 10 seconds), and `/logout`.

use std::time::Duration;

use actix_web::{App, HttpResponse, get};
use example_support::{StartError, UserSession};
use session_actix::Encrypt;
use session_actix::{CookieTransport, Session, SessionConfig, SessionError, Sessions};

#[get("/login")]
async fn login(session: Session<UserSession>) -> Result<HttpResponse, SessionError> {
    session.set(UserSession::login())?;
    Ok(example_support::actix::found("/user"))
}

#[get("/user")]
async fn user(session: Session<UserSession>) -> Result<HttpResponse, SessionError> {
    let user = session.get().await?;
    if let Some(user) = &user {
        session.set(user.reloaded())?;
    }
    Ok(example_support::actix::text(UserSession::page(
        user.as_ref(),
    )))
}

#[get("/logout")]
async fn logout(session: Session<UserSession>) -> Result<HttpResponse, SessionError> {
    session.clear();
    Ok(example_support::actix::found("/user"))
}

#[actix_web::main]
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
    example_support::actix::serve(move || {
        App::new()
            .wrap(sessions.clone())
            .service(login)
            .service(user)
            .service(logout)
    })
    .await
}
