//! Applying a request's session changes: storage writes and what the response carries.

use std::time::Duration;

use session_core::{DynSessionStore, Record, SessionId};

use crate::SessionError;
use crate::incoming::Incoming;
use crate::outgoing::Outgoing;
use crate::provider::ProviderCore;
use crate::slot::{Loaded, Settled, Slot, Status};
use crate::transport::Transport;

impl ProviderCore {
    fn send_id(&self, id: &SessionId) -> Result<Outgoing, SessionError> {
        let sealed = self.chain.seal(&self.name, id.as_str())?;
        Ok(Outgoing::Send(self.render(&sealed)?))
    }

    fn cookie_has_max_age(&self) -> bool {
        matches!(&self.transport, Transport::Cookie(cookie) if cookie.has_max_age())
    }

    /// How long a server-side record may live from now, given its start.
    pub(crate) fn server_ttl(&self, record: &Record) -> Duration {
        let now = self.lifetime.now();
        self.lifetime
            .deadline(record.created_at, now)
            .and_then(|deadline| deadline.duration_since(now).ok())
            .unwrap_or(Duration::ZERO)
    }

    /// Whether persisting `slot` needs no storage, so [`ProviderCore::persist_now`] does it:
    /// a client-side session (sealed at `set`), or a server-side one read but not changed,
    /// with no idle refresh due and no dead ID to discard.
    pub(crate) fn persists_now(&self, slot: &Slot) -> bool {
        !self.is_server_side() || slot.persists_without_storage()
    }

    /// [`ProviderCore::persist`] of a slot that [`ProviderCore::persists_now`].
    pub(crate) fn persist_now(&self, slot: Slot) -> Result<Outgoing, SessionError> {
        let settled = slot.settled();
        if !self.is_server_side() {
            return self.persist_client_side(settled);
        }
        let Settled {
            incoming, loaded, ..
        } = settled;
        match &loaded.id {
            Some(id) if loaded.record.is_some() => {
                self.resend_id(id, loaded.stale, incoming.is_from_query())
            }
            _ => Ok(removal_if_unusable(&loaded)),
        }
    }

    /// Applies a request's changes to the storage and says what the response must carry.
    pub(crate) async fn persist(&self, mut slot: Slot) -> Result<Outgoing, SessionError> {
        if self.persists_now(&slot) {
            return self.persist_now(slot);
        }
        if self.is_server_side() && slot.needs_load_to_persist() {
            let loaded = self.load(slot.incoming()).await?;
            slot.keep_loaded(loaded);
        }
        let mut settled = slot.settled();
        let Some(store) = self.store.as_deref() else {
            return self.persist_client_side(settled);
        };
        if let Some(discard) = &settled.loaded.discard {
            store.delete(discard).await?;
        }
        let ending = Ending::of(&settled);
        match std::mem::take(&mut settled.status) {
            Status::Cleared(None) => {
                for id in self.incoming_ids(&settled.incoming) {
                    self.delete_session(store, &id, None).await?;
                }
                Ok(removal_unless_absent(&settled.incoming))
            }
            Status::Unchanged | Status::Renewed(None) if settled.loaded.record.is_none() => {
                Ok(removal_if_unusable(&settled.loaded))
            }
            Status::Unchanged => {
                let from_query = settled.incoming.is_from_query();
                self.keep_alive(store, settled.loaded, from_query).await
            }
            Status::Renewed(None) => {
                // The loaded value moves, with a new start (a renewal whose value write was
                // dropped by a server error).
                let text = settled.loaded.record.as_ref().map(|r| r.text.clone());
                let record = Record::new(text.unwrap_or_default(), self.lifetime.now(), None);
                self.write(store, settled, ending, record).await
            }
            Status::Changed { value, .. }
            | Status::Renewed(Some(value))
            | Status::Cleared(Some(value)) => {
                self.write(store, settled, ending, value.record).await
            }
        }
    }

    /// Writes a server-side record: over the session that goes on (`Ending::None`), or under
    /// a new ID ([`Status::needs_new_id`]), deleting the IDs that ended.
    async fn write(
        &self,
        store: &dyn DynSessionStore,
        settled: Settled,
        ending: Ending,
        record: Record,
    ) -> Result<Outgoing, SessionError> {
        let Settled {
            incoming,
            loaded,
            pending_id,
            ..
        } = settled;
        let text = self.encode_record(&record);
        let ttl = self.server_ttl(&record);
        // A session that goes on or moves must still be alive: written with `replace`, a
        // logout that happened while this request ran stays a logout.
        if let Some(id) = loaded.id.as_ref().filter(|_| ending != Ending::Cleared) {
            if !store.replace(id, &text, ttl).await? {
                tracing::debug!(session = %self.name, "session ended during the request: not written");
                return Ok(Outgoing::Remove);
            }
            if ending == Ending::None {
                // An ID read from the URL is never turned into a cookie by a resend: a link
                // must not plant a session in the browser that follows it.
                let resend = self.cookie_has_max_age() || loaded.stale;
                return if resend && !incoming.is_from_query() {
                    self.send_id(id)
                } else {
                    Ok(Outgoing::Nothing)
                };
            }
        }
        let id = pending_id.unwrap_or_else(SessionId::generate);
        store.save(&id, &text, ttl).await?;
        let ended = match ending {
            Ending::Cleared => self.incoming_ids(&incoming),
            Ending::Moved | Ending::None => loaded.id.into_iter().collect(),
        };
        for old in ended.iter().filter(|old| **old != id) {
            self.delete_session(store, old, None).await?;
        }
        self.send_id(&id)
    }

    /// A server-side session read but not changed: extends its idle timeout when due, and
    /// re-sends an ID sealed with an older key.
    async fn keep_alive(
        &self,
        store: &dyn DynSessionStore,
        loaded: Loaded,
        from_query: bool,
    ) -> Result<Outgoing, SessionError> {
        let (Some(record), Some(id)) = (loaded.record, loaded.id) else {
            return Ok(Outgoing::Nothing);
        };
        let mut resend = loaded.stale;
        if loaded.refresh {
            let extended = store.touch(&id, self.server_ttl(&record)).await?;
            resend |= extended && self.cookie_has_max_age();
        }
        self.resend_id(&id, resend, from_query)
    }

    /// The ID of a session that goes on, re-sent when `resend` (an old key, an extended
    /// cookie `Max-Age`), except to a request that read it from the URL (see `write`).
    fn resend_id(
        &self,
        id: &SessionId,
        resend: bool,
        from_query: bool,
    ) -> Result<Outgoing, SessionError> {
        if resend && !from_query {
            self.send_id(id)
        } else {
            Ok(Outgoing::Nothing)
        }
    }

    /// A client-side session: the value sealed at `set`, a removal, or a value re-sealed to
    /// extend its idle timeout or retire an old key.
    fn persist_client_side(&self, settled: Settled) -> Result<Outgoing, SessionError> {
        let Settled {
            incoming,
            loaded,
            status,
            ..
        } = settled;
        match status {
            // Client-side values are sealed at `set`.
            Status::Changed { value, .. }
            | Status::Renewed(Some(value))
            | Status::Cleared(Some(value)) => {
                return Ok(value.sealed.map_or(Outgoing::Nothing, Outgoing::Send));
            }
            Status::Cleared(None) => return Ok(removal_unless_absent(&incoming)),
            Status::Unchanged | Status::Renewed(None) => {}
        }
        if loaded.unusable {
            return Ok(Outgoing::Remove);
        }
        let Some(record) = loaded.record.filter(|_| loaded.refresh || loaded.stale) else {
            return Ok(Outgoing::Nothing);
        };
        let now = self.lifetime.now();
        let Some(deadline) = self.lifetime.deadline(record.created_at, now) else {
            return Ok(Outgoing::Nothing);
        };
        let text = record.text.clone();
        match self.seal_record(&record.with_text(text, Some(deadline))) {
            Ok(sealed) => Ok(sealed.map_or(Outgoing::Nothing, Outgoing::Send)),
            // The value fitted when it was set; keep the old cookie rather than fail.
            Err(SessionError::CookieTooLarge { .. }) => Ok(Outgoing::Nothing),
            Err(error) => Err(error),
        }
    }
}

/// Which IDs a write ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// None: the session goes on under its ID.
    None,
    /// The loaded session's ID: it moves to a new one (`renew`, or a first value).
    Moved,
    /// Every ID the request carried (`clear`, then a new value).
    Cleared,
}

impl Ending {
    /// What a write of this request's session ends, by [`Status::needs_new_id`].
    fn of(settled: &Settled) -> Self {
        match &settled.status {
            Status::Cleared(_) => Self::Cleared,
            status if status.needs_new_id(settled.loaded.id.is_some()) => Self::Moved,
            _ => Self::None,
        }
    }
}

/// A session that did not open: the client drops its value if it was unusable.
fn removal_if_unusable(loaded: &Loaded) -> Outgoing {
    if loaded.unusable {
        Outgoing::Remove
    } else {
        Outgoing::Nothing
    }
}

/// A cleared session's instruction to the client: drop the value it sent, if it sent one.
fn removal_unless_absent(incoming: &Incoming) -> Outgoing {
    if *incoming == Incoming::Absent {
        Outgoing::Nothing
    } else {
        Outgoing::Remove
    }
}
