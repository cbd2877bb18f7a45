//! `Connection: close` after a request whose body was not read, as actix-web does.

use std::future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::{Body, Bytes, HttpBody as _};
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::CONNECTION;
use axum::middleware::Next;
use axum::response::Response;
use futures::StreamExt as _;

/// Answers `Connection: close` when the request came with a body that nobody read to its end
/// (a refused form, a route that takes no body): actix-web then closes the connection rather
/// than read the rest, and says so.
pub(super) async fn close_if_unread(request: Request, next: Next) -> Response {
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let finished = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&finished);
    let request = request.map(|body| {
        let end = futures::stream::once(async move { flag.store(true, Ordering::Release) })
            .filter_map(|()| future::ready(None::<Result<Bytes, axum::Error>>));
        Body::from_stream(body.into_data_stream().chain(end))
    });
    let mut response = next.run(request).await;
    if !finished.load(Ordering::Acquire) {
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
