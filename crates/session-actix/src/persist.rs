//! Applying a request's session changes: storage writes and what the response carries.

use std::time::Duration;

use session_core::{Record, SessionId};

use crate::SessionError;
use crate::outgoing::Outgoing;
use crate::provider::ProviderCore;
use crate::slot::{Change, Slot};
use crate::transport::{Incoming, Transport};

impl ProviderCore {
    fn send_id(&self, id: &SessionId) -> Result<Outgoing, SessionError> {
        let sealed = self.chain.seal(&self.name, id.as_str())?;
        Ok(Outgoing::Send(self.writer.value(&sealed)?))
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
    pub(crate) async fn persist(&self, mut slot: Slot) -> Result<Outgoing, SessionError> {
        let is_set = matches!(slot.change, Change::Set { .. });
        if slot.loaded.is_none() && is_set && self.is_server_side() {
            slot.loaded = Some(self.load(&slot.incoming).await?);
        }
        let loaded = slot.loaded.take().unwrap_or_default();
        let store = self.store.as_deref();
        if let (Some(store), Some(discard)) = (store, &loaded.discard) {
            store.delete(discard).await?;
        }
        match slot.change {
            Change::Set {
                sealed: Some(sealed),
                ..
            } => Ok(Outgoing::Send(sealed)),
            Change::Set { record, .. } => {
                let store = store.expect("only client-side values are sealed at set");
                let existing = loaded.id;
                let id = match (&existing, slot.renew) {
                    (Some(id), false) => id.clone(),
                    _ => slot.pending_id.take().unwrap_or_else(SessionId::generate),
                };
                store
                    .save(&id, &self.encode_record(&record), self.server_ttl(&record))
                    .await?;
                let moved = existing.as_ref() != Some(&id);
                if let Some(old) = existing.filter(|_| moved) {
                    store.delete(&old).await?;
                }
                if moved || self.cookie_has_max_age() || loaded.stale {
                    self.send_id(&id)
                } else {
                    Ok(Outgoing::Nothing)
                }
            }
            Change::Clear => {
                if let Some(store) = store {
                    let id = loaded
                        .id
                        .or_else(|| self.unseal_id(&slot.incoming).map(|(id, _)| id));
                    if let Some(id) = id {
                        store.delete(&id).await?;
                    }
                }
                Ok(if slot.incoming == Incoming::Absent {
                    Outgoing::Nothing
                } else {
                    Outgoing::Remove
                })
            }
            Change::None if loaded.unusable => Ok(Outgoing::Remove),
            Change::None => {
                let Some(record) = loaded.record else {
                    return Ok(Outgoing::Nothing);
                };
                match (store, loaded.id) {
                    (Some(store), Some(id)) => {
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
                    (None, _) if loaded.refresh || loaded.stale => {
                        let now = self.lifetime.now();
                        let Some(deadline) = self.lifetime.deadline(record.created_at, now) else {
                            return Ok(Outgoing::Nothing);
                        };
                        let text = record.text.clone();
                        let resealed = self.seal_record(&record.with_text(text, Some(deadline)));
                        match resealed {
                            Ok(sealed) => Ok(sealed.map_or(Outgoing::Nothing, Outgoing::Send)),
                            // The value fitted when it was set; keep the old cookie rather than fail.
                            Err(SessionError::CookieTooLarge { .. }) => Ok(Outgoing::Nothing),
                            Err(error) => Err(error),
                        }
                    }
                    _ => Ok(Outgoing::Nothing),
                }
            }
        }
    }
}
