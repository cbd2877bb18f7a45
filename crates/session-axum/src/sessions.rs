//! [`Sessions`], the tower layer an app adds.

use std::fmt;

use session_core::SessionId;
use session_engine::Registry;
use tower_layer::Layer;

use crate::{ConfigError, SessionConfig, SessionError, SessionsBuilder, SessionsService};

/// The session layer: `Router::new().route(..).layer(sessions.clone())`, or on a nested
/// router for a different setup per part of the app. Build it with [`Sessions::new`] for one
/// session type or [`Sessions::builder`] for several; cloning is cheap.
///
/// # Nested setups
///
/// A `Sessions` on the whole router and others on nested routers (or single routes) nest. A
/// [`Session<T>`](crate::Session) (or [`SessionExt::session`](crate::SessionExt::session)) is
/// served by the **innermost** `Sessions` around the route that registered `T`:
///
/// - a type registered only on an inner router is served there, and is not registered
///   outside it ([`SessionError::NotRegistered`]);
/// - a type registered only on an outer `Sessions` is served by it inside inner routers too,
///   so one login session set up for the whole app reaches every part of it;
/// - a type registered on both: inside the inner router the inner registration wins (its
///   name, transport, keys and storage), and the outer one serves `T` everywhere else.
///
/// ```no_run
/// use axum::{Router, http::StatusCode, routing::post};
/// use serde::{Deserialize, Serialize};
/// use session_axum::{
///     CookieTransport, Encrypt, EncryptionKey, MemoryStore, Session, SessionConfig,
///     SessionError, Sessions, Sign, SigningKey,
/// };
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct User { name: String }
/// #[derive(Clone, Serialize, Deserialize)]
/// struct Cart { items: Vec<i32> }
///
/// // `User` comes from the app's `Sessions`, `Cart` from the shop router's own.
/// async fn add(
///     user: Session<User>,
///     cart: Session<Cart>,
/// ) -> Result<Result<String, StatusCode>, SessionError> {
///     let Some(user) = user.get().await? else {
///         return Ok(Err(StatusCode::UNAUTHORIZED));
///     };
///     let mut items = cart.get().await?.map_or_else(Vec::new, |cart| cart.items);
///     items.push(1);
///     cart.set(Cart { items })?;
///     Ok(Ok(format!("added for {}", user.name)))
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app_wide = Sessions::new(
///     SessionConfig::<User>::new(CookieTransport::new("user"))
///         .store(MemoryStore::new())
///         .transform(Sign::new(SigningKey::from_env("SESSION_SIGNING_KEY")?)),
/// )?;
/// let shop = Sessions::new(
///     SessionConfig::<Cart>::new(CookieTransport::new("cart"))
///         .transform(Encrypt::new(EncryptionKey::from_env("SESSION_ENCRYPTION_KEY")?)),
/// )?;
/// let app: Router = Router::new()
///     .nest("/shop", Router::new().route("/add", post(add)).layer(shop))
///     .layer(app_wide);
/// # Ok(()) }
/// ```
///
/// Each request's session state travels in its extensions. A request an app builds and
/// sends through its own router (a sub-request) must therefore start with fresh extensions:
/// copying the parent's (`extensions().clone()`) would let it read and change the parent's
/// sessions, whose changes then go out on the parent's response.
///
/// # Examples
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use serde::{Deserialize, Serialize};
/// use session_axum::{CookieTransport, MemoryStore, SessionConfig, Sessions, Sign, SigningKey};
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
/// let shop = Router::new().route("/cart", get(|| async { "cart" })).layer(sessions);
/// let app: Router = Router::new().nest("/shop", shop);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Sessions {
    registry: Registry,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.registry.fmt(f)
    }
}

impl From<Registry> for Sessions {
    fn from(registry: Registry) -> Self {
        Self { registry }
    }
}

impl<S> Layer<S> for Sessions {
    type Service = SessionsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionsService::new(inner, self.registry.clone())
    }
}

impl Sessions {
    /// Starts registering session types.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use session_axum::{CookieTransport, Encrypt, EncryptionKey, SessionConfig, Sessions};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Visits;
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Prefs;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let key = EncryptionKey::from_env("SESSION_ENCRYPTION_KEY")?;
    /// let sessions = Sessions::builder()
    ///     .session(SessionConfig::<Visits>::new(CookieTransport::new("visits"))
    ///         .transform(Encrypt::new(key.clone())))
    ///     .session(SessionConfig::<Prefs>::new(CookieTransport::new("prefs"))
    ///         .transform(Encrypt::new(key)))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn builder() -> SessionsBuilder {
        SessionsBuilder::default()
    }

    /// The layer for one session type: `Router::new().layer(Sessions::new(config)?)`.
    ///
    /// # Errors
    ///
    /// The [`ConfigError`]s of [`SessionsBuilder::build`](session_engine::SessionsBuilder::build).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use axum::Router;
    /// use session_axum::{CookieTransport, Encrypt, EncryptionKey, SessionConfig, Sessions};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Visits { count: u32 }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let key = EncryptionKey::from_env("SESSION_ENCRYPTION_KEY")?;
    /// let config = SessionConfig::<Visits>::new(CookieTransport::new("visits"))
    ///     .transform(Encrypt::new(key));
    /// let app: Router = Router::new().layer(Sessions::new(config)?);
    /// # Ok(()) }
    /// ```
    pub fn new<T: 'static>(config: SessionConfig<T>) -> Result<Self, ConfigError> {
        Self::builder().session(config).build()
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
    /// # use session_axum::{SessionError, SessionId, Sessions};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Cart;
    /// async fn log_out(sessions: &Sessions, ids: &[SessionId]) -> Result<(), SessionError> {
    ///     for id in ids {
    ///         sessions.invalidate::<Cart>(id).await?;
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub async fn invalidate<T: 'static>(&self, id: &SessionId) -> Result<(), SessionError> {
        Ok(self.registry.invalidate::<T>(id).await?)
    }

    /// The request headers that carry sessions, for CORS `Access-Control-Allow-Headers`: each
    /// header session's name, and `authorization` for bearer sessions
    /// ([`HeaderTransport::bearer`](crate::HeaderTransport::bearer)).
    /// [`cors`](Self::cors) sets them.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use session_axum::{HeaderTransport, MemoryStore, SessionConfig, Sessions};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Api;
    /// # fn main() -> Result<(), session_axum::ConfigError> {
    /// let sessions = Sessions::new(
    ///     SessionConfig::<Api>::new(HeaderTransport::bearer("x-api-token")).store(MemoryStore::new()),
    /// )?;
    /// assert_eq!(sessions.allowed_headers().collect::<Vec<_>>(), ["authorization"]);
    /// assert_eq!(sessions.exposed_headers().collect::<Vec<_>>(), ["x-api-token"]);
    /// # Ok(()) }
    /// ```
    pub fn allowed_headers(&self) -> impl Iterator<Item = &str> {
        self.registry.allowed_headers()
    }

    /// The response headers that hand sessions out, for CORS
    /// `Access-Control-Expose-Headers`: each header session's name (a bearer session's
    /// response header). [`cors`](Self::cors) sets them; see
    /// [`allowed_headers`](Self::allowed_headers) for an example.
    pub fn exposed_headers(&self) -> impl Iterator<Item = &str> {
        self.registry.exposed_headers()
    }
}
