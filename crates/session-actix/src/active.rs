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

use std::any::TypeId;
use std::cell::RefCell;
use std::sync::Arc;

use crate::SessionError;
use crate::provider::Provider;
use crate::slot::RequestState;

/// One `Sessions` layer of one request.
pub(crate) struct Layer {
    /// The layer's registered sessions.
    providers: Arc<[Provider]>,
    /// Created by the first handle asked for; `None` while no session was touched.
    state: Option<Arc<RequestState>>,
}

impl Layer {
    pub(crate) fn new(providers: Arc<[Provider]>) -> Self {
        Self {
            providers,
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

/// The request state and provider index of session type `type_id`: from the innermost active
/// layer that registered it, created there on first use.
///
/// # Errors
///
/// [`SessionError::MiddlewareMissing`] when no layer is active, and
/// [`SessionError::NotRegistered`] when none registered the type.
pub(crate) fn state_for(
    type_id: TypeId,
    type_name: &'static str,
) -> Result<(Arc<RequestState>, usize), SessionError> {
    ACTIVE.with_borrow_mut(|active| {
        if active.is_empty() {
            return Err(SessionError::MiddlewareMissing);
        }
        for layer in active.iter_mut().rev() {
            let Some(index) = layer.providers.iter().position(|p| p.type_id == type_id) else {
                continue;
            };
            let providers = &layer.providers;
            let state = layer
                .state
                .get_or_insert_with(|| Arc::new(RequestState::new(Arc::clone(providers))));
            return Ok((Arc::clone(state), index));
        }
        Err(SessionError::NotRegistered { type_name })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth() -> usize {
        ACTIVE.with_borrow(Vec::len)
    }

    #[test]
    fn layers_nest_and_are_removed_even_when_the_call_panics() {
        let providers: Arc<[Provider]> = Arc::from(Vec::new());
        let (layer, inner_depth) = run_within(Layer::new(Arc::clone(&providers)), || {
            run_within(Layer::new(Arc::clone(&providers)), depth).1
        });
        assert_eq!(inner_depth, 2);
        assert!(layer.into_state().is_none());
        assert_eq!(depth(), 0);

        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_within(Layer::new(Arc::clone(&providers)), || {
                panic!("handler panicked")
            })
        }));
        assert!(panicked.is_err());
        assert_eq!(depth(), 0, "a panicking call leaves no layer behind");
    }

    #[test]
    fn no_active_layer_is_a_missing_middleware() {
        let error = state_for(TypeId::of::<u8>(), "u8").map(drop).unwrap_err();
        assert!(
            matches!(error, SessionError::MiddlewareMissing),
            "{error:?}"
        );
        let providers: Arc<[Provider]> = Arc::from(Vec::new());
        let (_, result) = run_within(Layer::new(providers), || {
            state_for(TypeId::of::<u8>(), "u8").map(drop)
        });
        assert!(matches!(
            result,
            Err(SessionError::NotRegistered { type_name: "u8" })
        ));
    }
}
