//! The `Sessions` middleware: installs the per-request state, then persists what changed.

use std::future::{Ready, ready};
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{Error, HttpMessage, HttpResponse};
use futures::future::LocalBoxFuture;

use crate::Sessions;
use crate::outgoing::Outgoing;
use crate::slot::RequestState;

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
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let parent = req.extensions_mut().remove::<Arc<RequestState>>();
        let state = Arc::new(RequestState::new(self.sessions.providers(), parent.clone()));
        req.extensions_mut().insert(Arc::clone(&state));
        let service = Rc::clone(&self.service);
        Box::pin(async move {
            let mut response = service.call(req).await?;
            // Give an enclosing Sessions middleware its own state back.
            if let Some(parent) = parent {
                response.request().extensions_mut().insert(parent);
            }
            let slots = state.take_slots();
            if slots.is_empty() {
                return Ok(response.map_into_left_body());
            }
            if response.status().is_server_error() {
                tracing::debug!("server error response: session changes not persisted");
                return Ok(response.map_into_left_body());
            }
            let touched = slots.into_iter().enumerate();
            for (index, slot) in touched.filter_map(|(index, slot)| Some((index, slot?))) {
                let core = &state.providers[index].core;
                match core.persist(slot).await {
                    Ok(Outgoing::Nothing) => {}
                    Ok(Outgoing::Send(value)) => core.writer.send(value, response.headers_mut()),
                    Ok(Outgoing::Remove) => core.writer.send_removal(response.headers_mut()),
                    Err(error) => {
                        tracing::error!(session = %core.name, %error, source = ?std::error::Error::source(&error), "session could not be persisted");
                        let (request, _) = response.into_parts();
                        let failure = HttpResponse::InternalServerError().finish();
                        return Ok(ServiceResponse::new(request, failure).map_into_right_body());
                    }
                }
            }
            Ok(response.map_into_left_body())
        })
    }
}
