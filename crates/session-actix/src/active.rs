//! The `Sessions` layers whose request this thread is handling right now.
//!
//! The middleware does nothing per request up front, so a request that never touches a
//! session costs next to nothing: while a `Sessions` layer runs the service it wraps (its
//! `call`, then each `poll` of the response future), the layer sits on this thread's stack,
//! and the first handle asked for creates the layer's request state in it. Afterwards the
//! response future takes the state back and persists it. Extractors, guards and inner
//! middleware all run inside those calls, so they find the layer; nested layers stack up, and
//! the innermost one that registered a session type serves it.
//!
//! Outside those calls (a task spawned by a handler, a response body being streamed) no layer
//! is active: a handle is then obtained in the handler and moved there (it is `Send`).
//!
//! Why not the request's extensions, the engine guide's first suggestion: inserting the
//! request state there costs an `Arc`, a `Box` and a hash-map entry on every request, touched
//! or not. Measured with `scripts/callgrind.sh cookie-encrypted plain` (a route that never
//! touches the session, cookie sent): 21,572 instructions per request with this stack,
//! 22,068 with the state inserted into the extensions as well, so +496, or 2.4% of a bare
//! request's 20,869, where the design allows 1%. This stack costs a push and a pop.

use std::cell::RefCell;
use std::sync::Arc;

use actix_web::dev::RequestHead;
use actix_web::http::header::HeaderMap;
use session_engine::{Registry, RequestState, SessionHandle};

use crate::SessionError;
use crate::headers::RequestHeaders;

/// One `Sessions` layer of one request.
pub(crate) struct Layer {
    /// The layer's registered sessions.
    registry: Registry,
    /// The address of the request's headers: which request this layer serves. A future of
    /// another request polled from inside this one's (a shared future) must not get this
    /// request's sessions. The headers live in the request head, which stays put and is not
    /// reused while the request (and so this layer) lives.
    request: usize,
    /// Created by the first handle asked for; `None` while no session was touched.
    state: Option<Arc<RequestState>>,
}

impl Layer {
    pub(crate) fn new(registry: Registry, request: &HeaderMap) -> Self {
        Self {
            registry,
            request: request_address(request),
            state: None,
        }
    }

    /// The request's state, if a session of this layer was touched.
    pub(crate) fn into_state(self) -> Option<Arc<RequestState>> {
        self.state
    }
}

thread_local! {
    /// The active layers, outermost first.
    static ACTIVE: RefCell<Vec<Layer>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with `layer` active on this thread, and gives the layer back with whatever state
/// `f` created in it.
pub(crate) fn run_within<R>(layer: Layer, f: impl FnOnce() -> R) -> (Layer, R) {
    ACTIVE.with_borrow_mut(|active| active.push(layer));
    let guard = PopOnDrop;
    let result = f();
    let layer = guard.pop();
    (layer, result)
}

/// Takes the layer off the stack even when `f` panics, so a later request never sees it.
struct PopOnDrop;

impl PopOnDrop {
    fn pop(self) -> Layer {
        std::mem::forget(self);
        ACTIVE
            .with_borrow_mut(Vec::pop)
            .expect("the layer pushed by run_within is on top")
    }
}

impl Drop for PopOnDrop {
    fn drop(&mut self) {
        // Unwinding: drop the layer (its request is failing anyway).
        let _ = ACTIVE.try_with(|active| active.try_borrow_mut().map(|mut a| a.pop()));
    }
}

/// Identifies a request by its headers.
fn request_address(headers: &HeaderMap) -> usize {
    std::ptr::from_ref(headers).addr()
}

/// The handle of session type `T` for the request `head`: from the innermost active layer of
/// that request (told apart by its headers) that registered it, whose request state is created
/// on first use. The engine reads the head's headers and its URL's query.
///
/// # Errors
///
/// [`SessionError::MiddlewareMissing`] when no layer of the request is active, and
/// [`SessionError::NotRegistered`] when none registered the type.
pub(crate) fn session<T: Clone + Send + 'static>(
    head: &RequestHead,
) -> Result<SessionHandle<T, SessionError>, SessionError> {
    let headers = &head.headers;
    let request = request_address(headers);
    let state = ACTIVE.with_borrow_mut(|active| {
        let mut layers = active
            .iter_mut()
            .rev()
            .filter(|l| l.request == request)
            .peekable();
        if layers.peek().is_none() {
            return Err(SessionError::MiddlewareMissing);
        }
        let layer = layers
            .find(|layer| layer.registry.serves::<T>())
            .ok_or_else(|| SessionError::NotRegistered {
                type_name: std::any::type_name::<T>(),
            })?;
        let registry = &layer.registry;
        let state = layer
            .state
            .get_or_insert_with(|| RequestState::new(registry, None));
        Ok(Arc::clone(state))
    })?;
    state.session(&RequestHeaders(headers), head.uri.query())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth() -> usize {
        ACTIVE.with_borrow(Vec::len)
    }

    fn registry() -> Registry {
        Registry::builder().build().unwrap()
    }

    #[test]
    fn layers_nest_and_are_removed_even_when_the_call_panics() {
        let request = HeaderMap::new();
        let layer = || Layer::new(registry(), &request);
        let (outer, inner_depth) = run_within(layer(), || run_within(layer(), depth).1);
        assert_eq!(inner_depth, 2);
        assert!(outer.into_state().is_none());
        assert_eq!(depth(), 0);

        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_within(layer(), || panic!("handler panicked"))
        }));
        assert!(panicked.is_err());
        assert_eq!(depth(), 0, "a panicking call leaves no layer behind");
    }

    #[test]
    fn only_a_layer_of_the_same_request_serves_it() {
        let request = RequestHead::default();
        let other_request = RequestHead::default();
        let missing = |head: &RequestHead| {
            matches!(
                session::<u8>(head).map(drop),
                Err(SessionError::MiddlewareMissing)
            )
        };
        assert!(missing(&request), "no layer at all");
        let (_, (own, other)) = run_within(Layer::new(registry(), &request.headers), || {
            let own = session::<u8>(&request).map(drop);
            (own, missing(&other_request))
        });
        assert!(matches!(
            own,
            Err(SessionError::NotRegistered { type_name: "u8" })
        ));
        assert!(other, "another request's layer is not used");
    }
}
