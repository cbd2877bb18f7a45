//! The response future of the [`Sessions`](crate::Sessions) layer: the inner service's
//! response, then, only when a session was touched, the storage writes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use futures::future::BoxFuture;
use http::Response;
use session_engine::{Changes, RequestState, SessionError};

use crate::error::{empty, status_code};
use crate::headers::ResponseHeaders;

pin_project_lite::pin_project! {
    /// The response future of [`SessionsService`](crate::SessionsService); not used directly.
    /// A request that touched no session passes through it without boxing (its cost is the
    /// request state made by the service: an `Arc` and an extensions entry); only persisting
    /// is boxed.
    #[doc(hidden)]
    #[project = Projection]
    pub enum SessionsFuture<F, B, E> {
        /// The inner service is answering.
        Calling {
            #[pin]
            call: F,
            state: Arc<RequestState>,
        },
        /// The touched sessions are being persisted.
        Persisting {
            persist: BoxFuture<'static, Result<Response<B>, E>>,
        },
    }
}

impl<F, B, E> SessionsFuture<F, B, E> {
    pub(crate) fn new(call: F, state: Arc<RequestState>) -> Self {
        Self::Calling { call, state }
    }
}

impl<F, B, E> Future for SessionsFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Default + Send + 'static,
    E: Send + 'static,
{
    type Output = Result<Response<B>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let persist: BoxFuture<'static, _> = match self.as_mut().project() {
            Projection::Persisting { persist } => return persist.as_mut().poll(cx),
            Projection::Calling { call, state } => {
                let result = ready!(call.poll(cx));
                // No session touched: nothing to do.
                let Some(changes) = state.take_changes() else {
                    return Poll::Ready(result);
                };
                match result {
                    Ok(mut response) => {
                        let status = response.status().as_u16();
                        let headers = &mut ResponseHeaders(response.headers_mut());
                        match changes.apply_now(status, headers) {
                            // No storage involved: no future to build.
                            Ok(applied) => return Poll::Ready(Ok(answer(applied, response))),
                            Err(changes) => {
                                Box::pin(async move { Ok(persist(changes, response).await) })
                            }
                        }
                    }
                    Err(error) => Box::pin(async move {
                        changes.apply_after_error().await;
                        Err(error)
                    }),
                }
            }
        };
        self.set(Self::Persisting { persist });
        self.poll(cx)
    }
}

/// Applies the request's session changes to the response; a failure (already logged by the
/// engine) turns it into an empty 500, or an empty 503 when the storage is full.
async fn persist<B: Default>(changes: Changes, mut response: Response<B>) -> Response<B> {
    let status = response.status().as_u16();
    let applied = changes
        .apply(status, &mut ResponseHeaders(response.headers_mut()))
        .await;
    answer(applied, response)
}

/// The response once the changes were applied: itself, or an empty 500 (503 when the storage
/// is full) if they could not be.
fn answer<B: Default>(applied: Result<(), SessionError>, response: Response<B>) -> Response<B> {
    match applied {
        Ok(()) => response,
        Err(error) => empty(status_code(error.status())),
    }
}
