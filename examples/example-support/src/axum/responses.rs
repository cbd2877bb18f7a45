//! Responses shaped as actix-web shapes them.

use axum::body::Body;
use axum::http::header::{ALLOW, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;

use crate::TEXT_CONTENT_TYPE;
use crate::login::HTML_CONTENT_TYPE;

fn response(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response
}

/// `status` with `body` and no `Content-Type`, as actix-web's `HttpResponse::<Status>().body(..)`.
pub fn bare(status: StatusCode, body: impl Into<String>) -> Response {
    response(status, body.into())
}

/// `200 OK` with a plain-text body, like Ktor's `respondText` (`text/plain; charset=utf-8`).
pub fn text(body: impl Into<String>) -> Response {
    let mut response = response(StatusCode::OK, body.into());
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(TEXT_CONTENT_TYPE));
    response
}

/// `200 OK` with an HTML page (`text/html; charset=utf-8`).
pub fn html(body: impl Into<String>) -> Response {
    let mut response = response(StatusCode::OK, body.into());
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(HTML_CONTENT_TYPE));
    response
}

fn redirect(status: StatusCode, location: &'static str) -> Response {
    let mut response = response(status, Body::empty());
    response
        .headers_mut()
        .insert(LOCATION, HeaderValue::from_static(location));
    response
}

/// `302 Found` to `location`, like Ktor's `respondRedirect`.
pub fn found(location: &'static str) -> Response {
    redirect(StatusCode::FOUND, location)
}

/// `303 See Other` to `location`.
pub fn see_other(location: &'static str) -> Response {
    redirect(StatusCode::SEE_OTHER, location)
}

/// actix-web's answer to a method that a resource has no route for: `405` with an empty body
/// and `Allow: <the route's method>`.
pub(super) fn method_not_allowed(allow: &str) -> Response {
    let mut response = response(StatusCode::METHOD_NOT_ALLOWED, Body::empty());
    if let Ok(allow) = HeaderValue::from_str(allow) {
        response.headers_mut().insert(ALLOW, allow);
    }
    response
}

/// `404 Not Found`, empty, as actix-web answers a path no route takes. Give it to the router as
/// its `fallback` before its layers, so they wrap it as actix-web's middleware wraps its
/// default service (axum's own fallback answers `HEAD` without `Content-Length: 0`).
pub async fn not_found() -> Response {
    bare(StatusCode::NOT_FOUND, "")
}
