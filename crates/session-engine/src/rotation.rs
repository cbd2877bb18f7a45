//! Periodic ID rotation: once a server-side session's ID is older than the configured period,
//! the next request that uses the session moves it to a new ID (same value, start and CSRF
//! token). The old ID forwards to the new one for a grace window and then dies, so requests
//! already on their way with it (parallel requests, other tabs) are served the session and
//! sent the new ID instead of being logged out.
//!
//! The move is one compare-and-swap of the old entry, from the session's record to a forward
//! marker: of two requests rotating at once, one wins, and the other drops its own successor
//! and follows the winner's, so a session never forks.

use std::time::{Duration, SystemTime};

use session_core::{DynSessionStore, Record, SessionId, StoreError};

use crate::SessionError;
use crate::provider::ProviderCore;

/// The default grace window: long enough for the requests a page sends in parallel.
pub const DEFAULT_ROTATION_GRACE: Duration = Duration::from_secs(5);

/// How many forward markers a load follows (a session rotated twice within one grace window).
const MAX_HOPS: usize = 2;

/// When IDs rotate, and how long an old ID forwards.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rotation {
    pub(crate) every: Duration,
    pub(crate) grace: Duration,
}

/// What a rotation did.
pub(crate) enum Rotated {
    /// The session now lives under this ID, issued at that time.
    To(SessionId, SystemTime),
    /// The session changed meanwhile: it keeps its ID for now.
    Kept,
    /// The session ended meanwhile.
    Ended,
}

/// The text stored under an ID that moved to `successor`. It never decodes as a record.
fn forward_to(successor: &SessionId) -> String {
    format!("moved {}", successor.as_str())
}

/// The successor named by a forward marker.
pub(crate) fn forwarded(text: &str) -> Option<SessionId> {
    SessionId::parse(text.strip_prefix("moved ")?).ok()
}

impl ProviderCore {
    /// Whether this session's IDs rotate, which is what leaves forward markers behind.
    pub(crate) fn rotates(&self) -> bool {
        self.rotation.is_some()
    }

    /// Whether `record`'s ID is due for rotation now.
    pub(crate) fn rotation_due(&self, record: &Record) -> bool {
        self.rotation.is_some_and(|rotation| {
            let now = self.lifetime.now();
            now.duration_since(record.id_issued_at)
                .is_ok_and(|age| age >= rotation.every)
        })
    }

    /// The entry under `id`, following forward markers to the session's current ID: that ID
    /// and its entry's text and expiry, whether a marker was followed, or `None`.
    pub(crate) async fn load_current(
        &self,
        store: &dyn DynSessionStore,
        id: &SessionId,
    ) -> Result<Option<(SessionId, session_core::StoredEntry, bool)>, SessionError> {
        let mut id = id.clone();
        // Markers exist only where rotation is on (and records have their envelope).
        let hops = if self.rotation.is_some() { MAX_HOPS } else { 0 };
        for hop in 0..=hops {
            let Some(entry) = store.load_entry(&id).await? else {
                return Ok(None);
            };
            match forwarded(&entry.text) {
                Some(successor) if hop < hops => id = successor,
                Some(_) => return Ok(None),
                None => return Ok(Some((id, entry, hop > 0))),
            }
        }
        Ok(None)
    }

    /// Moves the session under `old`, whose stored text is `stored` and record `record`, to a
    /// new ID; the old ID forwards to it for the grace window.
    pub(crate) async fn rotate(
        &self,
        store: &dyn DynSessionStore,
        old: &SessionId,
        stored: &str,
        record: &Record,
    ) -> Result<Rotated, SessionError> {
        let Some(rotation) = self.rotation else {
            return Ok(Rotated::Kept);
        };
        let issued_at = self.lifetime.now();
        let moved = record.clone().issued_at(issued_at);
        let successor = SessionId::generate();
        let ttl = self.server_ttl(&moved);
        match store
            .save(&successor, &self.encode_record(&moved), ttl)
            .await
        {
            // A full store keeps the session on its ID rather than refuse the request.
            Err(StoreError::Full { .. }) => return Ok(Rotated::Kept),
            saved => saved?,
        }
        let marker = forward_to(&successor);
        match store
            .compare_and_swap(old, stored, &marker, rotation.grace)
            .await
        {
            Ok(true) => return Ok(Rotated::To(successor, issued_at)),
            Ok(false) => {}
            // `build` refuses rotation on stores that do not declare compare-and-swap; one that
            // declares it falsely fails loudly rather than leave rotation silently off.
            Err(error @ StoreError::Unsupported { .. }) => {
                tracing::error!(session = %self.name, "the store declares compare_and_swap but does not support it: IDs cannot rotate");
                store.delete(&successor).await?;
                return Err(error.into());
            }
            Err(error) => return Err(error.into()),
        }
        // Another request got there first, or changed or ended the session.
        store.delete(&successor).await?;
        Ok(match store.load(old).await? {
            Some(text) => match forwarded(&text) {
                Some(theirs) => Rotated::To(theirs, issued_at),
                // A logout is ending it.
                None if text == TOMBSTONE => Rotated::Ended,
                None => Rotated::Kept,
            },
            None => Rotated::Ended,
        })
    }

    /// Deletes the stored session `id` and, if it had moved, the session it moved to: a logout
    /// through an ID that was just rotated away ends the session.
    ///
    /// Where IDs rotate, a rotation may move the session between reading its entry and
    /// deleting it; a blind delete would then remove only the forward marker and leave the
    /// successor alive (a logout undone). So the entry is first swapped for a tombstone: a
    /// rotation's own swap then fails and it drops its successor, or, if the rotation won,
    /// the swap fails, the entry is read again and its marker followed.
    ///
    /// A marker that leads to `keep` (the asking request's own session, for
    /// [`SessionHandle::invalidate_id`](crate::SessionHandle::invalidate_id)) is removed
    /// without ending `keep`: an app's list of a user's IDs may still hold the asking device's
    /// own previous ID.
    pub(crate) async fn delete_session(
        &self,
        store: &dyn DynSessionStore,
        id: &SessionId,
        keep: Option<&SessionId>,
    ) -> Result<(), SessionError> {
        let Some(rotation) = self.rotation else {
            store.delete(id).await?;
            return Ok(());
        };
        let mut next = Some(id.clone());
        for _ in 0..=MAX_HOPS {
            let Some(current) = next
                .take()
                .filter(|current| Some(current) != keep || current == id)
            else {
                return Ok(());
            };
            next = end_entry(store, &current, rotation.grace).await?;
        }
        if let Some(last) = next.filter(|last| Some(last) != keep) {
            store.delete(&last).await?;
        }
        Ok(())
    }
}

/// The text a logout swaps into an entry before deleting it. It never decodes as a record
/// and is not a forward marker.
const TOMBSTONE: &str = "ended";

/// How many times a logout re-reads an entry that keeps changing under it before deleting it
/// regardless.
const MAX_END_ATTEMPTS: usize = 8;

/// Ends the entry under `id`; if it is a forward marker, the successor it names, which the
/// caller ends next.
async fn end_entry(
    store: &dyn DynSessionStore,
    id: &SessionId,
    grace: Duration,
) -> Result<Option<SessionId>, SessionError> {
    for _ in 0..MAX_END_ATTEMPTS {
        let Some(text) = store.load(id).await? else {
            return Ok(None);
        };
        if let Some(successor) = forwarded(&text) {
            store.delete(id).await?;
            return Ok(Some(successor));
        }
        // The swap fails if a rotation (or a write) changed the entry since it was read.
        if store.compare_and_swap(id, &text, TOMBSTONE, grace).await? {
            break;
        }
    }
    store.delete(id).await?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::task::Poll;

    use session_core::{MemoryStore, SessionStore, StoreCapabilities, StoreError, StoredEntry};

    use super::*;
    use crate::{CookieTransport, Registry, SessionConfig};

    #[test]
    fn forward_markers_name_a_valid_id_and_never_decode_as_records() {
        let id = SessionId::generate();
        let marker = forward_to(&id);
        assert_eq!(forwarded(&marker), Some(id));
        assert!(Record::decode(&marker, "s").is_none());
        assert!(forwarded("moved garbage").is_none());
        assert!(forwarded("s2 1 0 x s\nv").is_none());
    }

    /// Rotation needs an ID, dated records, a period, a grace shorter than it, and clients that
    /// learn new IDs: anything else is refused when the app is built.
    #[test]
    fn rotation_is_refused_where_it_cannot_work() {
        use session_core::{Encrypt, EncryptionKey};
        let client_side = SessionConfig::<String>::new(CookieTransport::new("s"))
            .transform(Encrypt::new(EncryptionKey::generate()))
            .rotate_id_every(Duration::from_secs(60));
        let stored = |transport: CookieTransport| {
            SessionConfig::<String>::new(transport)
                .store(MemoryStore::new())
                .rotate_id_every(Duration::from_secs(60))
        };
        let plain = || CookieTransport::new("s");
        let unfit = [
            client_side,
            stored(plain()).rotate_id_every(Duration::ZERO),
            stored(plain()).without_envelope(),
            stored(plain()).rotation_grace(Duration::ZERO),
            stored(plain()).rotation_grace(Duration::from_secs(60)),
            stored(plain().query_fallback("sid")),
        ];
        let fit = Registry::builder().session(stored(plain())).build();
        assert!(fit.is_ok(), "{fit:?}");
        for config in unfit {
            let result = Registry::builder().session(config).build();
            assert!(
                matches!(result, Err(crate::ConfigError::InvalidRotation { .. })),
                "{result:?}"
            );
        }
    }

    /// A memory store whose every call first lets other tasks run, so that two rotations
    /// polled together interleave at each storage step.
    #[derive(Clone, Default)]
    struct Interleaving(MemoryStore);

    async fn yield_once() {
        let mut yielded = false;
        std::future::poll_fn(|cx| {
            if std::mem::replace(&mut yielded, true) {
                Poll::Ready(())
            } else {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
        .await;
    }

    impl SessionStore for Interleaving {
        async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
            yield_once().await;
            SessionStore::load(&self.0, id).await
        }

        async fn save(&self, id: &SessionId, text: &str, ttl: Duration) -> Result<(), StoreError> {
            yield_once().await;
            SessionStore::save(&self.0, id, text, ttl).await
        }

        async fn compare_and_swap(
            &self,
            id: &SessionId,
            expected: &str,
            new: &str,
            ttl: Duration,
        ) -> Result<bool, StoreError> {
            yield_once().await;
            SessionStore::compare_and_swap(&self.0, id, expected, new, ttl).await
        }

        async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
            yield_once().await;
            SessionStore::delete(&self.0, id).await
        }

        async fn load_entry(&self, id: &SessionId) -> Result<Option<StoredEntry>, StoreError> {
            yield_once().await;
            SessionStore::load_entry(&self.0, id).await
        }

        async fn replace(
            &self,
            id: &SessionId,
            text: &str,
            ttl: Duration,
        ) -> Result<bool, StoreError> {
            yield_once().await;
            SessionStore::replace(&self.0, id, text, ttl).await
        }

        async fn touch(&self, id: &SessionId, ttl: Duration) -> Result<bool, StoreError> {
            yield_once().await;
            SessionStore::touch(&self.0, id, ttl).await
        }

        fn capabilities(&self) -> StoreCapabilities {
            SessionStore::capabilities(&self.0)
        }
    }

    /// A registry of one rotating server-side session on `store`.
    fn rotating(store: Interleaving) -> Registry {
        Registry::builder()
            .session(
                SessionConfig::<String>::new(CookieTransport::new("s"))
                    .shared_store(Arc::new(store))
                    .rotate_id_every(Duration::from_secs(60)),
            )
            .build()
            .unwrap()
    }

    /// A session stored under a new ID: the ID, its record and the record's stored text.
    async fn stored_session(core: &ProviderCore) -> (SessionId, Record, String) {
        let id = SessionId::generate();
        let record = Record::new("v".into(), SystemTime::now(), None);
        let text = core.encode_record(&record);
        let backend = core.store.as_deref().unwrap();
        backend
            .save(&id, &text, Duration::from_secs(60))
            .await
            .unwrap();
        (id, record, text)
    }

    /// Two requests rotating one session at once: one successor, which both use; the other
    /// request's successor is gone, and the old ID forwards to the survivor.
    #[test]
    fn two_rotations_at_once_make_one_successor() {
        let registry = rotating(Interleaving::default());
        let core = &registry.providers()[0].core;
        let backend = core.store.as_deref().unwrap();
        futures::executor::block_on(async {
            let (old, record, stored) = stored_session(core).await;
            let (a, b) = futures::future::join(
                core.rotate(backend, &old, &stored, &record),
                core.rotate(backend, &old, &stored, &record),
            )
            .await;
            let (Rotated::To(a, _), Rotated::To(b, _)) = (a.unwrap(), b.unwrap()) else {
                panic!("both requests are served the session");
            };
            assert_eq!(a, b, "one successor");
            let marker = backend.load(&old).await.unwrap().unwrap();
            assert_eq!(forwarded(&marker), Some(a.clone()));
            assert!(backend.load(&a).await.unwrap().is_some());
        });
    }

    /// A logout through the old ID while another request rotates it, each storage step of
    /// the two interleaved, in either order: the session ends under both IDs. (A logout that
    /// read the entry before the rotation's swap and deleted it after used to remove only the
    /// forward marker, leaving the successor logged in.)
    #[test]
    fn a_logout_racing_a_rotation_ends_the_session_under_both_ids() {
        for logout_first in [false, true] {
            let store = Interleaving::default();
            let registry = rotating(store.clone());
            let core = &registry.providers()[0].core;
            let backend = core.store.as_deref().unwrap();
            futures::executor::block_on(async {
                let (old, record, stored) = stored_session(core).await;
                let rotation = core.rotate(backend, &old, &stored, &record);
                let logout = core.delete_session(backend, &old, None);
                let rotated = if logout_first {
                    let (ended, rotated) = futures::future::join(logout, rotation).await;
                    ended.unwrap();
                    rotated.unwrap()
                } else {
                    let (rotated, ended) = futures::future::join(rotation, logout).await;
                    ended.unwrap();
                    rotated.unwrap()
                };
                assert_eq!(backend.load(&old).await.unwrap(), None, "old ID ended");
                if let Rotated::To(successor, _) = rotated {
                    assert_eq!(
                        backend.load(&successor).await.unwrap(),
                        None,
                        "successor ended (logout first: {logout_first})"
                    );
                }
                assert_eq!(store.0.len(), 0, "nothing left: no successor, no tombstone");
            });
        }
    }

    /// A session rotated a moment ago is ended through its old ID by another device's
    /// `invalidate_id` (the forward is followed), but never when the successor is the asking
    /// request's own session.
    #[test]
    fn invalidating_a_rotated_away_id_follows_it_unless_it_leads_to_the_asker() {
        for own in [false, true] {
            let registry = rotating(Interleaving::default());
            let core = &registry.providers()[0].core;
            let backend = core.store.as_deref().unwrap();
            futures::executor::block_on(async {
                let (old, record, stored) = stored_session(core).await;
                let Rotated::To(successor, _) =
                    core.rotate(backend, &old, &stored, &record).await.unwrap()
                else {
                    panic!("rotated");
                };
                let keep = own.then_some(&successor);
                core.delete_session(backend, &old, keep).await.unwrap();
                assert_eq!(backend.load(&old).await.unwrap(), None);
                let alive = backend.load(&successor).await.unwrap().is_some();
                assert_eq!(alive, own, "the successor lives only if it is the asker's");
            });
        }
    }
}
