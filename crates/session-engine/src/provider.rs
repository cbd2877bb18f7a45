//! One registered session type at run time: reading what a request carried.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use session_core::{DynSessionStore, Record, Serializer, SessionId, TransformerChain};

use crate::SessionError;
use crate::incoming::Incoming;
use crate::lifetime::Lifetime;
use crate::outgoing::Writer;
use crate::rotation::{Rotated, Rotation};
use crate::slot::Loaded;
use crate::transport::Transport;

/// The typed serializer, boxed so a provider can hold it without knowing `T`.
pub(crate) struct SerializerBox<T>(pub(crate) Arc<dyn Serializer<T>>);

pub(crate) struct Provider {
    pub(crate) core: ProviderCore,
    pub(crate) type_id: TypeId,
    pub(crate) type_name: &'static str,
    /// A `SerializerBox<T>` for the `T` of `type_id`.
    pub(crate) serializer: Arc<dyn Any + Send + Sync>,
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("name", &self.core.name)
            .field("type", &self.type_name)
            .finish_non_exhaustive()
    }
}

/// Everything about a session type that does not depend on `T`.
pub(crate) struct ProviderCore {
    pub(crate) name: String,
    pub(crate) transport: Transport,
    /// The response side of `transport`.
    pub(crate) writer: Writer,
    pub(crate) store: Option<Arc<dyn DynSessionStore>>,
    pub(crate) chain: TransformerChain,
    pub(crate) lifetime: Lifetime,
    /// Whether values carry the [`Record`] header (start, expiry, CSRF token).
    pub(crate) envelope: bool,
    /// Periodic ID rotation, for server-side sessions that asked for it.
    pub(crate) rotation: Option<Rotation>,
}

impl Provider {
    /// The serializer of `T`, which is this provider's type.
    pub(crate) fn serializer<T: 'static>(&self) -> Option<Arc<dyn Serializer<T>>> {
        let typed = self.serializer.downcast_ref::<SerializerBox<T>>()?;
        Some(Arc::clone(&typed.0))
    }

    /// Deletes the stored session `id`, wherever its client is, and the session it moved to
    /// if a rotation moved it within the grace window, unless that is `keep` (the asking
    /// request's own session).
    pub(crate) async fn invalidate(
        &self,
        id: &SessionId,
        keep: Option<&SessionId>,
    ) -> Result<(), SessionError> {
        let store = self
            .core
            .store
            .as_ref()
            .ok_or(SessionError::NotServerSide {
                type_name: self.type_name,
            })?;
        // Following a forward: an app's list may hold an ID that a rotation moved a moment
        // ago (before the device's next request told the app the new one); a blind delete
        // would end only the forward and leave the session logged in.
        self.core.delete_session(&**store, id, keep).await
    }
}

impl ProviderCore {
    pub(crate) fn is_server_side(&self) -> bool {
        self.store.is_some()
    }

    /// What the start-up log says about this session: name, transport, mode, store and
    /// timeouts. Nothing secret: transformers are counted, not printed (an app's own
    /// transformer may print its key), and a store is named by its type only.
    pub(crate) fn summary(&self) -> String {
        use std::fmt::Write as _;
        let transport = match &self.transport {
            Transport::Cookie(_) => "cookie",
            Transport::Header(header) if header.is_bearer() => "bearer header",
            Transport::Header(_) => "header",
        };
        let mut line = format!("session {:?}: {transport}", self.name);
        let transformers = match self.chain.len() {
            1 => "1 transformer".to_owned(),
            n => format!("{n} transformers"),
        };
        let _ = match self.store.as_deref() {
            Some(store) => write!(
                line,
                ", server-side in {} ({}), ID sealed by {transformers}",
                store.type_name(),
                store.capabilities()
            ),
            None => write!(line, ", client-side, value sealed by {transformers}"),
        };
        let _ = write!(line, ", idle timeout {} s", self.lifetime.idle.as_secs());
        let _ = match self.lifetime.absolute {
            Some(absolute) => write!(line, ", absolute timeout {} s", absolute.as_secs()),
            None => write!(line, ", no absolute timeout"),
        };
        if let Some(rotation) = self.rotation {
            let _ = write!(
                line,
                ", ID rotated every {} s (grace {} s)",
                rotation.every.as_secs(),
                rotation.grace.as_secs()
            );
        }
        if !self.envelope {
            line.push_str(", without envelope");
        }
        line
    }

    /// Unseals one received value: the value, and whether an older key sealed it. `None`
    /// when it is not authentic.
    fn unseal(&self, raw: &str) -> Option<(String, bool)> {
        let unsealed = self.chain.unseal(&self.name, raw)?;
        Some((unsealed.value, unsealed.stale))
    }

    /// Unseals one received session ID (server-side sessions) and validates it, without any
    /// storage access. `None` when it is not authentic or not a well-formed ID.
    fn unseal_id(&self, raw: &str) -> Option<(SessionId, bool)> {
        let (value, stale) = self.unseal(raw)?;
        Some((SessionId::parse(&value).ok()?, stale))
    }

    /// Every authentic session ID the request carried (several only when cookies or headers
    /// of the session's name were repeated).
    pub(crate) fn incoming_ids(&self, incoming: &Incoming) -> Vec<SessionId> {
        let candidates = incoming.candidates().iter();
        candidates
            .filter_map(|raw| Some(self.unseal_id(raw)?.0))
            .collect()
    }

    /// The text form of a record: with its header, or the bare value.
    pub(crate) fn encode_record(&self, record: &Record) -> String {
        if self.envelope {
            record.encode(&self.name)
        } else {
            record.text.clone()
        }
    }

    /// Parses what [`ProviderCore::encode_record`] wrote; `None` for another session's
    /// record.
    pub(crate) fn decode_record(&self, text: &str) -> Option<Record> {
        if self.envelope {
            Record::decode(text, &self.name)
        } else {
            Some(Record::bare(text.to_owned(), self.lifetime.now()))
        }
    }

    /// [`ProviderCore::decode_record`] of a text that is not needed afterwards (no copy).
    fn decode_record_owned(&self, text: String) -> Option<Record> {
        if self.envelope {
            Record::decode_owned(text, &self.name)
        } else {
            Some(Record::bare(text, self.lifetime.now()))
        }
    }

    /// The response header carrying a client-side record, sealed and rendered (`None` for
    /// server-side sessions), checked against the cookie size limit.
    pub(crate) fn seal_record(&self, record: &Record) -> Result<Option<Bytes>, SessionError> {
        if self.is_server_side() {
            return Ok(None);
        }
        let sealed = self.chain.seal(&self.name, &self.encode_record(record))?;
        Ok(Some(self.render(&sealed)?))
    }

    /// The response header value carrying `sealed` ([`Writer::value`]).
    pub(crate) fn render(&self, sealed: &str) -> Result<Bytes, SessionError> {
        self.writer.value(sealed, || self.lifetime.now())
    }

    /// Turns what the request carried into a session record (not yet deserialized), applying
    /// the timeouts. Of several values sent under the session's name, the first that opens
    /// is the session; the others are ignored.
    pub(crate) async fn load(&self, incoming: &Incoming) -> Result<Loaded, SessionError> {
        let Some(store) = &self.store else {
            return Ok(self.load_client_side(incoming));
        };
        let mut discard = None;
        for (id, stale) in incoming
            .candidates()
            .iter()
            .filter_map(|raw| self.unseal_id(raw))
        {
            match self.load_stored(store.as_ref(), &id).await? {
                Stored::Live(live) => {
                    let Some(mut loaded) = self.rotated(store.as_ref(), live, stale).await? else {
                        continue;
                    };
                    loaded.discard = discard;
                    return Ok(loaded);
                }
                Stored::Ended => discard = discard.or(Some(id)),
                Stored::Missing | Stored::Foreign => {}
            }
        }
        Ok(self.no_session(incoming, discard))
    }

    /// A live session, moved to a new ID first when its ID is due for rotation: what the
    /// request gets, or `None` when it ended meanwhile. An ID that moved (now or by another
    /// request) is resent like one sealed with an old key.
    async fn rotated(
        &self,
        store: &dyn DynSessionStore,
        live: LiveEntry,
        stale: bool,
    ) -> Result<Option<Loaded>, SessionError> {
        let resend = stale || live.moved;
        let due = live
            .stored
            .as_deref()
            .filter(|_| self.rotation_due(&live.record));
        let Some(stored) = due else {
            return Ok(Some(Loaded::live(
                Some(live.id),
                live.record,
                resend,
                live.refresh,
            )));
        };
        Ok(
            match self.rotate(store, &live.id, stored, &live.record).await? {
                Rotated::To(id, at) => Some(Loaded::live(
                    Some(id),
                    live.record.issued_at(at),
                    true,
                    false,
                )),
                Rotated::Kept => Some(Loaded::live(
                    Some(live.id),
                    live.record,
                    resend,
                    live.refresh,
                )),
                Rotated::Ended => None,
            },
        )
    }

    /// The entry stored under an authentic `id` (or the ID it moved to), judged by the
    /// timeouts.
    async fn load_stored(
        &self,
        store: &dyn DynSessionStore,
        id: &SessionId,
    ) -> Result<Stored, SessionError> {
        let Some((id, entry, moved)) = self.load_current(store, id).await? else {
            return Ok(Stored::Missing);
        };
        // Not this session's record: malformed, or another session type's in a shared store
        // (left alone: it is not ours to delete).
        let expires_at = entry.expires_at;
        // The stored text is kept for a rotation's compare-and-swap, else it becomes the record.
        let (record, stored) = match self.rotation {
            Some(_) => (self.decode_record(&entry.text), Some(entry.text)),
            None => (self.decode_record_owned(entry.text), None),
        };
        let Some(record) = record else {
            return Ok(Stored::Foreign);
        };
        let now = self.lifetime.now();
        let expired = expires_at.is_some_and(|at| at <= now);
        match self.lifetime.deadline(record.created_at, now) {
            Some(deadline) if !expired => Ok(Stored::Live(LiveEntry {
                refresh: self.lifetime.refresh_due(expires_at, deadline),
                stored,
                id,
                record,
                moved,
            })),
            _ => Ok(Stored::Ended),
        }
    }

    /// No session for this request ([`Loaded::nothing_opened`]), logged when values were
    /// received but none opened.
    fn no_session(&self, incoming: &Incoming, discard: Option<SessionId>) -> Loaded {
        let loaded = Loaded::nothing_opened(incoming, discard);
        if *incoming != Incoming::Absent {
            tracing::debug!(session = %self.name, "no received session value opened a live session");
        }
        loaded
    }

    /// [`ProviderCore::load`] of a client-side session: no storage, so no waiting.
    pub(crate) fn load_client_side(&self, incoming: &Incoming) -> Loaded {
        let now = self.lifetime.now();
        for (value, stale) in incoming
            .candidates()
            .iter()
            .filter_map(|raw| self.unseal(raw))
        {
            if !self.envelope {
                return Loaded::live(None, Record::bare(value, now), stale, false);
            }
            let live = Record::decode_owned(value, &self.name).and_then(|record| {
                let expires_at = record.expires_at?;
                let deadline = self.lifetime.deadline(record.created_at, now)?;
                (expires_at > now).then_some((record, expires_at, deadline))
            });
            if let Some((record, expires_at, deadline)) = live {
                let refresh = self.lifetime.refresh_due(Some(expires_at), deadline);
                return Loaded::live(None, record, stale, refresh);
            }
        }
        self.no_session(incoming, None)
    }
}

/// A live session of this type in a store.
struct LiveEntry {
    /// The ID it lives under (the one asked for, or the one it moved to).
    id: SessionId,
    record: Record,
    /// Its idle timeout is due for a refresh.
    refresh: bool,
    /// The entry's text, when rotation may need it.
    stored: Option<String>,
    /// The ID asked for moved to `id` (rotation).
    moved: bool,
}

/// What a store held under an authentic ID.
enum Stored {
    /// A live session of this type.
    Live(LiveEntry),
    /// This type's session, past a timeout: to delete.
    Ended,
    /// Nothing (unknown or expired in the store).
    Missing,
    /// Something that is not this type's record.
    Foreign,
}
