//! Routes that answer other methods as actix-web does.
//!
//! axum's `get(handler)` also serves `HEAD` and answers other methods `405` with
//! `Allow: GET,HEAD`. actix-web's `#[get("/path")]` (a resource guarded by its method) serves
//! `GET` only and lets other methods fall through to `404`, and
//! `web::resource("/path").route(web::post().to(handler))` answers other methods `405` with
//! `Allow: POST`. These two build the same answers on axum, so the twins agree on every method.

use axum::extract::Request;
use axum::handler::Handler;
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::routing::{MethodRouter, any};

use super::responses::{bare, method_not_allowed};

/// `handler` for `method` only; any other method answers `404` with an empty body, as an
/// actix-web handler declared with `#[get("/path")]` or `#[post("/path")]`.
pub fn route_for<H, T, S>(method: Method, handler: H) -> MethodRouter<S>
where
    H: Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    any(handler).layer(middleware::from_fn(move |request: Request, next: Next| {
        let matches = *request.method() == method;
        async move {
            if matches {
                next.run(request).await
            } else {
                bare(StatusCode::NOT_FOUND, "")
            }
        }
    }))
}

/// `handler` for `method` only; any other method answers `405` with `Allow: <method>`, as an
/// actix-web `web::resource(path).route(web::<method>().to(handler))`. A layer added to the
/// returned router (such as CSRF protection) runs before that `405`, as a `wrap` on the
/// actix-web resource does.
pub fn resource_for<H, T, S>(method: Method, handler: H) -> MethodRouter<S>
where
    H: Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    any(handler).layer(middleware::from_fn(move |request: Request, next: Next| {
        let refusal = (*request.method() != method).then(|| method_not_allowed(method.as_str()));
        async move {
            match refusal {
                Some(refusal) => refusal,
                None => next.run(request).await,
            }
        }
    }))
}
