//! The axum twin of `session-header-server`, itself a port of Ktor's `session-header-server`
//! sample: the cart lives on the server, one file per session in `build/.sessions` (or
//! `$SESSIONS_DIR`; in Redis when `REDIS_URL` is set; in PostgreSQL or an SQLite file when
//! `DATABASE_URL` is, `postgres://…` or `sqlite://FILE`), so carts survive a restart, and its
//! signed ID travels in the `cart_session` header, for API clients. CORS lets scripts on other
//! origins send that header and read it from responses.
//!
//! Same routes, texts, status codes, headers, CORS answers and environment variables as the
//! actix-web original (a client or test of one passes against the other, and both read each
//! other's session directory); the cart, texts, keys, storage and serving are shared through
//! `example-support`.
//!
//! CORS: `sessions.cors(..)` turns tower-http's `CorsLayer` (any origin, mirrored; `GET`) into
//! one that allows and exposes the `cart_session` header. The original uses actix-cors, which
//! differs from tower-http in three ways a client can see; [`as_actix_cors`] keeps those
//! answers the same: a preflight asking for another method or header is refused with `400`
//! and a text (tower-http answers `200` without the permission: browsers block the request
//! either way), an `OPTIONS` request without `Access-Control-Request-Method` is not a
//! preflight (it reaches the routes, so `404` here), and `Vary` names the CORS request
//! headers as actix-cors spells them, in the same header as the session's `Vary`.
//!
//! ```text
//! cargo run -p axum-session-header-server
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

use axum::Router;
use axum::extract::Request;
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_REQUEST_HEADERS,
    ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use example_support::axum::{bare, not_found, route_for, text};
use example_support::{CartSession, LOGIN_DONE, LOGOUT_DONE, StartError};
use session_axum::cors::{AllowOrigin, CorsLayer};
use session_axum::{HeaderTransport, Session, SessionConfig, SessionError, Sessions, Sign};

/// The session header, allowed and exposed by CORS.
const HEADER: &str = "cart_session";
/// What actix-cors appends to `Vary`.
const CORS_VARY: &str = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

async fn login(session: Session<CartSession>) -> Result<Response, SessionError> {
    session.renew().await?;
    session.set(CartSession::sample())?;
    Ok(text(LOGIN_DONE))
}

async fn cart(session: Session<CartSession>) -> Result<Response, SessionError> {
    Ok(text(CartSession::page(session.get().await?.as_ref())))
}

async fn logout(session: Session<CartSession>) -> Result<Response, SessionError> {
    session.clear();
    Ok(text(LOGOUT_DONE))
}

/// Why actix-cors refuses a preflight (its `CorsError` texts), or `None` if it allows it.
fn preflight_refusal(headers: &HeaderMap) -> Option<&'static str> {
    let method = headers.get(ACCESS_CONTROL_REQUEST_METHOD)?;
    if Method::from_bytes(method.as_bytes()).ok()? != Method::GET {
        return Some("Requested method is not allowed");
    }
    let requested = headers.get(ACCESS_CONTROL_REQUEST_HEADERS)?;
    let Ok(requested) = requested.to_str() else {
        return Some("Request header `Access-Control-Request-Headers` has an invalid value");
    };
    for name in requested.split(',') {
        match HeaderName::try_from(name.trim()) {
            Ok(name) if name == HEADER => {}
            Ok(_) => return Some("One or more request headers are not allowed"),
            Err(_) => {
                return Some(
                    "Request header `Access-Control-Request-Headers` has an invalid value",
                );
            }
        }
    }
    None
}

/// Adds actix-cors's `Vary` names to the response's own `Vary` (one header, as actix-cors).
fn add_vary(headers: &mut HeaderMap) {
    let value = match headers.get(VARY) {
        Some(own) => {
            let mut value = own.as_bytes().to_vec();
            value.extend_from_slice(b", ");
            value.extend_from_slice(CORS_VARY.as_bytes());
            HeaderValue::from_bytes(&value).ok()
        }
        None => Some(HeaderValue::from_static(CORS_VARY)),
    };
    if let Some(value) = value {
        headers.insert(VARY, value);
    }
}

/// Wrapped around tower-http's `CorsLayer`: answers what actix-cors answers differently (see
/// the crate docs).
async fn as_actix_cors(request: Request, next: Next) -> Response {
    if request.method() == Method::OPTIONS {
        let is_preflight = request
            .headers()
            .get(ACCESS_CONTROL_REQUEST_METHOD)
            .is_some_and(|method| Method::from_bytes(method.as_bytes()).is_ok());
        if !is_preflight {
            // Not a preflight for actix-cors: it reaches the routes, none of which takes
            // OPTIONS, and gets the headers of an actual CORS response.
            let mut response = bare(StatusCode::NOT_FOUND, "");
            let headers = response.headers_mut();
            if let Some(origin) = request.headers().get(ORIGIN) {
                headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            }
            headers.insert(
                ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(HEADER),
            );
            add_vary(headers);
            return response;
        }
        if let Some(refusal) = preflight_refusal(request.headers()) {
            return bare(StatusCode::BAD_REQUEST, refusal);
        }
    }
    let mut response = next.run(request).await;
    add_vary(response.headers_mut());
    response
}

#[tokio::main]
async fn main() -> Result<(), StartError> {
    example_support::init_tracing();
    let key = example_support::signing_key()?;
    let sessions = Sessions::builder()
        .session(
            SessionConfig::<CartSession>::new(HeaderTransport::new(HEADER))
                .shared_store(
                    example_support::store_from_env(|| {
                        Ok(Arc::new(example_support::directory_store()?))
                    })
                    .await?,
                )
                .transform(Sign::new(key)),
        )
        .build()?;
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods([Method::GET])
        .vary([]);
    // The last `layer` is the outermost: CORS answers preflights before sessions run, and adds
    // its headers to every response.
    let app = Router::new()
        .route("/login", route_for(Method::GET, login))
        .route("/cart", route_for(Method::GET, cart))
        .route("/logout", route_for(Method::GET, logout))
        .fallback(not_found)
        .layer(sessions.clone())
        .layer(sessions.cors(cors))
        .layer(middleware::from_fn(as_actix_cors));
    example_support::axum::serve(app).await
}
