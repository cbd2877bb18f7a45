//! [`adapter_reexports!`](crate::adapter_reexports): what every adapter offers at its root,
//! written once so that the adapters' import paths cannot drift apart.

/// Re-exports, in the invoking adapter crate, everything an app names besides the adapter's
/// own types: the configuration and transports, the keys, transformers, serializers, IDs,
/// clocks and storage trait of `session-core` (each with a page in the adapter's docs, one
/// place to import from), and the `core` and `engine` modules that keep the longer paths
/// working. `KtorEncrypt` follows the invoking crate's `ktor` feature.
///
/// # Examples
///
/// ```
/// // At the root of an adapter crate (its lib.rs); here in a module of its own.
/// mod my_adapter {
///     session_engine::adapter_reexports!();
/// }
///
/// let id = my_adapter::SessionId::generate();
/// assert_eq!(my_adapter::core::SessionId::parse(id.as_str()), Ok(id));
/// let _config = my_adapter::SessionConfig::<String>::new(my_adapter::CookieTransport::new("s"))
///     .store(my_adapter::MemoryStore::new());
/// ```
#[macro_export]
macro_rules! adapter_reexports {
    () => {
        /// The framework-agnostic core (`session-core`): keys, transformers, serializers, IDs
        /// and storages. Everything an app names from it is also re-exported at this crate's
        /// root, with a page here; import from there. This module keeps the older `core::`
        /// paths working.
        pub mod core {
            #[doc(inline)]
            pub use $crate::core::Record;
            #[doc(hidden)]
            pub use $crate::core::*;
        }
        /// The framework-free session engine (`session-engine`) this adapter drives.
        /// Everything an app names from it is also re-exported at this crate's root; this
        /// module keeps the older `engine::` paths working and documents the engine types this
        /// crate's pages mention.
        pub mod engine {
            #[doc(hidden)]
            pub use $crate::*;
            #[doc(inline)]
            pub use $crate::{
                CsrfPolicy, CsrfRefusal, HeaderKey, HeaderList, Headers, HeadersMut, MAX_FORM_LEN,
                Registry, SessionError, SessionsBuilder, TokenSource, session_error,
            };
        }
        pub use $crate::cookie;
        #[doc(inline)]
        pub use $crate::{
            CSRF_FORM_FIELD, CSRF_HEADER, ConfigError, CookieTransport, DEFAULT_ABSOLUTE_TIMEOUT,
            DEFAULT_IDLE_TIMEOUT, DEFAULT_ROTATION_GRACE, HeaderTransport, SessionConfig,
            SessionHandle, Transport,
        };

        #[cfg(feature = "ktor")]
        #[cfg_attr(docsrs, doc(cfg(feature = "ktor")))]
        #[doc(inline)]
        pub use $crate::core::KtorEncrypt;
        #[doc(inline)]
        pub use $crate::core::{
            Clock, DeserializeError, DynSessionStore, Encrypt, EncryptionKey, IdError,
            JsonSerializer, KeyError, ManualClock, MemoryStore, SealError, SerializeError,
            Serializer, SessionId, SessionStore, Sign, SigningKey, StoreCapabilities, StoreError,
            StoreFuture, StoredEntry, SystemClock, Transformer, TransformerChain, Unsealed,
            csrf_token_matches, mask_csrf_token,
        };
    };
}
