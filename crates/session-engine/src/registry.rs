//! [`Registry`]: the checked set of registered session types that an adapter's layer serves.

use std::any::TypeId;
use std::fmt;
use std::sync::Arc;

use session_core::SessionId;

use crate::provider::Provider;
use crate::{SessionError, SessionsBuilder, Transport};

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
        self.providers[index].invalidate(id).await
    }

    /// The names of the sessions carried in headers, for CORS `Access-Control-Allow-Headers`
    /// and `Access-Control-Expose-Headers`.
    pub fn header_names(&self) -> impl Iterator<Item = &str> {
        self.providers
            .iter()
            .filter(|p| matches!(p.core.transport, Transport::Header(_)))
            .map(|p| p.core.name.as_str())
    }
}
