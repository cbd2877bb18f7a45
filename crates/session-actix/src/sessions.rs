//! [`Sessions`], the middleware value an app wraps.

use std::fmt;
use std::sync::Arc;

use crate::SessionsBuilder;
use crate::provider::Provider;

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

    /// The names of the sessions carried in headers, for CORS `Access-Control-Allow-Headers`
    /// and `Access-Control-Expose-Headers`.
    pub fn header_names(&self) -> impl Iterator<Item = &str> {
        self.providers
            .iter()
            .filter(|p| matches!(p.core.transport, crate::Transport::Header(_)))
            .map(|p| p.core.name.as_str())
    }
}
