//! [`Sessions`], the middleware value an app wraps.

use std::fmt;
use std::sync::Arc;

use std::any::TypeId;

use session_core::SessionId;

use crate::provider::Provider;
use crate::{SessionError, SessionsBuilder};

/// The session middleware: `App::new().wrap(sessions.clone())`, or on a `Scope` for a
/// different setup per scope. Build it with [`Sessions::builder`]; cloning is cheap.
///
/// # Examples
///
/// ```no_run
/// use actix_web::{App, web};
/// use serde::{Deserialize, Serialize};
/// use session_actix::core::{MemoryStore, Sign, SigningKey};
/// use session_actix::{CookieTransport, SessionConfig, Sessions};
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct Cart { items: Vec<i32> }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sessions = Sessions::builder()
///     .session(
///         SessionConfig::<Cart>::new(CookieTransport::new("cart"))
///             .store(MemoryStore::new())
///             .transform(Sign::new(SigningKey::from_env("SESSION_SIGNING_KEY")?)),
///     )
///     .build()?;
/// let app = App::new().service(web::scope("/shop").wrap(sessions));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Sessions {
    providers: Arc<[Provider]>,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.providers.iter()).finish()
    }
}

impl Sessions {
    /// Starts registering session types.
    pub fn builder() -> SessionsBuilder {
        SessionsBuilder::default()
    }

    pub(crate) fn from_providers(providers: Vec<Provider>) -> Self {
        Self {
            providers: providers.into(),
        }
    }

    pub(crate) fn providers(&self) -> Arc<[Provider]> {
        Arc::clone(&self.providers)
    }

    /// Ends the server-side session `id` of type `T` outside any request (log a user out of
    /// every other device, an admin action, a password change). The next request carrying
    /// that ID has no session.
    ///
    /// # Errors
    ///
    /// [`SessionError::NotRegistered`], [`SessionError::NotServerSide`] for a client-side type
    /// (its values cannot be revoked before they expire), and [`SessionError::Store`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use session_actix::{Sessions, SessionError, core::SessionId};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Cart;
    /// async fn log_out(sessions: &Sessions, ids: &[SessionId]) -> Result<(), SessionError> {
    ///     for id in ids {
    ///         sessions.invalidate::<Cart>(id).await?;
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub async fn invalidate<T: 'static>(&self, id: &SessionId) -> Result<(), SessionError> {
        let provider = self
            .providers
            .iter()
            .find(|p| p.type_id == TypeId::of::<T>())
            .ok_or(SessionError::NotRegistered {
                type_name: std::any::type_name::<T>(),
            })?;
        provider.invalidate(id).await
    }

    /// The names of the sessions carried in headers, for CORS `Access-Control-Allow-Headers`
    /// and `Access-Control-Expose-Headers`.
    pub fn header_names(&self) -> impl Iterator<Item = &str> {
        self.providers
            .iter()
            .filter(|p| matches!(p.core.transport, crate::Transport::Header(_)))
            .map(|p| p.core.name.as_str())
    }
}
