//! Applying a request's session changes: storage writes and what the response carries.

use std::time::Duration;

use session_core::{DynSessionStore, Record, SessionId};

use crate::SessionError;
use crate::incoming::Incoming;
use crate::outgoing::Outgoing;
use crate::provider::ProviderCore;
use crate::slot::{Change, Loaded, Slot};
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

    /// Applies a request's changes to the storage and says what the response must carry.
    /// After a server error response (`failed`) only the end of a session and its move to a
    /// new ID are applied ([`Slot::keep_only_session_ends`]).
    pub(crate) async fn persist(
        &self,
        mut slot: Slot,
        failed: bool,
    ) -> Result<Outgoing, SessionError> {
        if failed {
            slot.keep_only_session_ends();
        }
        let writes = matches!(slot.change, Change::Set { .. }) || slot.renew;
        if slot.loaded.is_none() && writes && self.is_server_side() {
            slot.loaded = Some(self.load(&slot.incoming).await?);
            slot.settle();
        }
        let loaded = slot.loaded.take().unwrap_or_default();
        let Some(store) = self.store.as_deref() else {
            return self.persist_client_side(slot, loaded);
        };
        if let Some(discard) = &loaded.discard {
            store.delete(discard).await?;
        }
        match std::mem::take(&mut slot.change) {
            Change::Set { record, .. } => self.write(store, &mut slot, loaded, record).await,
            Change::Clear => {
                for id in self.incoming_ids(&slot.incoming) {
                    store.delete(&id).await?;
                }
                Ok(removal_unless_absent(&slot.incoming))
            }
            // A renewal whose value write was dropped (server error): the session still moves.
            Change::None if slot.renew && loaded.record.is_some() => {
                let text = loaded
                    .record
                    .as_ref()
                    .map_or_else(String::new, |r| r.text.clone());
                let record = Record::new(text, self.lifetime.now(), None);
                self.write(store, &mut slot, loaded, record).await
            }
            Change::None if loaded.unusable => Ok(Outgoing::Remove),
            Change::None => self.keep_alive(store, loaded).await,
        }
    }

    /// Writes a server-side record: over the session that goes on, or under a new ID when
    /// there is none, or after `renew` or `clear` (then the old ID is deleted).
    async fn write(
        &self,
        store: &dyn DynSessionStore,
        slot: &mut Slot,
        loaded: Loaded,
        record: Record,
    ) -> Result<Outgoing, SessionError> {
        let text = self.encode_record(&record);
        let ttl = self.server_ttl(&record);
        // A session that goes on or moves (`renew`) must still be alive: written with
        // `replace`, a logout that happened while this request ran stays a logout.
        if let Some(id) = loaded.id.as_ref().filter(|_| !slot.cleared) {
            if !store.replace(id, &text, ttl).await? {
                tracing::debug!(session = %self.name, "session ended during the request: not written");
                return Ok(Outgoing::Remove);
            }
            if !slot.renew {
                return if self.cookie_has_max_age() || loaded.stale {
                    self.send_id(id)
                } else {
                    Ok(Outgoing::Nothing)
                };
            }
        }
        let id = slot.pending_id.take().unwrap_or_else(SessionId::generate);
        store.save(&id, &text, ttl).await?;
        // After `clear`, every session the request carried has ended; after `renew`, the one
        // that moved.
        let ended = if slot.cleared {
            self.incoming_ids(&slot.incoming)
        } else {
            loaded.id.into_iter().collect()
        };
        for old in ended.iter().filter(|old| **old != id) {
            store.delete(old).await?;
        }
        self.send_id(&id)
    }

    /// A server-side session read but not changed: extends its idle timeout when due, and
    /// re-sends an ID sealed with an older key.
    async fn keep_alive(
        &self,
        store: &dyn DynSessionStore,
        loaded: Loaded,
    ) -> Result<Outgoing, SessionError> {
        let (Some(record), Some(id)) = (loaded.record, loaded.id) else {
            return Ok(Outgoing::Nothing);
        };
        let mut resend = loaded.stale;
        if loaded.refresh {
            let extended = store.touch(&id, self.server_ttl(&record)).await?;
            resend |= extended && self.cookie_has_max_age();
        }
        if resend {
            self.send_id(&id)
        } else {
            Ok(Outgoing::Nothing)
        }
    }

    /// A client-side session: the value sealed at `set`, a removal, or a value re-sealed to
    /// extend its idle timeout or retire an old key.
    fn persist_client_side(&self, slot: Slot, loaded: Loaded) -> Result<Outgoing, SessionError> {
        match slot.change {
            // Client-side values are sealed at `set`.
            Change::Set { sealed, .. } => Ok(sealed.map_or(Outgoing::Nothing, Outgoing::Send)),
            Change::Clear => Ok(removal_unless_absent(&slot.incoming)),
            Change::None if loaded.unusable => Ok(Outgoing::Remove),
            Change::None => {
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
