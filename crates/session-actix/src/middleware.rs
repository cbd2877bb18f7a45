//! The `Sessions` middleware: installs the per-request state, then persists what changed.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{Error, HttpResponse};
use futures::future::LocalBoxFuture;

use crate::Sessions;
use crate::active::{self, Layer};
use crate::caching;
use crate::outgoing::Outgoing;
use crate::slot::{Change, RequestState, Slot};

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
        let layer = Layer::new(self.sessions.providers(), req.headers());
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
                let Some(state) = active.into_state() else {
                    return Poll::Ready(result.map(ServiceResponse::map_into_left_body));
                };
                let slots = state.take_slots();
                if slots.is_empty() {
                    return Poll::Ready(result.map(ServiceResponse::map_into_left_body));
                }
                let persist: Persisting<B> = match result {
                    Ok(response) => Box::pin(persist_all(state, slots, response)),
                    Err(error) => Box::pin(end_sessions_then_fail(state, slots, error)),
                };
                persist
            }
        };
        self.set(SessionsFuture::Persisting { persist });
        self.poll(cx)
    }
}

/// The touched sessions' slots, with their providers' indexes.
fn touched(slots: Vec<Option<Slot>>) -> impl Iterator<Item = (usize, Slot)> {
    let slots = slots.into_iter().enumerate();
    slots.filter_map(|(index, slot)| Some((index, slot?)))
}

/// Applies every touched session's changes and adds what the response must carry; a failure
/// turns the response into an empty 500. A server error response keeps only the ends and ID
/// moves of sessions ([`ProviderCore::persist`](crate::provider::ProviderCore)).
async fn persist_all<B: MessageBody + 'static>(
    state: Arc<RequestState>,
    slots: Vec<Option<Slot>>,
    mut response: ServiceResponse<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let failed = response.status().is_server_error();
    let mut hands_out_session = false;
    for (index, slot) in touched(slots) {
        let core = &state.providers[index].core;
        // The response depends on a session that was read or written, not on one whose
        // handle was merely extracted.
        if slot.loaded.is_some() || !matches!(slot.change, Change::None) {
            caching::vary_on(response.headers_mut(), core.writer.vary());
        }
        match core.persist(slot, failed).await {
            Ok(Outgoing::Nothing) => {}
            Ok(Outgoing::Send(value)) => {
                hands_out_session = true;
                core.writer.send(value, response.headers_mut());
            }
            Ok(Outgoing::Remove) => {
                hands_out_session = true;
                core.writer.send_removal(response.headers_mut());
            }
            Err(error) => {
                tracing::error!(session = %core.name, %error, source = ?std::error::Error::source(&error), "session could not be persisted");
                let (request, _) = response.into_parts();
                let failure = HttpResponse::InternalServerError().finish();
                return Ok(ServiceResponse::new(request, failure).map_into_right_body());
            }
        }
    }
    if hands_out_session {
        caching::forbid_storing(response.headers_mut());
    }
    Ok(response.map_into_left_body())
}

/// An inner service failed with an error (not a response): nothing can be sent, but the ends
/// and ID moves of sessions still apply to the storage, so a logout never fails open.
async fn end_sessions_then_fail<B>(
    state: Arc<RequestState>,
    slots: Vec<Option<Slot>>,
    error: Error,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    for (index, slot) in touched(slots) {
        let core = &state.providers[index].core;
        if let Err(failure) = core.persist(slot, true).await {
            tracing::error!(session = %core.name, error = %failure, "session could not be ended after an error");
        }
    }
    Err(error)
}
