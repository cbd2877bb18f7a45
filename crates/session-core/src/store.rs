//! The storage trait for server-side sessions, and its object-safe form.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use crate::{SessionId, StoreError};

/// Where server-side sessions live: serialized session text keyed by [`SessionId`].
///
/// The contract every implementation keeps (the `test-util` conformance suite checks it):
///
/// - `load` of an unknown or expired ID is `Ok(None)`, never an error; `Err` means the storage
///   itself failed, which middleware answers with an opaque server error.
/// - `save` inserts or replaces the text and sets its time to live; after `ttl` has passed the
///   entry is gone (stores expire natively where they can: Redis `PX`, file expiry stamps).
///   Middleware calls it only for a new ID.
/// - `replace` writes like `save`, but only over a live entry: it never brings back an entry
///   that was deleted (a logout) or expired meanwhile. Middleware writes existing sessions
///   with it, so that a request already in flight cannot undo a logout.
/// - `delete` of an unknown ID succeeds.
/// - `touch` extends the time to live without rewriting the text, and tells whether the entry
///   existed; the default implementation loads and replaces again.
/// - `compare_and_swap` replaces the text only if it is still exactly `expected`, atomically
///   with respect to every other write of that entry; it is what makes concurrent updates of
///   one session lose nothing, and ID rotation safe. It has no default: a store states in code
///   what it does, and one that cannot swap atomically answers [`StoreError::Unsupported`].
/// - `load_entry` is `load` plus the entry's expiry time when the store knows it (in one round
///   trip), so middleware can refresh an idle timeout only when a useful part of it has passed;
///   the default reports no expiry.
/// - `capabilities` declares which of the optional abilities the store has
///   ([`StoreCapabilities`]). It is required, so every store states it: the session builder
///   checks it when the app is built, so that a store without `compare_and_swap` is refused
///   for `Session::update` and ID rotation there, not with a 500 on a request.
///
/// IDs reach a store only after [`SessionId::parse`] validated them, so an implementation may
/// use them as file names or keys without escaping.
///
/// # Implementing a store
///
/// `load`, `save`, `delete`, `compare_and_swap` and `capabilities` are required; `replace`,
/// `touch` and `load_entry` have correct defaults built on them (slower than a native
/// implementation, never wrong). This store swaps under its lock and declares it; it keeps
/// no expiry, which it therefore does not declare:
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use std::time::Duration;
/// # use session_core::{SessionId, SessionStore, StoreCapabilities, StoreError};
///
/// /// A store without expiry, for illustration.
/// #[derive(Default)]
/// struct MapStore(Mutex<HashMap<SessionId, String>>);
///
/// impl SessionStore for MapStore {
///     async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
///         Ok(self.0.lock().unwrap().get(id).cloned())
///     }
///     async fn save(&self, id: &SessionId, text: &str, _ttl: Duration) -> Result<(), StoreError> {
///         self.0.lock().unwrap().insert(id.clone(), text.to_owned());
///         Ok(())
///     }
///     async fn compare_and_swap(
///         &self,
///         id: &SessionId,
///         expected: &str,
///         new: &str,
///         _ttl: Duration,
///     ) -> Result<bool, StoreError> {
///         let mut map = self.0.lock().unwrap();
///         match map.get_mut(id) {
///             Some(text) if text == expected => {
///                 *text = new.to_owned();
///                 Ok(true)
///             }
///             _ => Ok(false),
///         }
///     }
///     async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
///         self.0.lock().unwrap().remove(id);
///         Ok(())
///     }
///     fn capabilities(&self) -> StoreCapabilities {
///         // touch falls back to load + replace; no expiry is known.
///         StoreCapabilities::NONE.with_compare_and_swap()
///     }
/// }
/// assert!(MapStore::default().capabilities().compare_and_swap);
/// ```
///
/// A backend that cannot swap atomically answers
/// `Err(StoreError::Unsupported { operation: "compare_and_swap" })` and declares
/// [`StoreCapabilities::NONE`]: its sessions work, and the session builder refuses
/// `Session::update` (unless the session opts out with `without_atomic_update`, which makes
/// `update` a plain last-writer-wins write) and ID rotation for it.
///
/// # Wrapping a store
///
/// A wrapper (metrics, logging, a cache, fault injection) must forward **every** method,
/// `capabilities` included. The compiler insists on `compare_and_swap`; a default of the
/// others it falls back to is correct but slower (`touch`, `load_entry`, `replace`), while
/// the wrapper would still declare the inner store's abilities. This wrapper counts loads and
/// forwards the rest:
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::time::Duration;
/// # use session_core::{
/// #     MemoryStore, SessionId, SessionStore, StoreCapabilities, StoreError, StoredEntry,
/// # };
///
/// /// Counts the loads of the store it wraps.
/// struct Counting<S> {
///     inner: S,
///     loads: AtomicUsize,
/// }
///
/// impl<S: SessionStore> SessionStore for Counting<S> {
///     async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
///         self.loads.fetch_add(1, Ordering::Relaxed);
///         self.inner.load(id).await
///     }
///     async fn load_entry(&self, id: &SessionId) -> Result<Option<StoredEntry>, StoreError> {
///         self.loads.fetch_add(1, Ordering::Relaxed);
///         self.inner.load_entry(id).await
///     }
///     async fn save(&self, id: &SessionId, text: &str, ttl: Duration) -> Result<(), StoreError> {
///         self.inner.save(id, text, ttl).await
///     }
///     async fn replace(&self, id: &SessionId, text: &str, ttl: Duration) -> Result<bool, StoreError> {
///         self.inner.replace(id, text, ttl).await
///     }
///     async fn compare_and_swap(
///         &self,
///         id: &SessionId,
///         expected: &str,
///         new: &str,
///         ttl: Duration,
///     ) -> Result<bool, StoreError> {
///         self.inner.compare_and_swap(id, expected, new, ttl).await
///     }
///     async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
///         self.inner.delete(id).await
///     }
///     async fn touch(&self, id: &SessionId, ttl: Duration) -> Result<bool, StoreError> {
///         self.inner.touch(id, ttl).await
///     }
///     fn capabilities(&self) -> StoreCapabilities {
///         self.inner.capabilities()
///     }
/// }
///
/// let store = Counting { inner: MemoryStore::new(), loads: AtomicUsize::new(0) };
/// assert_eq!(store.capabilities(), MemoryStore::new().capabilities());
/// # futures::executor::block_on(async {
/// let id = SessionId::generate();
/// store.save(&id, "v1", Duration::from_secs(60)).await?;
/// assert!(store.compare_and_swap(&id, "v1", "v2", Duration::from_secs(60)).await?);
/// assert_eq!(store.load(&id).await?.as_deref(), Some("v2"));
/// assert_eq!(store.loads.load(Ordering::Relaxed), 1);
/// # Ok::<(), StoreError>(())
/// # }).unwrap();
/// ```
///
/// A store or wrapper that leaves out `compare_and_swap` does not compile:
///
/// ```compile_fail,E0046
/// use std::time::Duration;
/// # use session_core::{MemoryStore, SessionId, SessionStore, StoreCapabilities, StoreError};
///
/// struct Forgetful(MemoryStore);
///
/// impl SessionStore for Forgetful {
///     async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
///         self.0.load(id).await
///     }
///     async fn save(&self, id: &SessionId, text: &str, ttl: Duration) -> Result<(), StoreError> {
///         self.0.save(id, text, ttl).await
///     }
///     async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
///         self.0.delete(id).await
///     }
///     fn capabilities(&self) -> StoreCapabilities {
///         self.0.capabilities()
///     }
/// }
/// ```
///
/// Run the conformance suite (`session_core::test_util::run_conformance_suite`, feature
/// `test-util`) against a store or wrapper of your own: it also checks that the declared
/// capabilities match what the store does.
pub trait SessionStore: Send + Sync + 'static {
    /// Reads the text saved under `id`, or `None` when there is none (or it expired).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the storage failed.
    fn load(
        &self,
        id: &SessionId,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Like [`SessionStore::load`], with the entry's expiry time when the store knows it.
    /// A store that reports it declares [`StoreCapabilities::expiry_info`]; without it
    /// middleware cannot tell how much of an idle window is left, and refreshes on every use.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the storage failed.
    fn load_entry(
        &self,
        id: &SessionId,
    ) -> impl Future<Output = Result<Option<StoredEntry>, StoreError>> + Send {
        async move {
            Ok(self.load(id).await?.map(|text| StoredEntry {
                text,
                expires_at: None,
            }))
        }
    }

    /// Inserts or replaces the text under `id`, to expire after `ttl`.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the storage failed.
    fn save(
        &self,
        id: &SessionId,
        text: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Replaces the text under `id` (and its time to live with `ttl`) only if a live entry is
    /// there; tells whether it was. An entry that was deleted or expired stays gone.
    ///
    /// The default reads the entry and swaps it with [`SessionStore::compare_and_swap`],
    /// retrying while other writes get in between (up to 100 times, then
    /// [`StoreError::Contended`]), so it is atomic wherever `compare_and_swap` is. A store
    /// without `compare_and_swap` falls back to a read then
    /// [`SessionStore::save`], which leaves a short window in which a deletion can be undone:
    /// implement this method natively (Redis `SET … XX`, an `UPDATE`) where the backend can.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the storage failed, [`StoreError::Contended`] from the default
    /// when every attempt lost to another write.
    fn replace(
        &self,
        id: &SessionId,
        text: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        async move {
            const ATTEMPTS: usize = 100;
            for _ in 0..ATTEMPTS {
                let Some(current) = self.load(id).await? else {
                    return Ok(false);
                };
                match self.compare_and_swap(id, &current, text, ttl).await {
                    Ok(true) => return Ok(true),
                    Ok(false) => {}
                    Err(StoreError::Unsupported { .. }) => {
                        return self.save(id, text, ttl).await.map(|()| true);
                    }
                    Err(error) => return Err(error),
                }
            }
            // Never a blind `save` here: that could bring back an entry deleted meanwhile.
            Err(StoreError::Contended {
                operation: "replace",
            })
        }
    }

    /// Replaces the text under `id` with `new` (and its time to live with `ttl`) only if the
    /// entry exists and its text is exactly `expected`; tells whether it did. Atomic: two
    /// concurrent calls with the same `expected` cannot both succeed. A store that implements
    /// it declares [`StoreCapabilities::compare_and_swap`].
    ///
    /// Required, though not every backend can: one that cannot do it atomically answers
    /// [`StoreError::Unsupported`] and does not declare it, so a wrapper or a new store can
    /// never lose it by omission.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unsupported`] from stores that cannot do it atomically, and
    /// [`StoreError`] when the storage failed.
    fn compare_and_swap(
        &self,
        id: &SessionId,
        expected: &str,
        new: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Removes the entry under `id`; succeeds when there is none.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the storage failed.
    fn delete(&self, id: &SessionId) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Extends the entry's time to live to `ttl` from now without changing its text; `false`
    /// when there is no such entry. Never recreates a deleted entry. The default reads the
    /// text and writes it back with [`SessionStore::replace`]; a store that does better
    /// (without resending the text) declares [`StoreCapabilities::native_touch`].
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the storage failed.
    fn touch(
        &self,
        id: &SessionId,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        async move {
            match self.load(id).await? {
                // `replace`, not `save`: an entry deleted meanwhile stays deleted.
                Some(text) => self.replace(id, &text, ttl).await,
                None => Ok(false),
            }
        }
    }

    /// The optional abilities this store has. Required, so that every store states them (a
    /// wrapper forwards its inner store's, and forwards the methods they name too):
    /// [`SessionsBuilder::build`] refuses a session that needs compare-and-swap
    /// (`Session::update`, ID rotation) on a store that does not declare it, and the start-up
    /// log reports them. Declare only what the store does; the conformance suite checks the
    /// declaration against the behaviour.
    ///
    /// [`SessionsBuilder::build`]: https://docs.rs/session-engine/latest/session_engine/struct.SessionsBuilder.html#method.build
    fn capabilities(&self) -> StoreCapabilities;
}

/// The optional abilities of a [`SessionStore`], declared by
/// [`SessionStore::capabilities`] and checked when sessions are built.
///
/// `#[non_exhaustive]`: start from [`StoreCapabilities::NONE`] and add what the store does,
/// so a store written today declares nothing it was never asked about.
///
/// # Examples
///
/// ```
/// # use session_core::{MemoryStore, SessionStore, StoreCapabilities};
///
/// let atomic = StoreCapabilities::NONE.with_compare_and_swap();
/// assert!(atomic.compare_and_swap && !atomic.native_touch && !atomic.expiry_info);
/// assert_eq!(StoreCapabilities::default(), StoreCapabilities::NONE);
/// assert_eq!(MemoryStore::new().capabilities(), StoreCapabilities::ALL);
/// assert_eq!(atomic.to_string(), "compare_and_swap");
/// assert_eq!(StoreCapabilities::NONE.to_string(), "none");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct StoreCapabilities {
    /// [`SessionStore::compare_and_swap`] is implemented, atomically. Needed by
    /// `Session::update` (unless the session opts out) and by ID rotation.
    pub compare_and_swap: bool,
    /// [`SessionStore::touch`] extends the time to live without reading and rewriting the
    /// text (the default does both): idle refresh is cheap.
    pub native_touch: bool,
    /// [`SessionStore::load_entry`] reports the entry's expiry time, so an idle timeout is
    /// refreshed only once a quarter of its window has passed (else on every use).
    pub expiry_info: bool,
}

impl StoreCapabilities {
    /// No optional ability: the conservative declaration, and the [`Default`].
    pub const NONE: Self = Self {
        compare_and_swap: false,
        native_touch: false,
        expiry_info: false,
    };

    /// Every ability this version knows of. For a store that has them all; a wrapper forwards
    /// its inner store's instead.
    pub const ALL: Self = Self {
        compare_and_swap: true,
        native_touch: true,
        expiry_info: true,
    };

    /// These abilities plus [`compare_and_swap`](Self::compare_and_swap).
    #[must_use]
    pub const fn with_compare_and_swap(mut self) -> Self {
        self.compare_and_swap = true;
        self
    }

    /// These abilities plus [`native_touch`](Self::native_touch).
    #[must_use]
    pub const fn with_native_touch(mut self) -> Self {
        self.native_touch = true;
        self
    }

    /// These abilities plus [`expiry_info`](Self::expiry_info).
    #[must_use]
    pub const fn with_expiry_info(mut self) -> Self {
        self.expiry_info = true;
        self
    }
}

/// The declared abilities' names, comma-separated, or `none`.
impl fmt::Display for StoreCapabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (self.compare_and_swap, "compare_and_swap"),
            (self.native_touch, "native_touch"),
            (self.expiry_info, "expiry_info"),
        ];
        let mut any = false;
        for (_, name) in names.iter().filter(|(has, _)| *has) {
            if any {
                f.write_str(", ")?;
            }
            f.write_str(name)?;
            any = true;
        }
        if !any {
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// A stored session and when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredEntry {
    /// The stored text.
    pub text: String,
    /// When the entry expires, if the store can tell.
    pub expires_at: Option<SystemTime>,
}

impl StoredEntry {
    /// An entry with its expiry, for [`SessionStore::load_entry`] implementations.
    pub fn new(text: String, expires_at: Option<SystemTime>) -> Self {
        Self { text, expires_at }
    }
}

/// A boxed future, as returned by [`DynSessionStore`].
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// The object-safe form of [`SessionStore`], implemented for every store, so that different
/// stores can sit behind one `Arc<dyn DynSessionStore>`. Implement [`SessionStore`], not this.
pub trait DynSessionStore: Send + Sync + 'static {
    /// See [`SessionStore::load`].
    fn load<'a>(&'a self, id: &'a SessionId) -> StoreFuture<'a, Option<String>>;
    /// See [`SessionStore::load_entry`].
    fn load_entry<'a>(&'a self, id: &'a SessionId) -> StoreFuture<'a, Option<StoredEntry>>;
    /// See [`SessionStore::save`].
    fn save<'a>(&'a self, id: &'a SessionId, text: &'a str, ttl: Duration) -> StoreFuture<'a, ()>;
    /// See [`SessionStore::replace`].
    fn replace<'a>(
        &'a self,
        id: &'a SessionId,
        text: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool>;
    /// See [`SessionStore::compare_and_swap`].
    fn compare_and_swap<'a>(
        &'a self,
        id: &'a SessionId,
        expected: &'a str,
        new: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool>;
    /// See [`SessionStore::delete`].
    fn delete<'a>(&'a self, id: &'a SessionId) -> StoreFuture<'a, ()>;
    /// See [`SessionStore::touch`].
    fn touch<'a>(&'a self, id: &'a SessionId, ttl: Duration) -> StoreFuture<'a, bool>;
    /// See [`SessionStore::capabilities`].
    fn capabilities(&self) -> StoreCapabilities;
    /// The store's Rust type name, to name it in logs: never its address, URL or
    /// credentials.
    fn type_name(&self) -> &'static str;
}

impl<S: SessionStore> DynSessionStore for S {
    fn load<'a>(&'a self, id: &'a SessionId) -> StoreFuture<'a, Option<String>> {
        Box::pin(SessionStore::load(self, id))
    }

    fn load_entry<'a>(&'a self, id: &'a SessionId) -> StoreFuture<'a, Option<StoredEntry>> {
        Box::pin(SessionStore::load_entry(self, id))
    }

    fn save<'a>(&'a self, id: &'a SessionId, text: &'a str, ttl: Duration) -> StoreFuture<'a, ()> {
        Box::pin(SessionStore::save(self, id, text, ttl))
    }

    fn replace<'a>(
        &'a self,
        id: &'a SessionId,
        text: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        Box::pin(SessionStore::replace(self, id, text, ttl))
    }

    fn compare_and_swap<'a>(
        &'a self,
        id: &'a SessionId,
        expected: &'a str,
        new: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        Box::pin(SessionStore::compare_and_swap(self, id, expected, new, ttl))
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> StoreFuture<'a, ()> {
        Box::pin(SessionStore::delete(self, id))
    }

    fn touch<'a>(&'a self, id: &'a SessionId, ttl: Duration) -> StoreFuture<'a, bool> {
        Box::pin(SessionStore::touch(self, id, ttl))
    }

    fn capabilities(&self) -> StoreCapabilities {
        SessionStore::capabilities(self)
    }

    fn type_name(&self) -> &'static str {
        std::any::type_name::<S>()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use futures::executor::block_on;

    use super::*;

    /// A store whose entry changes between every read and swap (`contended`), or that cannot
    /// swap at all.
    struct Store {
        text: Mutex<Option<String>>,
        contended: bool,
    }

    impl SessionStore for Store {
        async fn load(&self, _: &SessionId) -> Result<Option<String>, StoreError> {
            Ok(self.text.lock().unwrap().clone())
        }
        async fn save(&self, _: &SessionId, text: &str, _: Duration) -> Result<(), StoreError> {
            *self.text.lock().unwrap() = Some(text.to_owned());
            Ok(())
        }
        async fn compare_and_swap(
            &self,
            _: &SessionId,
            _: &str,
            _: &str,
            _: Duration,
        ) -> Result<bool, StoreError> {
            if self.contended {
                Ok(false)
            } else {
                Err(StoreError::Unsupported {
                    operation: "compare_and_swap",
                })
            }
        }
        async fn delete(&self, _: &SessionId) -> Result<(), StoreError> {
            *self.text.lock().unwrap() = None;
            Ok(())
        }
        fn capabilities(&self) -> StoreCapabilities {
            StoreCapabilities::NONE
        }
    }

    #[test]
    fn the_default_replace_never_saves_blindly_after_losing_every_swap() {
        let store = Store {
            text: Mutex::new(Some("old".into())),
            contended: true,
        };
        let id = SessionId::generate();
        let result = block_on(SessionStore::replace(
            &store,
            &id,
            "new",
            Duration::from_secs(1),
        ));
        assert!(matches!(result, Err(StoreError::Contended { .. })));
        assert_eq!(store.text.lock().unwrap().as_deref(), Some("old"));
    }

    #[test]
    fn the_default_replace_without_swaps_writes_only_over_an_entry() {
        let store = Store {
            text: Mutex::new(None),
            contended: false,
        };
        let id = SessionId::generate();
        let ttl = Duration::from_secs(1);
        assert!(!block_on(SessionStore::replace(&store, &id, "new", ttl)).unwrap());
        assert_eq!(*store.text.lock().unwrap(), None);
        block_on(SessionStore::save(&store, &id, "old", ttl)).unwrap();
        assert!(block_on(SessionStore::replace(&store, &id, "new", ttl)).unwrap());
        assert_eq!(store.text.lock().unwrap().as_deref(), Some("new"));
    }

    /// The docs' forwarding wrapper: every method, `capabilities` included, goes to the inner
    /// store.
    struct Forwarding<S>(S);

    impl<S: SessionStore> SessionStore for Forwarding<S> {
        async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
            SessionStore::load(&self.0, id).await
        }
        async fn load_entry(&self, id: &SessionId) -> Result<Option<StoredEntry>, StoreError> {
            SessionStore::load_entry(&self.0, id).await
        }
        async fn save(&self, id: &SessionId, text: &str, ttl: Duration) -> Result<(), StoreError> {
            SessionStore::save(&self.0, id, text, ttl).await
        }
        async fn replace(
            &self,
            id: &SessionId,
            text: &str,
            ttl: Duration,
        ) -> Result<bool, StoreError> {
            SessionStore::replace(&self.0, id, text, ttl).await
        }
        async fn compare_and_swap(
            &self,
            id: &SessionId,
            expected: &str,
            new: &str,
            ttl: Duration,
        ) -> Result<bool, StoreError> {
            SessionStore::compare_and_swap(&self.0, id, expected, new, ttl).await
        }
        async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
            SessionStore::delete(&self.0, id).await
        }
        async fn touch(&self, id: &SessionId, ttl: Duration) -> Result<bool, StoreError> {
            SessionStore::touch(&self.0, id, ttl).await
        }
        fn capabilities(&self) -> StoreCapabilities {
            SessionStore::capabilities(&self.0)
        }
    }

    /// A wrapper that forwards everything keeps the whole contract, atomic updates included,
    /// and declares what the inner store does.
    #[cfg(feature = "test-util")]
    #[test]
    fn a_forwarding_wrapper_passes_the_conformance_suite() {
        let store = Forwarding(crate::MemoryStore::new());
        assert_eq!(SessionStore::capabilities(&store), StoreCapabilities::ALL);
        block_on(crate::test_util::run_conformance_suite(&store));
        block_on(crate::test_util::run_concurrent_update_check(&store, 8, 5));
    }

    /// A wrapper that forwards the capabilities but forgets `load_entry` (so reports no
    /// expiry) or `touch` breaks its own declaration: the suite says so. (Forgetting
    /// `compare_and_swap` does not compile.)
    #[cfg(feature = "test-util")]
    #[test]
    fn the_conformance_suite_catches_a_wrapper_that_forgets_a_method() {
        /// Forwards `load`, `save`, `compare_and_swap` and `delete` only, and declares
        /// `declared`.
        struct Forgetful {
            inner: crate::MemoryStore,
            declared: StoreCapabilities,
        }
        impl SessionStore for Forgetful {
            async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
                SessionStore::load(&self.inner, id).await
            }
            async fn save(
                &self,
                id: &SessionId,
                text: &str,
                ttl: Duration,
            ) -> Result<(), StoreError> {
                SessionStore::save(&self.inner, id, text, ttl).await
            }
            async fn compare_and_swap(
                &self,
                id: &SessionId,
                expected: &str,
                new: &str,
                ttl: Duration,
            ) -> Result<bool, StoreError> {
                SessionStore::compare_and_swap(&self.inner, id, expected, new, ttl).await
            }
            async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
                SessionStore::delete(&self.inner, id).await
            }
            fn capabilities(&self) -> StoreCapabilities {
                self.declared
            }
        }
        let inner = crate::MemoryStore::new();
        let forwarded = Forgetful {
            declared: SessionStore::capabilities(&inner),
            inner,
        };
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            block_on(crate::test_util::check_declared_capabilities(&forwarded));
        }));
        assert!(outcome.is_err(), "an undelivered declaration is caught");
        // Declaring only what it forwards is honest: the suite passes.
        let honest = Forgetful {
            declared: StoreCapabilities::NONE.with_compare_and_swap(),
            inner: crate::MemoryStore::new(),
        };
        block_on(crate::test_util::run_conformance_suite(&honest));
    }

    #[test]
    fn the_dyn_form_forwards_capabilities_and_names_the_type() {
        let store: Box<dyn DynSessionStore> = Box::new(Forwarding(crate::MemoryStore::new()));
        assert_eq!(store.capabilities(), StoreCapabilities::ALL);
        assert!(
            store
                .type_name()
                .contains("Forwarding<session_core::memory::MemoryStore>")
        );
    }
}
