//! Errors for the programmer: configuration mistakes and failures inside a handler.

/// The session setup is invalid; reported by [`SessionsBuilder::build`](crate::SessionsBuilder::build)
/// when the app is built, never on a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Two session types were registered under the same name.
    #[error("a session named {name:?} is already registered")]
    DuplicateName {
        /// The name used twice.
        name: String,
    },
    /// The same session type was registered twice.
    #[error("session type {type_name} is already registered")]
    DuplicateType {
        /// The type registered twice.
        type_name: &'static str,
    },
    /// The cookie name is empty or has characters a cookie name cannot have.
    #[error("{name:?} is not a valid cookie name")]
    InvalidCookieName {
        /// The rejected name.
        name: String,
    },
    /// The header name is not a valid HTTP header name.
    #[error("{name:?} is not a valid header name")]
    InvalidHeaderName {
        /// The rejected name.
        name: String,
    },
    /// A cookie attribute combination that browsers reject or that would be unsafe.
    #[error("cookie {name:?}: {reason}")]
    InvalidCookieAttributes {
        /// The cookie's name.
        name: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A client-side session without a transformer: anyone could write its value, expiry and
    /// CSRF token. Add [`Encrypt`](session_core::Encrypt) or [`Sign`](session_core::Sign), or
    /// opt in with [`SessionConfig::insecure_without_transformer`](crate::SessionConfig::insecure_without_transformer).
    #[error(
        "client-side session {name:?} has no transformer, so clients can forge it: add Encrypt or Sign"
    )]
    Unprotected {
        /// The session's name.
        name: String,
    },
    /// [`CookieTransport::query_fallback`](crate::CookieTransport::query_fallback) on a
    /// client-side session: only a server-side session's signed ID may come from a URL, never
    /// a whole value (a replayable copy of the session in every link, log and `Referer`).
    #[error(
        "session {name:?} is client-side: query_fallback reads only server-side session IDs (add a store or drop the fallback)"
    )]
    QueryFallbackClientSide {
        /// The session's name.
        name: String,
    },
    /// [`SessionConfig::rotate_id_every`](crate::SessionConfig::rotate_id_every) where it
    /// cannot work: a client-side session (no ID), one
    /// [`without_envelope`](crate::SessionConfig::without_envelope) (its records cannot date
    /// the ID), a grace that is zero or not shorter than the period, or an ID read from URLs
    /// ([`query_fallback`](crate::CookieTransport::query_fallback): such clients never learn
    /// the new ID).
    #[error(
        "session {name:?}: rotate_id_every needs a server-side session with its envelope, a grace above zero and shorter than the period, and no query_fallback"
    )]
    InvalidRotation {
        /// The session's name.
        name: String,
    },
    /// A server-side session on a store that does not declare
    /// [`compare_and_swap`](session_core::StoreCapabilities::compare_and_swap):
    /// [`SessionHandle::update`](crate::SessionHandle::update) could not be atomic there. Use a
    /// store that has it (and declares it in
    /// [`SessionStore::capabilities`](session_core::SessionStore::capabilities)), or accept a
    /// last-writer-wins `update` with
    /// [`SessionConfig::without_atomic_update`](crate::SessionConfig::without_atomic_update).
    #[error(
        "session {name:?}: store {store} declares no compare_and_swap, which Session::update needs to be atomic; implement and declare it in SessionStore::capabilities, or opt out with SessionConfig::without_atomic_update"
    )]
    StoreWithoutCompareAndSwap {
        /// The session's name.
        name: String,
        /// The store's type.
        store: &'static str,
    },
    /// [`SessionConfig::rotate_id_every`](crate::SessionConfig::rotate_id_every) on a store
    /// that does not declare
    /// [`compare_and_swap`](session_core::StoreCapabilities::compare_and_swap): a rotation
    /// moves the session with one compare-and-swap, so that two requests rotating at once
    /// make one successor. No opt-out: use a store that has it, or no rotation.
    #[error(
        "session {name:?}: rotate_id_every needs a store with compare_and_swap, and store {store} declares none"
    )]
    RotationWithoutCompareAndSwap {
        /// The session's name.
        name: String,
        /// The store's type.
        store: &'static str,
    },
}

/// Defines an adapter's `SessionError`: an enum with exactly the variants of the engine's
/// [`SessionError`], and the conversion from it.
///
/// An adapter needs an error type of its own to implement its framework's error traits
/// (actix-web's `ResponseError`, axum's `IntoResponse`): Rust's orphan rule forbids
/// implementing them for the engine's type. The engine's handle returns the adapter's type
/// directly ([`SessionHandle`](crate::SessionHandle)'s second parameter), so apps match on
/// the adapter's variants.
///
/// The expansion derives `thiserror::Error`: the invoking crate depends on `thiserror` 2.
/// (The `@define` form is the engine's own, for its [`SessionError`].)
///
/// # Examples
///
/// ```no_run
/// session_engine::session_error! {
///     /// An error from a session handle inside a request.
///     #[non_exhaustive]
///     pub enum SessionError
/// }
/// ```
#[macro_export]
macro_rules! session_error {
    ($(#[$attr:meta])* $vis:vis enum $name:ident) => {
        $crate::session_error!(@define $(#[$attr])* $vis enum $name);

        impl ::core::convert::From<$crate::SessionError> for $name {
            fn from(error: $crate::SessionError) -> Self {
                use $crate::SessionError as E;
                match error {
                    E::MiddlewareMissing => Self::MiddlewareMissing,
                    E::Missing { name, challenge } => Self::Missing { name, challenge },
                    E::RequestFinished { name } => Self::RequestFinished { name },
                    E::NotRegistered { type_name } => Self::NotRegistered { type_name },
                    E::NotServerSide { type_name } => Self::NotServerSide { type_name },
                    E::UpdateConflict { name, attempts } => Self::UpdateConflict { name, attempts },
                    E::CookieTooLarge { name, size, limit } => {
                        Self::CookieTooLarge { name, size, limit }
                    }
                    E::Serialize(error) => Self::Serialize(error),
                    E::Seal(error) => Self::Seal(error),
                    E::Store(error) => Self::Store(error),
                }
            }
        }
    };
    (@define $(#[$attr:meta])* $vis:vis enum $name:ident) => {
        $(#[$attr])*
        #[derive(Debug, thiserror::Error)]
        $vis enum $name {
            /// The `Sessions` middleware does not wrap this route, or the session was asked
            /// for outside the request's handling (from a spawned task: move a handle there
            /// instead).
            #[error(
                "no Sessions middleware is handling this request here: it is not installed on this route (wrap the app or scope with it), or the session was asked for outside the request's handling (in a spawned task: move a handle there)"
            )]
            MiddlewareMissing,
            /// The request has no session of this type and the handler requires one
            /// (`Session::require`): the adapters answer it with an empty
            /// `401 Unauthorized`, logged at DEBUG only, as it is no failure.
            #[error("the request has no session {name:?}, which this route requires")]
            Missing {
                /// The session's name.
                name: String,
                /// The authentication scheme of the `WWW-Authenticate` challenge the `401`
                /// carries: `Bearer` for a bearer session (RFC 6750); none for cookie and
                /// header sessions, for which no authentication scheme is registered.
                challenge: Option<&'static str>,
            },
            /// A handle was used after its request's response was made (in a task that
            /// outlived the handler): nothing it changes could be sent any more.
            #[error(
                "session {name:?} was used after its request's response was made; finish the work before the handler returns"
            )]
            RequestFinished {
                /// The session's name.
                name: String,
            },
            /// The session type was never registered with the middleware that wraps this route.
            #[error("session type {type_name} is not registered with the Sessions middleware")]
            NotRegistered {
                /// The type asked for.
                type_name: &'static str,
            },
            /// The operation needs a server-side session (one with a storage).
            #[error("session type {type_name} is client-side: it has no storage to invalidate")]
            NotServerSide {
                /// The type asked for.
                type_name: &'static str,
            },
            /// `Session::update` kept meeting concurrent changes and gave up.
            #[error(
                "session {name:?} was changed concurrently {attempts} times in a row; update abandoned"
            )]
            UpdateConflict {
                /// The session's name.
                name: String,
                /// How many times the update was tried.
                attempts: usize,
            },
            /// The value would make the cookie larger than browsers keep; it was not set.
            #[error("cookie {name:?} would be {size} bytes, over the limit of {limit}")]
            CookieTooLarge {
                /// The cookie's name.
                name: String,
                /// The size of the whole Set-Cookie value.
                size: usize,
                /// The limit.
                limit: usize,
            },
            /// The value could not be serialized.
            #[error(transparent)]
            Serialize(#[from] $crate::core::SerializeError),
            /// The value could not be sealed.
            #[error(transparent)]
            Seal(#[from] $crate::core::SealError),
            /// The session storage failed.
            #[error(transparent)]
            Store(#[from] $crate::core::StoreError),
        }

        impl $name {
            /// Whether the storage refused a new session because it is full
            /// (`StoreError::Full`): not a failure, so
            /// adapters answer it with an empty 503 Service Unavailable instead of a 500.
            ///
            /// # Examples
            ///
            /// ```
            /// # use session_engine::SessionError;
            /// # use session_engine::core::StoreError;
            ///
            /// assert!(SessionError::Store(StoreError::Full { capacity: 10 }).is_capacity());
            /// assert!(!SessionError::Store(StoreError::Timeout).is_capacity());
            /// ```
            #[must_use]
            pub fn is_capacity(&self) -> bool {
                matches!(self, Self::Store($crate::core::StoreError::Full { .. }))
            }

            /// The status an adapter answers this error with, with an empty body: 401
            /// Unauthorized for `Missing` (a session the route requires), 503 Service
            /// Unavailable when the storage is full ([`is_capacity`](Self::is_capacity)), 500
            /// for everything else.
            ///
            /// # Examples
            ///
            /// ```
            /// # use session_engine::SessionError;
            /// # use session_engine::core::StoreError;
            ///
            /// assert_eq!(SessionError::Missing { name: "user".into(), challenge: None }.status(), 401);
            /// assert_eq!(SessionError::Store(StoreError::Full { capacity: 10 }).status(), 503);
            /// assert_eq!(SessionError::Store(StoreError::Timeout).status(), 500);
            /// ```
            #[must_use]
            pub fn status(&self) -> u16 {
                match self {
                    Self::Missing { .. } => 401,
                    _ if self.is_capacity() => 503,
                    _ => 500,
                }
            }

            /// The `WWW-Authenticate` challenge an adapter adds to this error's response:
            /// `Bearer` when a bearer session is [`Missing`](Self::Missing), else none.
            ///
            /// # Examples
            ///
            /// ```
            /// # use session_engine::SessionError;
            ///
            /// let bearer = SessionError::Missing { name: "api".into(), challenge: Some("Bearer") };
            /// assert_eq!(bearer.challenge(), Some("Bearer"));
            /// let cookie = SessionError::Missing { name: "user".into(), challenge: None };
            /// assert_eq!(cookie.challenge(), None);
            /// ```
            #[must_use]
            pub fn challenge(&self) -> Option<&'static str> {
                match self {
                    Self::Missing { challenge, .. } => *challenge,
                    _ => None,
                }
            }

            /// Logs the error as an adapter answers it: a missing session at DEBUG, a full
            /// storage at WARN, anything else at ERROR with its source. Never sent to the
            /// client.
            pub fn log(&self) {
                use $crate::__tracing as tracing;
                match self.status() {
                    401 => tracing::debug!(error = %self, "session required"),
                    503 => tracing::warn!(error = %self, "session storage full: new session refused"),
                    _ => tracing::error!(
                        error = %self,
                        source = ?::std::error::Error::source(self),
                        "session error"
                    ),
                }
            }
        }
    };
}

session_error! {
    @define
    /// An error of the engine inside a request. Adapters mirror it with [`session_error!`]
    /// in a type of their own, which is what their apps see.
    ///
    /// Not `#[non_exhaustive]`, unlike the adapters' mirrors: [`session_error!`] converts it
    /// variant by variant, and the adapters pin the engine's exact version, so a new variant
    /// reaches every mirror in the same release.
    pub enum SessionError
}
