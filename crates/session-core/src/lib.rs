//! # session-core
//!
//! The framework-agnostic core of typed HTTP sessions: everything a session middleware needs
//! that does not depend on a web framework.
//!
//! - [`Serializer`] turns a session value into text and back ([`JsonSerializer`] by default).
//! - [`Transformer`]s seal the text that travels to the client: [`Sign`] (HMAC-SHA256, Ktor's
//!   wire format) and [`Encrypt`] (AES-256-GCM with the session name as associated data), both
//!   with key rotation, chained by a [`TransformerChain`].
//! - Typed keys, [`SigningKey`] and [`EncryptionKey`], that never print their material.
//! - [`SessionId`]: 256 random bits, validated before any storage sees an ID.
//! - [`SessionStore`], the storage trait of server-side sessions, and [`MemoryStore`].
//! - CSRF tokens masked per response against BREACH ([`mask_csrf_token`]) and their
//!   constant-time check ([`csrf_token_matches`]).
//!
//! # Example
//!
//! ```
//! use session_core::{Encrypt, EncryptionKey, JsonSerializer, Serializer, Transformer};
//!
//! # let key = EncryptionKey::generate();
//! let text = JsonSerializer.serialize(&vec![1, 3, 7])?;
//! let sealed = Encrypt::new(key.clone()).seal("cart", &text)?;
//! let opened = Encrypt::new(key).unseal("cart", &sealed).expect("authentic");
//! let cart: Vec<i32> = JsonSerializer.deserialize(&opened.value)?;
//! assert_eq!(cart, [1, 3, 7]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod clock;
mod csrf;
mod error;
mod id;
mod key;
mod memory;
mod record;
mod serializer;
mod store;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test_util;
mod transform;

pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use crate::csrf::{csrf_token_matches, mask_csrf_token};
pub use crate::error::{
    DeserializeError, IdError, KeyError, SealError, SerializeError, StoreError,
};
pub use crate::id::SessionId;
pub use crate::key::{EncryptionKey, SigningKey};
pub use crate::memory::MemoryStore;
pub use crate::record::Record;
pub use crate::serializer::{JsonSerializer, Serializer};
pub use crate::store::{
    DynSessionStore, SessionStore, StoreCapabilities, StoreFuture, StoredEntry,
};
#[cfg(feature = "ktor")]
pub use crate::transform::KtorEncrypt;
pub use crate::transform::{Encrypt, Sign, Transformer, TransformerChain, Unsealed};
