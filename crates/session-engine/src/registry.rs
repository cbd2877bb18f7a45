//! [`Registry`]: the checked set of registered session types that an adapter's layer serves.

use std::any::TypeId;
use std::fmt;
use std::sync::Arc;

use session_core::SessionId;

use crate::provider::Provider;
use crate::{HeaderTransport, SessionError, SessionsBuilder, Transport};

/// The session types registered with one `Sessions` layer, checked by
/// [`SessionsBuilder::build`](crate::SessionsBuilder::build). Cloning is cheap.
///
/// # Examples
///
/// ```
/// use session_engine::core::MemoryStore;
/// use session_engine::{CookieTransport, Registry, SessionConfig};
/// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Cart;
/// # fn main() -> Result<(), session_engine::ConfigError> {
/// let registry = Registry::builder()
///     .session(SessionConfig::<Cart>::new(CookieTransport::new("cart")).store(MemoryStore::new()))
///     .build()?;
/// assert!(registry.serves::<Cart>());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Registry {
    providers: Arc<[Provider]>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.providers.iter()).finish()
    }
}

impl Registry {
    /// Starts registering session types.
    pub fn builder() -> SessionsBuilder {
        SessionsBuilder::default()
    }

    pub(crate) fn new(providers: Vec<Provider>) -> Self {
        Self {
            providers: providers.into(),
        }
    }

    pub(crate) fn providers(&self) -> &[Provider] {
        &self.providers
    }

    /// Where session type `T` is registered, if it is.
    pub(crate) fn position<T: 'static>(&self) -> Option<usize> {
        let type_id = TypeId::of::<T>();
        self.providers.iter().position(|p| p.type_id == type_id)
    }

    /// Whether session type `T` is registered here.
    #[must_use]
    pub fn serves<T: 'static>(&self) -> bool {
        self.position::<T>().is_some()
    }

    /// Ends the server-side session `id` of type `T` outside any request (log a user out of
    /// every other device, an admin action, a password change). The next request carrying
    /// that ID has no session.
    ///
    /// # Errors
    ///
    /// [`SessionError::NotRegistered`], [`SessionError::NotServerSide`] for a client-side type
    /// (its values cannot be revoked before they expire), and [`SessionError::Store`].
    pub async fn invalidate<T: 'static>(&self, id: &SessionId) -> Result<(), SessionError> {
        let index = self.position::<T>().ok_or(SessionError::NotRegistered {
            type_name: std::any::type_name::<T>(),
        })?;
        self.providers[index].invalidate(id, None).await
    }

    /// The request headers that carry sessions, for CORS `Access-Control-Allow-Headers`:
    /// each [`HeaderTransport::new`](crate::HeaderTransport::new) name, and `authorization`
    /// (once) for bearer sessions ([`HeaderTransport::bearer`](crate::HeaderTransport::bearer)).
    /// A browser sends them to another origin only if its preflight allows them; a CORS
    /// wildcard never covers `Authorization`, so it must be listed by name.
    ///
    /// # Examples
    ///
    /// ```
    /// use session_engine::core::MemoryStore;
    /// use session_engine::{HeaderTransport, Registry, SessionConfig};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Cart;
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Api;
    /// # fn main() -> Result<(), session_engine::ConfigError> {
    /// let registry = Registry::builder()
    ///     .session(SessionConfig::<Cart>::new(HeaderTransport::new("x-cart")).store(MemoryStore::new()))
    ///     .session(SessionConfig::<Api>::new(HeaderTransport::bearer("x-api-token")).store(MemoryStore::new()))
    ///     .build()?;
    /// assert_eq!(registry.allowed_headers().collect::<Vec<_>>(), ["x-cart", "authorization"]);
    /// assert_eq!(registry.exposed_headers().collect::<Vec<_>>(), ["x-cart", "x-api-token"]);
    /// # Ok(()) }
    /// ```
    pub fn allowed_headers(&self) -> impl Iterator<Item = &str> {
        let mut authorization_listed = false;
        self.header_transports().filter_map(move |header| {
            if header.is_bearer() {
                (!std::mem::replace(&mut authorization_listed, true))
                    .then(|| header.request_header())
            } else {
                Some(header.request_header())
            }
        })
    }

    /// The response headers that hand sessions out, for CORS
    /// `Access-Control-Expose-Headers`: each header session's name (a bearer session's
    /// response header). Scripts from another origin can read them only if they are exposed.
    /// See [`allowed_headers`](Self::allowed_headers) for an example.
    pub fn exposed_headers(&self) -> impl Iterator<Item = &str> {
        self.header_transports().map(HeaderTransport::name)
    }

    fn header_transports(&self) -> impl Iterator<Item = &HeaderTransport> {
        self.providers
            .iter()
            .filter_map(|p| match &p.core.transport {
                Transport::Header(header) => Some(header),
                Transport::Cookie(_) => None,
            })
    }
}
