//! The storage trait for server-side sessions, and its object-safe form.

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
///
/// - `compare_and_swap` replaces the text only if it is still exactly `expected`, atomically
///   with respect to every other write of that entry; it is what makes concurrent updates of
///   one session lose nothing. The default answers [`StoreError::Unsupported`].
/// - `load_entry` is `load` plus the entry's expiry time when the store knows it (in one round
///   trip), so middleware can refresh an idle timeout only when a useful part of it has passed;
///   the default reports no expiry.
///
/// IDs reach a store only after [`SessionId::parse`] validated them, so an implementation may
/// use them as file names or keys without escaping.
///
/// # Implementing a store
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use std::time::Duration;
/// use session_core::{SessionId, SessionStore, StoreError};
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
///     async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
///         self.0.lock().unwrap().remove(id);
///         Ok(())
///     }
/// }
/// ```
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
    /// concurrent calls with the same `expected` cannot both succeed.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unsupported`] from stores that cannot do it atomically (the default), and
    /// [`StoreError`] when the storage failed.
    fn compare_and_swap(
        &self,
        id: &SessionId,
        expected: &str,
        new: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let _ = (id, expected, new, ttl);
        async {
            Err(StoreError::Unsupported {
                operation: "compare_and_swap",
            })
        }
    }

    /// Removes the entry under `id`; succeeds when there is none.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the storage failed.
    fn delete(&self, id: &SessionId) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Extends the entry's time to live to `ttl` from now without changing its text; `false`
    /// when there is no such entry. Never recreates a deleted entry. The default reads the
    /// text and writes it back with [`SessionStore::replace`].
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
}
