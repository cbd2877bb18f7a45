//! The `Sessions` middleware: installs the per-request state, then persists what changed.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::StatusCode;
use actix_web::{Error, HttpResponse};
use futures::future::LocalBoxFuture;
use session_engine::Changes;

use crate::Sessions;
use crate::active::{self, Layer};
use crate::headers::ResponseHeaders;

impl<S, B> Transform<S, ServiceRequest> for Sessions
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = SessionsMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(SessionsMiddleware {
            service: Rc::new(service),
            sessions: self.clone(),
        }))
    }
}

/// The service produced by [`Sessions`]; not used directly.
#[doc(hidden)]
#[derive(Debug)]
pub struct SessionsMiddleware<S> {
    service: Rc<S>,
    sessions: Sessions,
}

impl<S, B> Service<ServiceRequest> for SessionsMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = SessionsFuture<S::Future, B>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        // Routing and guards run now: they may ask for a session too.
        let layer = Layer::new(self.sessions.registry().clone(), req.headers());
        let (layer, call) = active::run_within(layer, || self.service.call(req));
        SessionsFuture::Calling {
            call,
            layer: Some(layer),
        }
    }
}

/// The response of a future boxed only when some session has something to persist.
type Persisting<B> = LocalBoxFuture<'static, Result<ServiceResponse<EitherBody<B>>, Error>>;

pin_project_lite::pin_project! {
    /// The response future of [`SessionsMiddleware`]: the inner service's, then, only when a
    /// session was touched, the storage writes. Not used directly.
    #[doc(hidden)]
    #[project = SessionsFutureProjection]
    pub enum SessionsFuture<F, B> {
        Calling {
            #[pin]
            call: F,
            // Only `None` while it is active, during a poll of `call`.
            layer: Option<Layer>,
        },
        Persisting {
            persist: Persisting<B>,
        },
    }
}

impl<F, B> Future for SessionsFuture<F, B>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
    B: MessageBody + 'static,
{
    type Output = Result<ServiceResponse<EitherBody<B>>, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let persist = match self.as_mut().project() {
            SessionsFutureProjection::Persisting { persist } => return persist.as_mut().poll(cx),
            SessionsFutureProjection::Calling { call, layer } => {
                let active = layer
                    .take()
                    .expect("SessionsFuture polled after completion");
                let (active, poll) = active::run_within(active, || call.poll(cx));
                let result = match poll {
                    Poll::Pending => {
                        *layer = Some(active);
                        return Poll::Pending;
                    }
                    Poll::Ready(result) => result,
                };
                // No session touched: nothing was allocated, nothing to do.
                let Some(changes) = active.into_state().and_then(|s| s.take_changes()) else {
                    return Poll::Ready(result.map(ServiceResponse::map_into_left_body));
                };
                let persist: Persisting<B> = match result {
                    Ok(mut response) => {
                        let status = response.status().as_u16();
                        let headers = &mut ResponseHeaders(response.headers_mut());
                        match changes.apply_now(status, headers) {
                            // No storage involved: no future to build.
                            Ok(applied) => return Poll::Ready(Ok(answer(applied, response))),
                            Err(changes) => Box::pin(persist(changes, response)),
                        }
                    }
                    Err(error) => Box::pin(async move {
                        changes.apply_after_error().await;
                        Err(error)
                    }),
                };
                persist
            }
        };
        self.set(SessionsFuture::Persisting { persist });
        self.poll(cx)
    }
}

/// Applies the request's session changes to the response; a failure turns it into an empty
/// 500, or an empty 503 when the storage is full ([`Changes::apply`]).
async fn persist<B: MessageBody + 'static>(
    changes: Changes,
    mut response: ServiceResponse<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let status = response.status().as_u16();
    let applied = changes
        .apply(status, &mut ResponseHeaders(response.headers_mut()))
        .await;
    Ok(answer(applied, response))
}

/// The response once the changes were applied: itself, or an empty 500 (503 when the storage
/// is full) if they could not be.
fn answer<B>(
    applied: Result<(), session_engine::SessionError>,
    response: ServiceResponse<B>,
) -> ServiceResponse<EitherBody<B>> {
    match applied {
        Ok(()) => response.map_into_left_body(),
        Err(error) => {
            let (request, _) = response.into_parts();
            let status = StatusCode::from_u16(error.status());
            let failure = HttpResponse::new(status.unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
            ServiceResponse::new(request, failure).map_into_right_body()
        }
    }
}
