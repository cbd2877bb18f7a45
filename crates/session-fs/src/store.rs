//! [`FsSessionStore`]: the `SessionStore` implementation over a directory.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use session_core::{SessionId, SessionStore, StoreError, StoredEntry};

use crate::sweep::{SweepReport, sweep};
use crate::{FsStoreError, layout, secure};

/// Sessions as files in a directory: one file per session, written atomically, expiring by
/// themselves, safe to share between processes on one host.
///
/// - **Layout**: `<root>/<two-character shard>/<session ID>`; IDs are validated by
///   [`SessionId`] before any path is built, so no client input can name a path.
/// - **Atomic, durable writes**: a temporary file in the same directory, flushed, then renamed
///   over the old one; a crash leaves the old or the new session, never a torn file. With
///   [`Durability::Fsync`] (the default) file and directory are fsynced before a write returns.
/// - **Expiry**: a file's modification time is its expiry; reading an expired session removes
///   it, [`FsSessionStore::sweep_expired`] removes all expired files and empty shards, and
///   [`FsSessionStore::spawn_sweeper`] does that periodically.
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
/// use session_fs::FsSessionStore;
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
    /// use session_fs::{DirectoryProblem, FsSessionStore, FsStoreError};
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
            }),
        }
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
        sweep(&self.inner.root, SystemTime::now())
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
        operation: impl FnOnce(&Path, Durability) -> Result<T, FsStoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || operation(&inner.root, inner.durability))
            .await
            .map_err(|_| FsStoreError::Cancelled)?
            .map_err(StoreError::from)
    }
}

impl SessionStore for FsSessionStore {
    async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        Ok(self.load_entry(id).await?.map(|entry| entry.text))
    }

    async fn load_entry(&self, id: &SessionId) -> Result<Option<StoredEntry>, StoreError> {
        let id = id.clone();
        let found = self
            .blocking(move |root, _| layout::read(root, &id))
            .await?;
        Ok(found.map(|(text, expires_at)| StoredEntry::new(text, Some(expires_at))))
    }

    async fn save(&self, id: &SessionId, text: &str, ttl: Duration) -> Result<(), StoreError> {
        let (id, text) = (id.clone(), text.to_owned());
        let expires_at = layout::expiry_after(ttl);
        self.blocking(move |root, durability| {
            layout::save(
                root,
                &id,
                &text,
                expires_at,
                durability == Durability::Fsync,
            )
        })
        .await
    }

    async fn replace(&self, id: &SessionId, text: &str, ttl: Duration) -> Result<bool, StoreError> {
        let (id, text) = (id.clone(), text.to_owned());
        let expires_at = layout::expiry_after(ttl);
        self.blocking(move |root, durability| {
            layout::replace(
                root,
                &id,
                &text,
                expires_at,
                durability == Durability::Fsync,
            )
        })
        .await
    }

    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        let id = id.clone();
        self.blocking(move |root, _| layout::delete(root, &id))
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
        self.blocking(move |root, durability| {
            let durable = durability == Durability::Fsync;
            layout::compare_and_swap(root, &id, &expected, &new, expires_at, durable)
        })
        .await
    }

    async fn touch(&self, id: &SessionId, ttl: Duration) -> Result<bool, StoreError> {
        let id = id.clone();
        let expires_at = layout::expiry_after(ttl);
        self.blocking(move |root, _| layout::touch(root, &id, expires_at))
            .await
    }
}
