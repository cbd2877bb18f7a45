//! The service made by the [`Sessions`](crate::Sessions) layer: installs the request's state.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use session_engine::{Registry, RequestState};
use tower_service::Service;

use crate::SessionsFuture;

/// The service produced by [`Sessions`](crate::Sessions); not used directly.
#[derive(Clone, Debug)]
pub struct SessionsService<S> {
    inner: S,
    registry: Registry,
}

impl<S> SessionsService<S> {
    pub(crate) fn new(inner: S, registry: Registry) -> Self {
        Self { inner, registry }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SessionsService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = SessionsFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        // An enclosing `Sessions` layer's state: the types registered only there are served
        // from there. Ours replaces it in the extensions for what runs inside.
        let outer = req.extensions().get::<Arc<RequestState>>().cloned();
        let state = RequestState::new(&self.registry, outer);
        req.extensions_mut().insert(Arc::clone(&state));
        SessionsFuture::new(self.inner.call(req), state)
    }
}
