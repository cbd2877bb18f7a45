//! The axum twin of `session-login`: the session lifecycle a real app needs, in one small
//! server, with the same routes, texts, status codes, cookie, CSRF answers and environment
//! variables as the actix-web original (a client or test of one passes against the other):
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
//! The session type, forms, page, texts, device list, keys, timeouts and serving are shared
//! with the original through `example-support`; forms are read by its `Form`, which refuses
//! what actix-web's `web::Form` refuses with the same answers, and routes answer other methods
//! as actix-web does (`404`, or `405` with `Allow: POST` for the CSRF-protected ones).
//!
//! ```text
//! cargo run -p axum-session-login
//! ```
//!
//! Without `SESSION_SIGNING_KEY` it uses the development key file `build/dev-session-signing.key`
//! in the working directory (`$DEV_KEY_DIR` instead of `build`), created with mode 0600 on the
//! first start and reused by later ones, with a warning. Anywhere but on a development machine, set
//! the variable: `SESSION_SIGNING_KEY=$(openssl rand -hex 32)`.

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use example_support::axum::{
    Form, bare, html, not_found, resource_for, route_for, see_other, text,
};
use example_support::{
    Devices, LOGGED_OUT, LoginForm, LoginSession, NOT_LOGGED_IN, StartError, TransferForm,
    USERNAME_RULE,
};
use session_axum::{
    CookieTransport, CsrfProtection, Session, SessionConfig, SessionError, SessionExt as _,
    Sessions,
};
use session_axum::{MemoryStore, Sign};

/// A small page that drives the routes from a browser.
async fn index(session: Session<LoginSession>) -> Result<Response, SessionError> {
    let page = match session.get().await? {
        None => example_support::page(None),
        Some(user) => {
            // Masked afresh for each page, so a compressed page never repeats the secret.
            let token = session.masked_csrf_token().await?.unwrap_or_default();
            example_support::page(Some((&user, &token)))
        }
    };
    Ok(html(page))
}

async fn login(
    State(devices): State<Arc<Devices>>,
    session: Session<LoginSession>,
    Form(form): Form<LoginForm>,
) -> Result<Response, SessionError> {
    let Some(username) = form.valid_username() else {
        return Ok(bare(StatusCode::BAD_REQUEST, USERNAME_RULE));
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
    Ok(see_other("/me"))
}

async fn me(session: Session<LoginSession>) -> Result<Response, SessionError> {
    Ok(match session.get().await? {
        Some(user) => text(user.greeting()),
        None => bare(StatusCode::UNAUTHORIZED, NOT_LOGGED_IN),
    })
}

async fn csrf(session: Session<LoginSession>) -> Result<Response, SessionError> {
    Ok(match session.csrf_token().await? {
        Some(token) => text(token),
        None => bare(StatusCode::UNAUTHORIZED, NOT_LOGGED_IN),
    })
}

async fn transfer(Form(form): Form<TransferForm>) -> Response {
    text(form.answer())
}

/// Counts a visit atomically: concurrent requests of one session lose no increment.
async fn visit(session: Session<LoginSession>) -> Result<Response, SessionError> {
    Ok(match session.update(|user| user.visits += 1).await? {
        Some(user) => text(user.visits.to_string()),
        None => bare(StatusCode::UNAUTHORIZED, NOT_LOGGED_IN),
    })
}

async fn logout(
    State(devices): State<Arc<Devices>>,
    session: Session<LoginSession>,
) -> Result<Response, SessionError> {
    if let Some(user) = session.get().await? {
        devices.remove(&user, SystemTime::now());
    }
    session.clear();
    Ok(text(LOGGED_OUT))
}

async fn logout_others(
    State(devices): State<Arc<Devices>>,
    session: Session<LoginSession>,
) -> Result<Response, SessionError> {
    let Some(user) = session.get().await? else {
        return Ok(bare(StatusCode::UNAUTHORIZED, NOT_LOGGED_IN));
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
    State(devices): State<Arc<Devices>>,
    request: Request,
    next: Next,
) -> Result<Response, SessionError> {
    if request.extensions().get::<MatchedPath>().is_none() {
        return Ok(next.run(request).await);
    }
    let session = request.session::<LoginSession>()?;
    if let (Some(user), Some(id)) = (session.get().await?, session.id().await?) {
        devices.seen(&user, id, SystemTime::now());
    }
    Ok(next.run(request).await)
}

#[tokio::main]
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
    let devices = Arc::new(Devices::new(idle, absolute));
    let protected = || CsrfProtection::<LoginSession>::new();
    // The last `layer` is the outermost: sessions, then the device list, then (per route) CSRF.
    let app = Router::new()
        .route("/", route_for(Method::GET, index))
        // No session yet, so no token: the origin check keeps other sites from logging a
        // visitor into an account of theirs (login CSRF).
        .route(
            "/login",
            resource_for(Method::POST, login).layer(CsrfProtection::origin_only()),
        )
        .route("/me", route_for(Method::GET, me))
        .route("/csrf", route_for(Method::GET, csrf))
        .route(
            "/transfer",
            resource_for(Method::POST, transfer).layer(protected()),
        )
        .route(
            "/visit",
            resource_for(Method::POST, visit).layer(protected()),
        )
        .route(
            "/logout",
            resource_for(Method::POST, logout).layer(protected()),
        )
        .route(
            "/logout-others",
            resource_for(Method::POST, logout_others).layer(protected()),
        )
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(devices.clone(), track_use))
        .layer(sessions)
        .with_state(devices);
    example_support::axum::serve(app).await
}
