//! One registered session type at run time: reading what a request carried.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;

use actix_web::http::header::HeaderValue;
use session_core::{DynSessionStore, Record, Serializer, SessionId, TransformerChain};

use crate::SessionError;
use crate::lifetime::Lifetime;
use crate::outgoing::Writer;
use crate::slot::Loaded;
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
    /// The response side of `transport`.
    pub(crate) writer: Writer,
    pub(crate) store: Option<Arc<dyn DynSessionStore>>,
    pub(crate) chain: TransformerChain,
    pub(crate) lifetime: Lifetime,
    /// Whether values carry the [`Record`] header (start, expiry, CSRF token).
    pub(crate) envelope: bool,
}

impl Provider {
    /// Deletes the stored session `id`, wherever its client is.
    pub(crate) async fn invalidate(&self, id: &SessionId) -> Result<(), SessionError> {
        let store = self
            .core
            .store
            .as_ref()
            .ok_or(SessionError::NotServerSide {
                type_name: self.type_name,
            })?;
        store.delete(id).await?;
        Ok(())
    }
}

impl ProviderCore {
    pub(crate) fn is_server_side(&self) -> bool {
        self.store.is_some()
    }

    /// Unseals a received value: the value, and whether an older key sealed it. `None` when
    /// it is not authentic.
    fn unseal(&self, incoming: &Incoming) -> Option<(String, bool)> {
        let Incoming::Present(raw) = incoming else {
            return None;
        };
        let unsealed = self.chain.unseal(&self.name, raw)?;
        Some((unsealed.value, unsealed.stale))
    }

    /// Unseals a received session ID (server-side sessions) and validates it, without any
    /// storage access. `None` when it is not authentic or not a well-formed ID.
    pub(crate) fn unseal_id(&self, incoming: &Incoming) -> Option<(SessionId, bool)> {
        let (value, stale) = self.unseal(incoming)?;
        Some((SessionId::parse(&value).ok()?, stale))
    }

    /// The text form of a record: with its header, or the bare value.
    pub(crate) fn encode_record(&self, record: &Record) -> String {
        if self.envelope {
            record.encode()
        } else {
            record.text.clone()
        }
    }

    /// Parses what [`ProviderCore::encode_record`] wrote.
    pub(crate) fn decode_record(&self, text: &str) -> Option<Record> {
        if self.envelope {
            Record::decode(text)
        } else {
            Some(Record::bare(text.to_owned(), self.lifetime.now()))
        }
    }

    /// The response header carrying a client-side record, sealed and rendered (`None` for
    /// server-side sessions), checked against the cookie size limit.
    pub(crate) fn seal_record(&self, record: &Record) -> Result<Option<HeaderValue>, SessionError> {
        if self.is_server_side() {
            return Ok(None);
        }
        let sealed = self.chain.seal(&self.name, &self.encode_record(record))?;
        Ok(Some(self.writer.value(&sealed)?))
    }

    /// Turns what the request carried into a session record (not yet deserialized), applying
    /// the timeouts.
    pub(crate) async fn load(&self, incoming: &Incoming) -> Result<Loaded, SessionError> {
        if *incoming == Incoming::Absent {
            return Ok(Loaded::default());
        }
        let now = self.lifetime.now();
        let Some(store) = &self.store else {
            let Some((value, stale)) = self.unseal(incoming) else {
                tracing::debug!(session = %self.name, "received session value rejected");
                return Ok(Loaded::unusable(None));
            };
            if !self.envelope {
                let record = Record::bare(value, now);
                return Ok(Loaded::live(None, record, stale, false));
            }
            let live = Record::decode(&value).and_then(|record| {
                let expires_at = record.expires_at?;
                let deadline = self.lifetime.deadline(record.created_at, now)?;
                (expires_at > now).then_some((record, expires_at, deadline))
            });
            let Some((record, expires_at, deadline)) = live else {
                tracing::debug!(session = %self.name, "client-side session expired or malformed");
                return Ok(Loaded::unusable(None));
            };
            let refresh = self.lifetime.refresh_due(Some(expires_at), deadline);
            return Ok(Loaded::live(None, record, stale, refresh));
        };
        let Some((id, stale)) = self.unseal_id(incoming) else {
            tracing::debug!(session = %self.name, "received session ID rejected");
            return Ok(Loaded::unusable(None));
        };
        let Some(entry) = store.load_entry(&id).await? else {
            tracing::debug!(session = %self.name, "unknown or expired session ID");
            return Ok(Loaded::unusable(None));
        };
        let live = self.decode_record(&entry.text).and_then(|record| {
            let deadline = self.lifetime.deadline(record.created_at, now)?;
            let expired = entry.expires_at.is_some_and(|at| at <= now);
            (!expired).then_some((record, deadline))
        });
        let Some((record, deadline)) = live else {
            tracing::debug!(session = %self.name, "stored session expired or malformed");
            return Ok(Loaded::unusable(Some(id)));
        };
        let refresh = self.lifetime.refresh_due(entry.expires_at, deadline);
        Ok(Loaded::live(Some(id), record, stale, refresh))
    }
}
