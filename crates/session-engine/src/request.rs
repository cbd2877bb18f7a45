//! The per-request state an adapter keeps for one `Sessions` layer, and what it persists once
//! the response is made.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::headers::Headers;
use crate::slot::Slot;
use crate::{Changes, Registry, SessionError, SessionHandle};

/// The sessions of one request under one `Sessions` layer, shared by the handles and the
/// layer. Nothing is read from the request until a handle is asked for.
///
/// Layers nest: a request state knows the state of the layer around it (`outer`), and a
/// session type registered only there is served from there.
///
/// # Examples
///
/// What an adapter does for one request, here over plain [`HeaderList`](crate::HeaderList)s:
///
/// ```
/// use session_engine::core::{Encrypt, EncryptionKey};
/// use session_engine::{
///     CookieTransport, HeaderKey, HeaderList, Headers, Registry, RequestState, SessionConfig,
///     SessionError, SessionHandle,
/// };
/// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Visits { count: u32 }
///
/// # futures::executor::block_on(async {
/// let registry = Registry::builder()
///     .session(
///         SessionConfig::<Visits>::new(CookieTransport::new("visits"))
///             .transform(Encrypt::new(EncryptionKey::generate())),
///     )
///     .build()?;
/// let request = HeaderList::new();
/// // The layer: a state per request, reachable by the extractor.
/// let state = RequestState::new(&registry, None);
/// // The extractor and the handler.
/// // The request's headers and raw query (`None`: the URL has none).
/// let session: SessionHandle<Visits, SessionError> = state.session(&request, None)?;
/// session.set(Visits { count: 1 })?;
/// // The layer, once the handler answered 200.
/// let mut response = HeaderList::new();
/// if let Some(changes) = state.take_changes() {
///     changes.apply(200, &mut response).await?;
/// }
/// let set_cookie = response.first(HeaderKey::SetCookie).expect("the new value is sent");
/// assert!(set_cookie.starts_with(b"visits="));
/// assert_eq!(response.first(HeaderKey::CacheControl), Some(&b"no-store"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct RequestState {
    registry: Registry,
    outer: Option<Arc<RequestState>>,
    slots: Mutex<Slots>,
}

/// The request's sessions: one entry per registered session once any was touched (empty
/// until then), and whether the changes were taken for the response.
#[derive(Default)]
struct Slots {
    open: Vec<Option<Slot>>,
    finished: bool,
}

impl fmt::Debug for RequestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestState")
            .field("registry", &self.registry)
            .field("outer", &self.outer)
            .finish_non_exhaustive()
    }
}

impl RequestState {
    /// The state of a request that enters a layer of `registry`, inside the layer whose
    /// request state is `outer`, if any.
    #[must_use]
    pub fn new(registry: &Registry, outer: Option<Arc<Self>>) -> Arc<Self> {
        Arc::new(Self {
            registry: registry.clone(),
            outer,
            slots: Mutex::new(Slots::default()),
        })
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The handle of session type `T`, from this layer or the nearest outer one that
    /// registered it, reading what the request carried on first use: its `headers`, and its
    /// raw `query` (the URL after `?`, still percent-encoded; `None` without one), which only
    /// a [`CookieTransport::query_fallback`](crate::CookieTransport::query_fallback) reads.
    ///
    /// # Errors
    ///
    /// [`SessionError::NotRegistered`] when no layer registered `T`, and
    /// [`SessionError::RequestFinished`] once that layer's response was made.
    pub fn session<T, E>(
        self: &Arc<Self>,
        headers: &impl Headers,
        query: Option<&str>,
    ) -> Result<SessionHandle<T, E>, E>
    where
        T: Clone + Send + 'static,
        E: From<SessionError>,
    {
        let mut layer = self;
        loop {
            if let Some(index) = layer.registry.position::<T>() {
                layer.open_slot(index, headers, query)?;
                return Ok(SessionHandle::new(Arc::clone(layer), index)?);
            }
            layer = layer
                .outer
                .as_ref()
                .ok_or_else(|| SessionError::NotRegistered {
                    type_name: std::any::type_name::<T>(),
                })?;
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The error of a handle used or made after the response.
    fn finished(&self, index: usize) -> SessionError {
        SessionError::RequestFinished {
            name: self.registry.providers()[index].core.name.clone(),
        }
    }

    /// Makes sure the slot exists, reading what the request carried the first time.
    ///
    /// # Errors
    ///
    /// [`SessionError::RequestFinished`] once the changes were taken.
    fn open_slot(
        &self,
        index: usize,
        headers: &impl Headers,
        query: Option<&str>,
    ) -> Result<(), SessionError> {
        let mut slots = self.lock();
        if slots.finished {
            return Err(self.finished(index));
        }
        if slots.open.is_empty() {
            slots.open = std::iter::repeat_with(|| None)
                .take(self.registry.providers().len())
                .collect();
        }
        if slots.open[index].is_none() {
            let incoming = self.registry.providers()[index]
                .core
                .transport
                .read(headers, query);
            slots.open[index] = Some(Slot::new(incoming));
        }
        Ok(())
    }

    /// Runs `f` on a touched slot (every handle touched its own when it was made).
    ///
    /// # Errors
    ///
    /// [`SessionError::RequestFinished`] once the response was made and the slots taken, as
    /// by a handle used in a task that outlives its handler.
    pub(crate) fn with_slot<R>(
        &self,
        index: usize,
        f: impl FnOnce(&mut Slot) -> R,
    ) -> Result<R, SessionError> {
        let mut slots = self.lock();
        match slots.open.get_mut(index).and_then(Option::as_mut) {
            Some(slot) => Ok(f(slot)),
            None => Err(self.finished(index)),
        }
    }

    /// Takes what the request's handlers changed, once the response is made (or the inner
    /// service failed): `None` when no session of this layer was touched, which is the cheap
    /// common case. Handles used or made afterwards get [`SessionError::RequestFinished`].
    #[must_use]
    pub fn take_changes(&self) -> Option<Changes> {
        let slots = {
            let mut slots = self.lock();
            slots.finished = true;
            std::mem::take(&mut slots.open)
        };
        (!slots.is_empty()).then(|| Changes::new(self.registry.clone(), slots))
    }
}
