//! The session lifecycle a real app needs, in one small server:
//!
//! - `GET /` is a small page to drive the rest from a browser; its forms carry the CSRF token
//!   masked afresh for each page (against BREACH);
//! - `POST /login` (form field `username`) starts a session under a **new ID** (session
//!   fixation defence) and redirects to `/me`; a cross-site login post is refused with `403`
//!   (the `Sec-Fetch-Site`/`Origin` check: no token is needed before there is a session);
//! - `GET /me` answers `Hello, NAME`, or `401` without a session;
//! - `GET /csrf` answers the session's CSRF token as plain text;
//! - `POST /transfer` needs that token (`X-CSRF-Token` header or `csrf_token` form field), else
//!   `403`;
//! - `POST /visit` counts a visit atomically (concurrent requests lose no increment) and answers
//!   the new count;
//! - `POST /logout` ends the session; `POST /logout-others` ends the user's sessions on every
//!   other device (both CSRF-protected too).
//!
//! The session is server-side (memory), its signed ID in a `__Host-session` cookie. Sessions end
//! after `SESSION_IDLE_TIMEOUT_SECS` without use (default 1800) and `SESSION_ABSOLUTE_TIMEOUT_SECS`
//! after login (default 28800), whatever the activity. With `SESSION_QUERY_FALLBACK=NAME` (off by
//! default: IDs in URLs leak through links, logs and `Referer`) a request without the cookie may
//! carry the signed ID as `?NAME=...`; such responses carry `Referrer-Policy: no-referrer`, and
//! new IDs are still sent only as the cookie.
//! With `SESSION_ROTATE_ID_SECS` the session moves to a new ID once its ID is that old (same
//! session, same CSRF token); the old ID stays good for `SESSION_ROTATE_GRACE_SECS` (default 5, shorter than the period),
//! so parallel requests across the move stay logged in.
//!
//! The list of each user's sessions (for `POST /logout-others`) follows the same timeouts: an
//! entry ends when its session must have ended, every write drops those, and the list keeps
//! at most 10 000 sessions (past that, a login ends the session closest to its end).
//!
//! ```text
//! cargo run -p session-login
//! ```
//!
//! Without `SESSION_SIGNING_KEY` it uses the development key file `build/dev-session-signing.key`
//! in the working directory (`$DEV_KEY_DIR` instead of `build`), created with mode 0600 on the
//! first start and reused by later ones, with a warning. Anywhere but on a development machine, set
//! the variable: `SESSION_SIGNING_KEY=$(openssl rand -hex 32)`.

use std::time::SystemTime;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpResponse, get, web};
use example_support::actix::text;
use example_support::{
    Devices, HTML_CONTENT_TYPE, LOGGED_OUT, LoginForm, LoginSession, NOT_LOGGED_IN, StartError,
    TransferForm, USERNAME_RULE,
};
use session_actix::{
    CookieTransport, CsrfProtection, Session, SessionConfig, SessionError, SessionExt as _,
    Sessions,
};
use session_actix::{MemoryStore, Sign};

/// A small page that drives the routes from a browser.
#[get("/")]
async fn index(session: Session<LoginSession>) -> Result<HttpResponse, SessionError> {
    let page = match session.get().await? {
        None => example_support::page(None),
        Some(user) => {
            // Masked afresh for each page, so a compressed page never repeats the secret.
            let token = session.masked_csrf_token().await?.unwrap_or_default();
            example_support::page(Some((&user, &token)))
        }
    };
    Ok(HttpResponse::Ok()
        .content_type(HTML_CONTENT_TYPE)
        .body(page))
}

async fn login(
    session: Session<LoginSession>,
    devices: web::Data<Devices>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, SessionError> {
    let Some(username) = form.into_inner().valid_username() else {
        return Ok(HttpResponse::BadRequest().body(USERNAME_RULE));
    };
    // Whatever session the browser had (maybe planted by an attacker) is not carried over.
    if let Some(previous) = session.get().await? {
        devices.remove(&previous, SystemTime::now());
    }
    session.renew().await?;
    let mut user = LoginSession {
        username: username.clone(),
        visits: 0,
        login_id: None,
    };
    session.set(user.clone())?;
    if let Some(id) = session.id().await? {
        // The login ID names this device in the list, whatever IDs the session moves to.
        user.login_id = Some(id.clone());
        session.set(user)?;
        for evicted in devices.add(&username, id, SystemTime::now()) {
            session.invalidate_id(&evicted).await?;
        }
    }
    tracing::info!(%username, "logged in");
    Ok(HttpResponse::SeeOther()
        .insert_header(("location", "/me"))
        .finish())
}

#[get("/me")]
async fn me(session: Session<LoginSession>) -> Result<HttpResponse, SessionError> {
    Ok(match session.get().await? {
        Some(user) => text(user.greeting()),
        None => HttpResponse::Unauthorized().body(NOT_LOGGED_IN),
    })
}

#[get("/csrf")]
async fn csrf(session: Session<LoginSession>) -> Result<HttpResponse, SessionError> {
    Ok(match session.csrf_token().await? {
        Some(token) => text(token),
        None => HttpResponse::Unauthorized().body(NOT_LOGGED_IN),
    })
}

async fn transfer(form: web::Form<TransferForm>) -> HttpResponse {
    text(form.into_inner().answer())
}

/// Counts a visit atomically: concurrent requests of one session lose no increment.
async fn visit(session: Session<LoginSession>) -> Result<HttpResponse, SessionError> {
    Ok(match session.update(|user| user.visits += 1).await? {
        Some(user) => text(user.visits.to_string()),
        None => HttpResponse::Unauthorized().body(NOT_LOGGED_IN),
    })
}

async fn logout(
    session: Session<LoginSession>,
    devices: web::Data<Devices>,
) -> Result<HttpResponse, SessionError> {
    if let Some(user) = session.get().await? {
        devices.remove(&user, SystemTime::now());
    }
    session.clear();
    Ok(text(LOGGED_OUT))
}

async fn logout_others(
    session: Session<LoginSession>,
    devices: web::Data<Devices>,
) -> Result<HttpResponse, SessionError> {
    let Some(user) = session.get().await? else {
        return Ok(HttpResponse::Unauthorized().body(NOT_LOGGED_IN));
    };
    let others = devices.take_others(&user, SystemTime::now());
    for id in &others {
        session.invalidate_id(id).await?;
    }
    Ok(text(example_support::logged_out_others(others.len())))
}

/// Tells the device list about each use of a session (which extends its idle timeout) and the
/// ID it has now (a periodic rotation moves it when it loads), so the list forgets a session
/// only once it must have ended and invalidates the live ID. Requests to no route are left
/// alone (they load no session, so they do not extend it).
async fn track_use(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.match_pattern().is_none() {
        return next.call(req).await;
    }
    let session = req.session::<LoginSession>()?;
    let devices = req.app_data::<web::Data<Devices>>();
    if let (Some(user), Some(id), Some(devices)) =
        (session.get().await?, session.id().await?, devices)
    {
        devices.seen(&user, id, SystemTime::now());
    }
    next.call(req).await
}

#[actix_web::main]
async fn main() -> Result<(), StartError> {
    example_support::init_tracing();
    let key = example_support::signing_key()?;
    let (idle, absolute) = example_support::timeouts_from_env()?;
    // `?NAME=<signed id>` as well, only with `SESSION_QUERY_FALLBACK=NAME`.
    let transport =
        example_support::query_fallback_from_env(CookieTransport::new("__Host-session"))?;
    let mut config = SessionConfig::<LoginSession>::new(transport)
        .store(MemoryStore::new())
        .transform(Sign::new(key))
        .idle_timeout(idle)
        .absolute_timeout(absolute);
    // A new ID every `SESSION_ROTATE_ID_SECS`, the old one good for the grace window.
    if let Some((every, grace)) = example_support::rotation_from_env()? {
        config = config.rotate_id_every(every).rotation_grace(grace);
    }
    let sessions = Sessions::builder().session(config).build()?;
    let devices = web::Data::new(Devices::new(idle, absolute));
    example_support::actix::serve(move || {
        let protected = || CsrfProtection::<LoginSession>::new();
        App::new()
            .wrap(from_fn(track_use))
            .wrap(sessions.clone())
            .app_data(devices.clone())
            .service(index)
            .service(
                // No session yet, so no token: the origin check keeps other sites from
                // logging a visitor into an account of theirs (login CSRF).
                web::resource("/login")
                    .wrap(CsrfProtection::origin_only())
                    .route(web::post().to(login)),
            )
            .service(me)
            .service(csrf)
            .service(
                web::resource("/transfer")
                    .wrap(protected())
                    .route(web::post().to(transfer)),
            )
            .service(
                web::resource("/visit")
                    .wrap(protected())
                    .route(web::post().to(visit)),
            )
            .service(
                web::resource("/logout")
                    .wrap(protected())
                    .route(web::post().to(logout)),
            )
            .service(
                web::resource("/logout-others")
                    .wrap(protected())
                    .route(web::post().to(logout_others)),
            )
    })
    .await
}
