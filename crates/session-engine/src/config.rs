//! Registration: one [`SessionConfig`] per session type, collected by [`SessionsBuilder`].

use std::any::{Any, TypeId};
use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use session_core::{
    Clock, DynSessionStore, JsonSerializer, Serializer, SessionStore, SystemClock, Transformer,
    TransformerChain,
};

use crate::lifetime::Lifetime;
use crate::outgoing::Writer;
use crate::provider::{Provider, ProviderCore, SerializerBox};
use crate::rotation::{DEFAULT_ROTATION_GRACE, Rotation};
use crate::{ConfigError, Registry, Transport};

/// The idle timeout when neither [`SessionConfig::idle_timeout`] nor a cookie `Max-Age` sets
/// one: a session unused for 1,440 seconds (24 minutes) ends.
///
/// Why this number: it is PHP's `session.gc_maxlifetime` default, the lifetime of the
/// PHP-style session design this library follows, and it lies inside the 15 to 30 minutes of
/// idle time that OWASP's Session Management Cheat Sheet gives for common applications.
/// Apps that want longer say so with [`SessionConfig::idle_timeout`] (or a cookie `max_age`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// assert_eq!(session_engine::DEFAULT_IDLE_TIMEOUT, Duration::from_secs(1440));
/// ```
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(1440);

/// The absolute timeout unless [`SessionConfig::absolute_timeout`] changes it: a week after
/// login a session ends, however active.
pub const DEFAULT_ABSOLUTE_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// How one session type is carried and kept: its transport (whose name is the session's
/// name), an optional storage, the transformers and the serializer.
///
/// Without a storage the session is client-side: the whole serialized value travels, sealed
/// by the transformers (use [`Encrypt`](session_core::Encrypt) or at least
/// [`Sign`](session_core::Sign)). With a storage it is server-side: only an unguessable
/// [`SessionId`](session_core::SessionId) travels, sealed by the transformers.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use serde::{Deserialize, Serialize};
/// # use session_engine::{CookieTransport, SessionConfig};
/// # use session_engine::core::{Encrypt, EncryptionKey, MemoryStore, Sign, SigningKey};
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct UserSession { id: String, count: u32 }
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct CartSession { items: Vec<i32> }
///
/// # let encryption_key = EncryptionKey::generate();
/// # let signing_key = SigningKey::generate();
/// // Client-side: the encrypted value is the cookie.
/// let user = SessionConfig::<UserSession>::new(
///     CookieTransport::new("user_session").max_age(Duration::from_secs(600)),
/// )
/// .transform(Encrypt::new(encryption_key));
///
/// // Server-side: the cookie carries a signed ID; the cart lives in memory.
/// let cart = SessionConfig::<CartSession>::new(CookieTransport::new("cart_session"))
///     .store(MemoryStore::new())
///     .transform(Sign::new(signing_key));
/// ```
#[must_use]
pub struct SessionConfig<T> {
    transport: Transport,
    store: Option<Arc<dyn DynSessionStore>>,
    chain: TransformerChain,
    serializer: Arc<dyn Serializer<T>>,
    idle_timeout: Option<Duration>,
    absolute_timeout: Option<Duration>,
    envelope: bool,
    /// The caller accepted forgeable client-side values.
    unprotected: bool,
    rotate_every: Option<Duration>,
    rotation_grace: Duration,
    /// `update` must be atomic: the store needs compare-and-swap.
    atomic_update: bool,
}

impl<T> fmt::Debug for SessionConfig<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("type", &std::any::type_name::<T>())
            .field("transport", &self.transport)
            .field("server_side", &self.store.is_some())
            .field("transformers", &self.chain)
            .field("idle_timeout", &self.idle_timeout)
            .field("absolute_timeout", &self.absolute_timeout)
            .field("envelope", &self.envelope)
            .field("unprotected", &self.unprotected)
            .field("rotate_id_every", &self.rotate_every)
            .field("rotation_grace", &self.rotation_grace)
            .field("atomic_update", &self.atomic_update)
            .finish()
    }
}

impl<T: Serialize + DeserializeOwned + 'static> SessionConfig<T> {
    /// A client-side session over `transport`, serialized as JSON, with no transformer yet.
    pub fn new(transport: impl Into<Transport>) -> Self {
        Self::with_serializer(transport, JsonSerializer)
    }
}

impl<T: 'static> SessionConfig<T> {
    /// Like [`SessionConfig::new`] with another serializer.
    pub fn with_serializer(
        transport: impl Into<Transport>,
        serializer: impl Serializer<T>,
    ) -> Self {
        Self {
            transport: transport.into(),
            store: None,
            chain: TransformerChain::new(),
            serializer: Arc::new(serializer),
            idle_timeout: None,
            absolute_timeout: Some(DEFAULT_ABSOLUTE_TIMEOUT),
            envelope: true,
            unprotected: false,
            rotate_every: None,
            rotation_grace: DEFAULT_ROTATION_GRACE,
            atomic_update: true,
        }
    }

    /// Keeps the session in `store`: only its ID travels.
    ///
    /// The store must declare [`compare_and_swap`](session_core::StoreCapabilities::compare_and_swap)
    /// in its [`capabilities`](SessionStore::capabilities), which
    /// [`SessionHandle::update`](crate::SessionHandle::update) and
    /// [`rotate_id_every`](Self::rotate_id_every) need; otherwise [`SessionsBuilder::build`]
    /// refuses it, unless [`without_atomic_update`](Self::without_atomic_update) says the app
    /// can do without.
    pub fn store(self, store: impl SessionStore) -> Self {
        self.shared_store(Arc::new(store))
    }

    /// Keeps the session in a store shared with other session types.
    pub fn shared_store(mut self, store: Arc<dyn DynSessionStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Accepts a store without compare-and-swap, which [`SessionsBuilder::build`] otherwise
    /// refuses ([`ConfigError::StoreWithoutCompareAndSwap`]).
    /// [`SessionHandle::update`](crate::SessionHandle::update) then cannot be atomic: on such
    /// a store it is [`get`](crate::SessionHandle::get), the change and
    /// [`set`](crate::SessionHandle::set), written when the response is sent, and the last
    /// request to finish wins (two concurrent updates can lose one). Other writes are not
    /// atomic either: without compare-and-swap the store's default `replace` and `touch` read
    /// and then save, so a write or idle refresh racing a logout (or `invalidate`) can bring
    /// the ended session back. Use it only for stores whose sessions are not a security
    /// boundary, or implement `compare_and_swap`. On a store that has compare-and-swap this
    /// changes nothing. ID rotation still needs compare-and-swap.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use std::sync::Mutex;
    /// use std::time::Duration;
    /// # use session_engine::core::{SessionId, SessionStore, StoreCapabilities, StoreError};
    /// # use session_engine::{ConfigError, CookieTransport, Registry, SessionConfig};
    ///
    /// #[derive(Default)]
    /// struct MapStore(Mutex<HashMap<SessionId, String>>);
    ///
    /// impl SessionStore for MapStore {
    ///     async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
    ///         Ok(self.0.lock().unwrap().get(id).cloned())
    ///     }
    ///     async fn save(&self, id: &SessionId, text: &str, _: Duration) -> Result<(), StoreError> {
    ///         self.0.lock().unwrap().insert(id.clone(), text.to_owned());
    ///         Ok(())
    ///     }
    ///     async fn compare_and_swap(
    ///         &self,
    ///         _: &SessionId,
    ///         _: &str,
    ///         _: &str,
    ///         _: Duration,
    ///     ) -> Result<bool, StoreError> {
    ///         // Say it cannot swap atomically (a backend without transactions, say).
    ///         Err(StoreError::Unsupported { operation: "compare_and_swap" })
    ///     }
    ///     async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
    ///         self.0.lock().unwrap().remove(id);
    ///         Ok(())
    ///     }
    ///     fn capabilities(&self) -> StoreCapabilities {
    ///         StoreCapabilities::NONE
    ///     }
    /// }
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Cart;
    ///
    /// let config = || SessionConfig::<Cart>::new(CookieTransport::new("cart")).store(MapStore::default());
    /// let refused = Registry::builder().session(config()).build();
    /// assert!(matches!(refused, Err(ConfigError::StoreWithoutCompareAndSwap { .. })));
    /// let accepted = Registry::builder().session(config().without_atomic_update()).build();
    /// assert!(accepted.is_ok());
    /// ```
    pub fn without_atomic_update(mut self) -> Self {
        self.atomic_update = false;
        self
    }

    /// Lets a client-side session go without any transformer, which
    /// [`SessionsBuilder::build`] otherwise refuses ([`ConfigError::Unprotected`]): its value,
    /// expiry and CSRF token then travel as plain text that any client can write, so a client
    /// can claim any session it likes. Only for values that are neither secret nor trusted
    /// (a UI preference), or behind a transformer of the app's own that the app applies
    /// elsewhere. Server-side sessions need no such opt-in: their IDs are unguessable.
    pub fn insecure_without_transformer(mut self) -> Self {
        self.unprotected = true;
        self
    }

    /// Appends a transformer; they seal in the order given and unseal in reverse.
    pub fn transform(mut self, transformer: impl Transformer) -> Self {
        self.chain = self.chain.with(transformer);
        self
    }

    /// The idle timeout: a session not used for this long ends; every use extends it (sliding).
    /// Default: the cookie's `Max-Age`, else [`DEFAULT_IDLE_TIMEOUT`].
    ///
    /// Extending costs a write only once more than a quarter of the window has passed: a
    /// storage `touch` (no rewrite of the data) for server-side sessions, a re-sealed value for
    /// client-side ones.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// The absolute timeout: a session ends this long after it started (at login, or at
    /// [`SessionHandle::renew`](crate::SessionHandle::renew)), whatever its activity. Default:
    /// [`DEFAULT_ABSOLUTE_TIMEOUT`].
    pub fn absolute_timeout(mut self, timeout: Duration) -> Self {
        self.absolute_timeout = Some(timeout);
        self
    }

    /// No absolute timeout: an active session never ends by age.
    pub fn without_absolute_timeout(mut self) -> Self {
        self.absolute_timeout = None;
        self
    }

    /// Stores and transports the serialized value alone, without the header that carries the
    /// session's start, a client-side copy's expiry and the CSRF token: the format Ktor reads
    /// and writes, for sharing sessions with a Ktor service (with
    /// `KtorEncrypt` (feature `ktor`) or [`Sign`](session_core::Sign)).
    ///
    /// What is lost: client-side values no longer expire by themselves (a copy stays valid as
    /// long as the keys do), the absolute timeout is not enforced, a value is bound to the
    /// session's name only if the transformer binds it ([`Encrypt`](session_core::Encrypt)
    /// and [`Sign::new`](session_core::Sign::new) do; Ktor's formats,
    /// [`Sign::ktor_compatible`](session_core::Sign::ktor_compatible) and `KtorEncrypt`, do
    /// not: give each session type its own key), server-side entries of different session
    /// types in one store are told apart only by their IDs, and
    /// [`SessionHandle::csrf_token`](crate::SessionHandle::csrf_token) is `None` (so
    /// the CSRF check refuses every unsafe request). Server-side
    /// idle timeouts still work.
    pub fn without_envelope(mut self) -> Self {
        self.envelope = false;
        self
    }

    /// Moves a server-side session to a new ID once `period` has passed since its ID was
    /// issued (at login, [`renew`](crate::SessionHandle::renew), or the last rotation): the
    /// next request that uses the session gets the new ID, with the same value, start
    /// (absolute timeout) and CSRF token. The session cheat-sheets' "renew the ID
    /// periodically": a stolen ID stops working soon after the victim's next request.
    ///
    /// Nobody is logged out by it: the old ID forwards to the new one for
    /// [`rotation_grace`](Self::rotation_grace) (default 5 seconds), so requests already on
    /// their way with it (parallel requests, other tabs) are served the session and sent the
    /// new ID; two requests rotating at once produce one successor. Unlike `renew` (a login),
    /// which kills the old ID at once. Without it IDs never rotate.
    ///
    /// The move happens when the session is loaded, so [`SessionHandle::id`](crate::SessionHandle::id)
    /// reports the new ID in the request that rotates (record it there if the app keeps a list
    /// of a user's IDs). [`SessionsBuilder::build`] refuses it for client-side sessions, without
    /// the envelope, with a grace that is zero or not shorter than `period`, and together
    /// with [`query_fallback`](crate::CookieTransport::query_fallback)
    /// ([`ConfigError::InvalidRotation`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # use session_engine::{CookieTransport, SessionConfig};
    /// # use session_engine::core::MemoryStore;
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Cart;
    /// let config = SessionConfig::<Cart>::new(CookieTransport::new("cart"))
    ///     .store(MemoryStore::new())
    ///     .rotate_id_every(Duration::from_secs(15 * 60))
    ///     .rotation_grace(Duration::from_secs(10));
    /// ```
    pub fn rotate_id_every(mut self, period: Duration) -> Self {
        self.rotate_every = Some(period);
        self
    }

    /// How long an ID moved away from by [`rotate_id_every`](Self::rotate_id_every) still
    /// leads to the session (default [`DEFAULT_ROTATION_GRACE`], 5 seconds); then it dies.
    pub fn rotation_grace(mut self, grace: Duration) -> Self {
        self.rotation_grace = grace;
        self
    }

    fn into_provider(self, clock: Arc<dyn Clock>) -> Result<Provider, ConfigError> {
        let writer = Writer::new(&self.transport)?;
        if self.store.is_none() && self.chain.is_empty() && !self.unprotected {
            return Err(ConfigError::Unprotected {
                name: self.transport.name().to_owned(),
            });
        }
        let rotation = self.rotate_every.map(|every| Rotation {
            every,
            grace: self.rotation_grace,
        });
        // An ID to rotate (a store), records that date it (the envelope), a grace shorter
        // than the period, and a client that learns new IDs (not one reading them from URLs).
        let unfit = |r: &Rotation| {
            self.store.is_none()
                || !self.envelope
                || r.grace.is_zero()
                || r.grace >= r.every
                || self.transport.has_query_fallback()
        };
        if rotation.as_ref().is_some_and(unfit) {
            return Err(ConfigError::InvalidRotation {
                name: self.transport.name().to_owned(),
            });
        }
        // What the store must be able to do, checked now rather than failing on a request.
        if let Some(store) = self.store.as_deref()
            && !store.capabilities().compare_and_swap
        {
            let name = self.transport.name().to_owned();
            let store = store.type_name();
            if rotation.is_some() {
                return Err(ConfigError::RotationWithoutCompareAndSwap { name, store });
            }
            if self.atomic_update {
                return Err(ConfigError::StoreWithoutCompareAndSwap { name, store });
            }
        }
        let cookie_max_age = match &self.transport {
            Transport::Cookie(cookie) => cookie.max_age_value(),
            Transport::Header(_) => None,
        };
        Ok(Provider {
            core: ProviderCore {
                name: self.transport.name().to_owned(),
                writer,
                transport: self.transport,
                store: self.store,
                chain: self.chain,
                lifetime: Lifetime {
                    idle: self
                        .idle_timeout
                        .or(cookie_max_age)
                        .unwrap_or(DEFAULT_IDLE_TIMEOUT),
                    absolute: self.absolute_timeout,
                    clock,
                },
                envelope: self.envelope,
                rotation,
            },
            type_id: TypeId::of::<T>(),
            type_name: std::any::type_name::<T>(),
            serializer: Arc::new(SerializerBox(self.serializer)) as Arc<dyn Any + Send + Sync>,
        })
    }
}

/// A registration waiting for the clock chosen on the builder.
type Registration = Box<dyn FnOnce(Arc<dyn Clock>) -> Result<Provider, ConfigError>>;

/// Collects session registrations; [`SessionsBuilder::build`] checks them and makes an `S`:
/// a [`Registry`], or an adapter's `Sessions` layer built from one (whose `Sessions::builder()`
/// returns this builder).
///
/// # Examples
///
/// ```
/// use serde::{Deserialize, Serialize};
/// # use session_engine::core::MemoryStore;
/// # use session_engine::{ConfigError, CookieTransport, HeaderTransport, Registry, SessionConfig};
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct A;
/// #[derive(Clone, Serialize, Deserialize)]
/// struct B;
///
/// let result = Registry::builder()
///     .session(SessionConfig::<A>::new(CookieTransport::new("same")).store(MemoryStore::new()))
///     .session(SessionConfig::<B>::new(HeaderTransport::new("same")).store(MemoryStore::new()))
///     .build();
/// assert!(matches!(result, Err(ConfigError::DuplicateName { .. })));
/// ```
#[must_use]
pub struct SessionsBuilder<S = Registry> {
    registrations: Vec<Registration>,
    clock: Arc<dyn Clock>,
    built: PhantomData<fn() -> S>,
}

impl<S> Default for SessionsBuilder<S> {
    fn default() -> Self {
        Self {
            registrations: Vec::new(),
            clock: Arc::new(SystemClock),
            built: PhantomData,
        }
    }
}

impl<S> fmt::Debug for SessionsBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionsBuilder")
            .field("sessions", &self.registrations.len())
            .field("clock", &self.clock)
            .finish()
    }
}

impl<S: From<Registry>> SessionsBuilder<S> {
    /// Registers a session type.
    pub fn session<T: 'static>(mut self, config: SessionConfig<T>) -> Self {
        self.registrations
            .push(Box::new(move |clock| config.into_provider(clock)));
        self
    }

    /// The clock that timeouts are measured by (default: the system clock). Tests pass a
    /// [`ManualClock`](session_core::ManualClock), shared with a
    /// [`MemoryStore::with_clock`](session_core::MemoryStore::with_clock), to move time on.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Checks the registrations and builds the registry, or the adapter's layer.
    ///
    /// # Errors
    ///
    /// [`ConfigError::DuplicateName`] or [`ConfigError::DuplicateType`] when two registrations
    /// share a name or a type, [`ConfigError::Unprotected`] for a client-side session without
    /// a transformer, [`ConfigError::StoreWithoutCompareAndSwap`] and
    /// [`ConfigError::RotationWithoutCompareAndSwap`] for a store that lacks what the session
    /// needs, [`ConfigError::InvalidRotation`], and the transport errors of invalid cookie or
    /// header settings.
    ///
    /// On success it logs one line per session at INFO (target `session_engine`): its name,
    /// transport, mode (client-side with how many transformers, or server-side with the
    /// store's type and [capabilities](session_core::StoreCapabilities)), timeouts and ID
    /// rotation. Never a key, a value or a store's address.
    pub fn build(self) -> Result<S, ConfigError> {
        let clock = self.clock;
        let providers: Vec<Provider> = self
            .registrations
            .into_iter()
            .map(|register| register(Arc::clone(&clock)))
            .collect::<Result<_, _>>()?;
        let mut names = HashSet::new();
        let mut types = HashSet::new();
        for provider in &providers {
            let core = &provider.core;
            core.transport.validate_for(core.is_server_side())?;
            if !names.insert(provider.core.name.to_ascii_lowercase()) {
                return Err(ConfigError::DuplicateName {
                    name: provider.core.name.clone(),
                });
            }
            if !types.insert(provider.type_id) {
                return Err(ConfigError::DuplicateType {
                    type_name: provider.type_name,
                });
            }
        }
        for provider in &providers {
            tracing::info!(session = %provider.core.name, "{}", provider.core.summary());
        }
        Ok(S::from(Registry::new(providers)))
    }
}

#[cfg(test)]
mod tests;
