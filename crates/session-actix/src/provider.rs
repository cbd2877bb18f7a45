//! One registered session type at run time: loading a received value and persisting changes.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use session_core::{DynSessionStore, Serializer, SessionId, TransformerChain};

use crate::SessionError;
use crate::slot::{Change, Loaded, Slot};
use crate::transport::{Incoming, Transport};

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
    pub(crate) store: Option<Arc<dyn DynSessionStore>>,
    pub(crate) chain: TransformerChain,
    pub(crate) ttl: Duration,
}

/// What the response must carry for one session.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outgoing {
    Nothing,
    Send(String),
    Remove,
}

impl ProviderCore {
    pub(crate) fn is_server_side(&self) -> bool {
        self.store.is_some()
    }

    /// Unseals a received value; for server-side sessions, validates the ID too (no storage
    /// access). `None` when the value is not authentic or not well-formed.
    fn unseal(&self, incoming: &Incoming) -> Option<(String, bool)> {
        let Incoming::Present(raw) = incoming else {
            return None;
        };
        let unsealed = self.chain.unseal(&self.name, raw)?;
        if self.is_server_side() && SessionId::parse(&unsealed.value).is_err() {
            return None;
        }
        Some((unsealed.value, unsealed.stale))
    }

    /// Turns what the request carried into session text (not yet deserialized).
    pub(crate) async fn load(&self, incoming: &Incoming) -> Result<Loaded, SessionError> {
        if *incoming == Incoming::Absent {
            return Ok(Loaded::default());
        }
        let Some((value, stale)) = self.unseal(incoming) else {
            tracing::debug!(session = %self.name, "received session value rejected");
            return Ok(Loaded::unusable());
        };
        let Some(store) = &self.store else {
            return Ok(Loaded::client(value, stale));
        };
        let id = SessionId::parse(&value).expect("validated by unseal");
        match store.load(&id).await? {
            Some(text) => Ok(Loaded::server(id, text, stale)),
            None => {
                tracing::debug!(session = %self.name, "unknown or expired session ID");
                Ok(Loaded::unusable())
            }
        }
    }

    fn seal(&self, value: &str) -> Result<Outgoing, SessionError> {
        Ok(Outgoing::Send(self.chain.seal(&self.name, value)?))
    }

    /// Applies a request's changes to the storage and says what the response must carry.
    pub(crate) async fn persist(&self, mut slot: Slot) -> Result<Outgoing, SessionError> {
        let needs_load = matches!(slot.change, Change::Set { .. }) || slot.renew;
        if slot.loaded.is_none() && needs_load && self.is_server_side() {
            slot.loaded = Some(self.load(&slot.incoming).await?);
        }
        let store = self.store.as_deref();
        let loaded = slot.loaded.take().unwrap_or_default();
        if let (Some(store), Some(discard)) = (store, &loaded.discard) {
            store.delete(discard).await?;
        }
        match slot.change {
            Change::Set { text, sealed, .. } => match store {
                None => Ok(Outgoing::Send(sealed.unwrap_or_default())),
                Some(store) => {
                    let existing = loaded.id;
                    let id = match (&existing, slot.renew) {
                        (Some(id), false) => id.clone(),
                        _ => slot.pending_id.take().unwrap_or_else(SessionId::generate),
                    };
                    store.save(&id, &text, self.ttl).await?;
                    let moved = existing.as_ref() != Some(&id);
                    if let Some(old) = existing.filter(|_| moved) {
                        store.delete(&old).await?;
                    }
                    let refresh =
                        matches!(&self.transport, Transport::Cookie(c) if c.has_max_age());
                    if moved || refresh || loaded.stale {
                        self.seal(id.as_str())
                    } else {
                        Ok(Outgoing::Nothing)
                    }
                }
            },
            Change::Clear => {
                if let Some(store) = store {
                    let id = loaded.id.or_else(|| {
                        self.unseal(&slot.incoming)
                            .and_then(|(value, _)| SessionId::parse(&value).ok())
                    });
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
            Change::None => match (store, loaded.id, loaded.text) {
                (Some(store), Some(old), Some(text)) if slot.renew => {
                    let id = slot.pending_id.take().unwrap_or_else(SessionId::generate);
                    store.save(&id, &text, self.ttl).await?;
                    store.delete(&old).await?;
                    self.seal(id.as_str())
                }
                (Some(_), Some(id), Some(_)) if loaded.stale => self.seal(id.as_str()),
                (None, _, Some(text)) if slot.renew || loaded.stale => self.seal(&text),
                _ => Ok(Outgoing::Nothing),
            },
        }
    }
}
