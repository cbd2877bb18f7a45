//! [`ProbeStore`]: a memory store that counts its calls and fails on demand.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use session_core::{
    MemoryStore, SessionId, SessionStore, StoreCapabilities, StoreError, StoredEntry,
};

/// A [`MemoryStore`] that counts loads, writes, deletes and touches, and fails every call
/// while [`fail`](Self::fail) is on. Clones share everything.
#[derive(Debug, Clone)]
pub struct ProbeStore {
    /// The store underneath, to inspect entries without counting.
    pub inner: MemoryStore,
    loads: Arc<AtomicUsize>,
    saves: Arc<AtomicUsize>,
    deletes: Arc<AtomicUsize>,
    touches: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
}

impl Default for ProbeStore {
    fn default() -> Self {
        Self::with_store(MemoryStore::new())
    }
}

impl ProbeStore {
    /// Counts the calls to `inner`.
    #[must_use]
    pub fn with_store(inner: MemoryStore) -> Self {
        Self {
            inner,
            loads: Arc::default(),
            saves: Arc::default(),
            deletes: Arc::default(),
            touches: Arc::default(),
            failing: Arc::default(),
        }
    }

    /// Loads so far.
    #[must_use]
    pub fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }

    /// Writes so far: `save`, `replace` and `compare_and_swap`.
    #[must_use]
    pub fn saves(&self) -> usize {
        self.saves.load(Ordering::SeqCst)
    }

    /// Deletes so far.
    #[must_use]
    pub fn deletes(&self) -> usize {
        self.deletes.load(Ordering::SeqCst)
    }

    /// Touches so far.
    #[must_use]
    pub fn touches(&self) -> usize {
        self.touches.load(Ordering::SeqCst)
    }

    /// Makes every later call fail (or succeed again).
    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    fn count(&self, counter: &AtomicUsize) -> Result<(), StoreError> {
        counter.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            Err(StoreError::backend(std::io::Error::other(
                "secret internal detail: db at 10.0.0.7",
            )))
        } else {
            Ok(())
        }
    }

    /// The session value stored under `id`, without its record header.
    ///
    /// # Panics
    ///
    /// When the store fails or the entry is not a session record.
    pub async fn stored_value(&self, id: &SessionId) -> Option<String> {
        let text = self.inner.load(id).await.expect("memory store")?;
        let (header, value) = text.split_once('\n').expect("a session record");
        assert!(header.starts_with("s2 "), "a session record: {header}");
        Some(value.to_owned())
    }

    /// Whether an entry is stored under `id`.
    ///
    /// # Panics
    ///
    /// When the store fails.
    pub async fn holds(&self, id: &SessionId) -> bool {
        self.inner.load(id).await.expect("memory store").is_some()
    }
}

impl SessionStore for ProbeStore {
    async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        Ok(self.load_entry(id).await?.map(|entry| entry.text))
    }
    async fn load_entry(&self, id: &SessionId) -> Result<Option<StoredEntry>, StoreError> {
        self.count(&self.loads)?;
        self.inner.load_entry(id).await
    }
    async fn touch(&self, id: &SessionId, ttl: Duration) -> Result<bool, StoreError> {
        self.count(&self.touches)?;
        self.inner.touch(id, ttl).await
    }
    async fn save(&self, id: &SessionId, text: &str, ttl: Duration) -> Result<(), StoreError> {
        self.count(&self.saves)?;
        self.inner.save(id, text, ttl).await
    }
    async fn replace(&self, id: &SessionId, text: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.count(&self.saves)?;
        self.inner.replace(id, text, ttl).await
    }
    async fn compare_and_swap(
        &self,
        id: &SessionId,
        expected: &str,
        new: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.count(&self.saves)?;
        self.inner.compare_and_swap(id, expected, new, ttl).await
    }
    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        self.count(&self.deletes)?;
        self.inner.delete(id).await
    }
    fn capabilities(&self) -> StoreCapabilities {
        self.inner.capabilities()
    }
}
