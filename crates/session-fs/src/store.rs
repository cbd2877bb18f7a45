//! [`FsSessionStore`]: the `SessionStore` implementation over a directory.

use std::fmt;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use session_core::{SessionId, SessionStore, StoreCapabilities, StoreError, StoredEntry};

use crate::sweep::{SweepReport, sweep};
use crate::upkeep::{SWEEP_EVERY, Tally, Upkeep, count_sessions};
use crate::{FsStoreError, layout, secure};

/// Sessions as files in a directory: one file per session, written atomically, expiring by
/// themselves, safe to share between processes on one host.
///
/// - **Layout**: `<root>/<two-character shard>/<session ID>`; IDs are validated by
///   [`SessionId`] before any path is built, so no client input can name a path.
/// - **Atomic, durable writes**: a temporary file in the same directory, flushed, then renamed
///   over the old one; a crash leaves the old or the new session, never a torn file. With
///   [`Durability::Fsync`] (the default) file and directory are fsynced before a write returns.
/// - **Expiry, cleaned up by itself**: a file's modification time is its expiry; reading an
///   expired session removes it, and **writes sweep in passing**: every fourth save sweeps
///   one shard directory of a turn over all of them, so expired files go away without a
///   sweeper, while no request pays for more than one shard (a few dozen files at 100,000
///   sessions) plus, once per turn, a listing of the root. A turn takes four saves per shard
///   directory (at most 4096, so at most 16,384 saves). [`FsSessionStore::sweep_expired`]
///   removes all expired files and empty shards at once, and [`FsSessionStore::spawn_sweeper`]
///   does that periodically, for a store that is read far more than written.
/// - **Optional cap** ([`FsSessionStore::max_sessions`]): past it, new sessions are refused
///   with [`FsStoreError::Full`] ([`StoreError::Full`] through the trait, an empty 503 from
///   the adapters) while existing ones are still written, touched and deleted.
/// - **Disk per session**: one file of the format line (13 bytes) and the text, so a 100-byte
///   value (168 bytes stored with the middleware's record header) takes one file system
///   block: measured with `cargo run --release -p session-fs --example disk_footprint`
///   (100,000 sessions on ext4 with 4 KiB blocks), **4,264 bytes allocated per session**
///   (its 4 KiB block, plus its share of the shard directories and their lock files), and
///   one inode each. An unbounded directory grows by that for every session until it expires,
///   including every anonymous visitor's: cap it where clients you do not control can create
///   sessions.
/// - **Permissions** (Unix): files `0600`, directories `0700`. The root must be a real
///   directory (not a symbolic link) of the process's effective user that group and others
///   cannot write into, shard directories likewise and `0700`, and files are opened without
///   following symbolic links: see [`FsSessionStore::new`] for what is refused and what is
///   fixed.
/// - **Several processes** may share a root: there is no cache, every read sees the latest
///   completed write, and writes to a shard are serialized by a lock file (`flock`), so
///   [`compare_and_swap`](SessionStore::compare_and_swap) and
///   [`replace`](SessionStore::replace) (which never brings back a session another process
///   deleted) are atomic across processes too.
///
/// File operations run on the Tokio blocking pool (the runtime under actix-web).
///
/// # Examples
///
/// ```no_run
/// // From your adapter: `session_actix::` or `session_axum::` (feature `fs`).
/// # use session_fs::FsSessionStore;
///
/// let store = FsSessionStore::new("build/.sessions")?;
/// # Ok::<(), session_fs::FsStoreError>(())
/// ```
#[derive(Clone)]
pub struct FsSessionStore {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    durability: Durability,
    tally: Arc<Tally>,
    upkeep: Arc<Upkeep>,
}

/// Whether writes are fsynced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// Fsync the file and its directory before a write returns: a session that was written
    /// survives a power loss.
    #[default]
    Fsync,
    /// Leave flushing to the operating system: still atomic (old or new content after a
    /// crash), much faster, but the last writes may be lost on power loss.
    NoFsync,
}

impl fmt::Debug for FsSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FsSessionStore")
            .field("root", &self.inner.root)
            .field("durability", &self.inner.durability)
            .field("max_sessions", &self.inner.tally.capacity())
            .finish()
    }
}

impl FsSessionStore {
    /// A store in `root`, which is created (mode `0700`) if missing. Nothing else is ever
    /// created until a session is written.
    ///
    /// # What is checked (Unix)
    ///
    /// Whoever can write into the root can plant, swap or link session files, so an existing
    /// root is checked through an open handle (what is checked is what is used):
    ///
    /// - a **symbolic link** is refused (a trailing `/` does not get one past): give the real
    ///   directory's path;
    /// - a directory **owned by another user** than the process's effective user is refused:
    ///   this store cannot know who else reads or changes it;
    /// - a directory **writable by group or others** is refused, though we own it and could
    ///   `chmod` it: files may already have been planted there, and chmod would make them
    ///   look trusted. The error names the `chmod 700` to run once its content is checked;
    /// - **read or search bits for group or others** on our own directory are removed (mode
    ///   `0700`, with a warning in the log): they never let anyone write, so nothing in it can
    ///   be planted, and refusing would break the common `mkdir` with a `022` umask.
    ///
    /// Shard directories are checked before every use, and refused when they are not
    /// `0700`-or-stricter directories of ours (this crate creates them so): the request gets a
    /// [`StoreError`] and nothing is read from or written into them. Session files and lock
    /// files are opened with `O_NOFOLLOW`: a symbolic link is never followed, and anything but
    /// a regular file is refused ([`FsStoreError::UnsafeFile`]).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // From your adapter: `session_actix::` or `session_axum::` (feature `fs`).
    /// # use session_fs::{DirectoryProblem, FsSessionStore, FsStoreError};
    ///
    /// match FsSessionStore::new("/srv/app/sessions") {
    ///     Ok(store) => println!("sessions in {}", store.root().display()),
    ///     Err(FsStoreError::UnsafeDirectory { problem: DirectoryProblem::WritableByOthers { .. }, .. }) => {
    ///         eprintln!("someone else may have written into the session directory");
    ///     }
    ///     Err(error) => eprintln!("{error}"),
    /// }
    /// ```
    ///
    /// # Errors
    ///
    /// [`FsStoreError::CreateRoot`] when the directory cannot be created,
    /// [`FsStoreError::NotADirectory`] when `root` is something else,
    /// [`FsStoreError::UnsafeDirectory`] when it is refused as above, and
    /// [`FsStoreError::InspectRoot`] when it cannot be opened, checked or tightened.
    pub fn new(root: impl AsRef<Path>) -> Result<Self, FsStoreError> {
        // Without a trailing `/`, which would make the kernel follow a symbolic link.
        let root: PathBuf = root.as_ref().components().collect();
        secure::prepare_root(&root)?;
        Ok(Self {
            inner: Arc::new(Inner {
                root,
                durability: Durability::default(),
                tally: Arc::default(),
                upkeep: Arc::default(),
            }),
        })
    }

    /// The same store with another durability setting.
    #[must_use]
    pub fn with_durability(self, durability: Durability) -> Self {
        Self {
            inner: Arc::new(Inner {
                root: self.inner.root.clone(),
                durability,
                tally: Arc::clone(&self.inner.tally),
                upkeep: Arc::clone(&self.inner.upkeep),
            }),
        }
    }

    /// The same store, refusing new sessions once it holds `max` session files: a `save`
    /// under a new ID then fails with [`FsStoreError::Full`] (through the trait,
    /// [`StoreError::Full`], which session-actix and session-axum answer with an empty 503
    /// and no cookie). Sessions already there can still be replaced, touched and deleted,
    /// and every removal (logout, expiry found on read, sweep) makes room again. Expired files
    /// count until they are removed; writes sweep them in passing (see the type's docs), and
    /// refused saves do too, so a store full of expired sessions frees itself.
    ///
    /// The count starts from one pass over the directory, here, and then follows this
    /// store's own writes and removals (clones share it). Processes sharing a directory each
    /// keep their own count: give each its share of the cap.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::num::NonZeroUsize;
    /// // From your adapter: `session_actix::` or `session_axum::` (feature `fs`).
    /// # use session_fs::FsSessionStore;
    ///
    /// let store = FsSessionStore::new("build/.sessions")?
    ///     .max_sessions(NonZeroUsize::new(100_000).unwrap())?;
    /// assert_eq!(store.session_cap(), NonZeroUsize::new(100_000));
    /// # Ok::<(), session_fs::FsStoreError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`FsStoreError::Io`] when the root cannot be listed to count its sessions.
    pub fn max_sessions(self, max: NonZeroUsize) -> Result<Self, FsStoreError> {
        let existing = count_sessions(&self.inner.root)?;
        Ok(Self {
            inner: Arc::new(Inner {
                root: self.inner.root.clone(),
                durability: self.inner.durability,
                tally: Arc::new(Tally::capped(max.get(), existing)),
                upkeep: Arc::clone(&self.inner.upkeep),
            }),
        })
    }

    /// The cap set by [`FsSessionStore::max_sessions`], if any.
    pub fn session_cap(&self) -> Option<NonZeroUsize> {
        self.inner.tally.capacity().and_then(NonZeroUsize::new)
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Removes expired session files, abandoned temporary files and empty shard directories.
    /// Blocking: call it from a blocking context or use [`FsSessionStore::spawn_sweeper`].
    ///
    /// # Errors
    ///
    /// [`FsStoreError::Io`] when the root cannot be listed; problems with single files are
    /// logged and skipped.
    pub fn sweep_expired(&self) -> Result<SweepReport, FsStoreError> {
        let report = sweep(&self.inner.root, SystemTime::now())?;
        self.inner.tally.removed(report.expired);
        Ok(report)
    }

    /// Runs [`FsSessionStore::sweep_expired`] every `period` on the Tokio runtime this is
    /// called from, until the returned handle is aborted.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime (such as actix-web's).
    pub fn spawn_sweeper(&self, period: Duration) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let store = store.clone();
                match tokio::task::spawn_blocking(move || store.sweep_expired()).await {
                    Ok(Ok(report)) => tracing::debug!(?report, "session directory swept"),
                    Ok(Err(error)) => tracing::warn!(%error, "session directory sweep failed"),
                    Err(_) => return,
                }
            }
        })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        operation: impl FnOnce(&Inner) -> Result<T, FsStoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || operation(&inner))
            .await
            .map_err(|_| FsStoreError::Cancelled)?
            .map_err(StoreError::from)
    }
}

impl SessionStore for FsSessionStore {
    /// Every ability: compare-and-swap under the shard's lock file, touch and expiry by the
    /// file's modification time.
    fn capabilities(&self) -> StoreCapabilities {
        StoreCapabilities::ALL
    }

    async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        Ok(self.load_entry(id).await?.map(|entry| entry.text))
    }

    async fn load_entry(&self, id: &SessionId) -> Result<Option<StoredEntry>, StoreError> {
        let id = id.clone();
        let found = self
            .blocking(move |inner| layout::read(&inner.root, &id, &inner.tally))
            .await?;
        Ok(found.map(|(text, expires_at)| StoredEntry::new(text, Some(expires_at))))
    }

    /// Every fourth save first sweeps one shard directory of expired files; a new ID past
    /// [`FsSessionStore::max_sessions`] is refused with [`StoreError::Full`].
    async fn save(&self, id: &SessionId, text: &str, ttl: Duration) -> Result<(), StoreError> {
        let (id, text) = (id.clone(), text.to_owned());
        let expires_at = layout::expiry_after(ttl);
        self.blocking(move |inner| {
            inner.upkeep.on_save(&inner.root, &inner.tally);
            let durable = inner.durability == Durability::Fsync;
            layout::save(&inner.root, &id, &text, expires_at, durable, &inner.tally)
        })
        .await
    }

    async fn replace(&self, id: &SessionId, text: &str, ttl: Duration) -> Result<bool, StoreError> {
        let (id, text) = (id.clone(), text.to_owned());
        let expires_at = layout::expiry_after(ttl);
        self.blocking(move |inner| {
            let durable = inner.durability == Durability::Fsync;
            layout::replace(&inner.root, &id, &text, expires_at, durable, &inner.tally)
        })
        .await
    }

    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        let id = id.clone();
        self.blocking(move |inner| layout::delete(&inner.root, &id, &inner.tally))
            .await
    }

    async fn compare_and_swap(
        &self,
        id: &SessionId,
        expected: &str,
        new: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let (id, expected, new) = (id.clone(), expected.to_owned(), new.to_owned());
        let expires_at = layout::expiry_after(ttl);
        self.blocking(move |inner| {
            let durable = inner.durability == Durability::Fsync;
            let (root, tally) = (&inner.root, &inner.tally);
            layout::compare_and_swap(root, &id, &expected, &new, expires_at, durable, tally)
        })
        .await
    }

    async fn touch(&self, id: &SessionId, ttl: Duration) -> Result<bool, StoreError> {
        let id = id.clone();
        let expires_at = layout::expiry_after(ttl);
        self.blocking(move |inner| layout::touch(&inner.root, &id, expires_at, &inner.tally))
            .await
    }
}

const _: () = assert!(SWEEP_EVERY == 4, "the docs say every fourth save");
