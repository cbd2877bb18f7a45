//! One connection per thread and Tokio runtime, opened on first use.
//!
//! The redis crate runs a connection's I/O as a task on the runtime that opened it. actix-web
//! builds the store in `main` and calls it from worker threads, each with a current-thread
//! runtime of its own: with one shared connection, every command would go to the main thread
//! and its reply come back, two cross-thread wake-ups per command. Instead each thread keeps,
//! per store and runtime, a connection whose task runs on that same runtime, so a worker's
//! commands never leave its thread.
//!
//! The cache is a small list in a thread-local, keyed by the store's identity and the
//! runtime's [`Id`](tokio::runtime::Id). An entry is dead, and removed at the thread's next
//! lookup, when:
//!
//! - its store is gone (the entry holds the store's shared state weakly): the connection
//!   closes then, not when the thread ends;
//! - its runtime ended (found by a watch task on that runtime, cancelled with it): the
//!   connection's task died with the runtime, and a later runtime may even reuse the ID, so
//!   the entry is replaced rather than used.
//!
//! A thread keeps at most [`MAX_PER_THREAD`] entries; beyond, the oldest is dropped (it is
//! opened again if used again).

use std::cell::RefCell;
use std::sync::{Arc, Weak};

use redis::RedisResult;
use tokio::runtime::{Handle, Id as RuntimeId};
use tokio::task::JoinHandle;

use crate::connection::{Link, Shared};

/// The most connections one thread keeps, over all stores and runtimes. An application has a
/// store or two and each thread one runtime; this only bounds unusual patterns (a runtime per
/// request, stores made and dropped in a loop).
pub(crate) const MAX_PER_THREAD: usize = 32;

thread_local! {
    /// This thread's connections, oldest first.
    static LINKS: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
}

/// One store's connection on this thread, for one runtime.
struct Entry {
    /// The store's identity ([`Shared::id`]).
    store: u64,
    /// The runtime the connection's task runs on.
    runtime: RuntimeId,
    /// The store; dead once every clone of it is dropped.
    owner: Weak<Shared>,
    /// Finished once the runtime ended.
    watch: RuntimeWatch,
    /// The connection.
    link: Link,
}

impl Entry {
    fn new(shared: &Arc<Shared>, runtime: &Handle, runtime_id: RuntimeId, link: Link) -> Self {
        Self {
            store: shared.id(),
            runtime: runtime_id,
            owner: Arc::downgrade(shared),
            watch: RuntimeWatch::start(runtime),
            link,
        }
    }

    fn serves(&self, store: u64, runtime: RuntimeId) -> bool {
        self.store == store && self.runtime == runtime
    }

    /// Its store is gone, or its runtime ended.
    fn is_dead(&self) -> bool {
        self.owner.strong_count() == 0 || self.watch.runtime_ended()
    }
}

/// A task that never finishes on its own: it is finished only once its runtime shut down
/// (which cancels every task), which tells an entry whose runtime ID was reused from a live
/// one. Aborted when the entry is dropped.
struct RuntimeWatch(JoinHandle<()>);

impl RuntimeWatch {
    fn start(runtime: &Handle) -> Self {
        Self(runtime.spawn(std::future::pending()))
    }

    fn runtime_ended(&self) -> bool {
        self.0.is_finished()
    }
}

impl Drop for RuntimeWatch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The connection of `shared`'s store for this thread and `runtime` (the current runtime),
/// opened now if there is none yet. Opening sends nothing: the connection is made by its
/// first command.
pub(crate) fn link(shared: &Arc<Shared>, runtime: &Handle) -> RedisResult<Link> {
    with_links(
        |links| lookup(links, shared, runtime, runtime.id()),
        || shared.open(),
    )
}

/// Makes `link`, the store's first connection, opened on `runtime` (the current one), the
/// connection of this thread for that runtime.
pub(crate) fn adopt(shared: &Arc<Shared>, link: Link, runtime: &Handle) {
    let entry = Entry::new(shared, runtime, runtime.id(), link);
    with_links(
        |links| {
            let mut removed = prune(links);
            insert(links, entry, &mut removed);
            ((), removed)
        },
        // Not kept: this thread opens another connection on its next query.
        || (),
    );
}

/// Runs `cached` on this thread's entries, then drops the entries it removed (outside the
/// borrow: dropping a connection aborts its tasks). Runs `uncached` instead if the cache
/// cannot be used: while the thread's locals are being destroyed, or if it is re-entered.
fn with_links<T>(
    cached: impl FnOnce(&mut Vec<Entry>) -> (T, Vec<Entry>),
    uncached: impl FnOnce() -> T,
) -> T {
    let result = LINKS.try_with(|links| {
        let mut links = links.try_borrow_mut().ok()?;
        Some(cached(&mut links))
    });
    match result {
        Ok(Some((result, removed))) => {
            drop(removed);
            result
        }
        Ok(None) | Err(_) => uncached(),
    }
}

/// The live entry for (`shared`, `runtime_id`), or a new one; dead entries are removed.
fn lookup(
    links: &mut Vec<Entry>,
    shared: &Arc<Shared>,
    runtime: &Handle,
    runtime_id: RuntimeId,
) -> (RedisResult<Link>, Vec<Entry>) {
    let store = shared.id();
    // The usual case, a hit and nothing to prune, takes one pass and no allocation.
    let mut found = None;
    let mut any_dead = false;
    for entry in links.iter() {
        if entry.is_dead() {
            any_dead = true;
        } else if entry.serves(store, runtime_id) {
            found = Some(entry);
        }
    }
    if let (Some(entry), false) = (found, any_dead) {
        return (Ok(entry.link.clone()), Vec::new());
    }
    let mut removed = prune(links);
    if let Some(entry) = links.iter().find(|entry| entry.serves(store, runtime_id)) {
        return (Ok(entry.link.clone()), removed);
    }
    let link = match shared.open() {
        Ok(link) => link,
        Err(error) => return (Err(error), removed),
    };
    let entry = Entry::new(shared, runtime, runtime_id, link.clone());
    insert(links, entry, &mut removed);
    (Ok(link), removed)
}

/// Removes the dead entries, and returns them.
fn prune(links: &mut Vec<Entry>) -> Vec<Entry> {
    links.extract_if(.., |entry| entry.is_dead()).collect()
}

/// Appends `entry`, first removing the oldest entries beyond the bound.
fn insert(links: &mut Vec<Entry>, entry: Entry, removed: &mut Vec<Entry>) {
    let excess = (links.len() + 1).saturating_sub(MAX_PER_THREAD);
    removed.extend(links.drain(..excess));
    links.push(entry);
}

/// How many entries this thread holds (dead ones included, until the next lookup).
#[cfg(test)]
fn entries() -> usize {
    LINKS.with(|links| links.borrow().len())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::connection::{Opener, manager_config};

    /// A store's shared state whose connections would go to port 1 (nothing listens there);
    /// nothing connects, since opening sends nothing.
    fn shared_state() -> Arc<Shared> {
        let client = redis::Client::open("redis://127.0.0.1:1").expect("valid URL");
        let config = manager_config(Duration::from_secs(1));
        Shared::for_tests(Opener::Single { client, config })
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    /// Runs `test` on a thread of its own, whose cache starts empty.
    fn on_fresh_thread(test: impl FnOnce() + Send + 'static) {
        std::thread::spawn(test).join().expect("test thread");
    }

    #[test]
    fn one_entry_per_store_and_runtime() {
        on_fresh_thread(|| {
            let (a, b) = (shared_state(), shared_state());
            let runtime = runtime();
            runtime.block_on(async {
                let handle = Handle::current();
                for _ in 0..3 {
                    link(&a, &handle).expect("link");
                }
                assert_eq!(entries(), 1, "reused");
                link(&b, &handle).expect("link");
                assert_eq!(entries(), 2, "one per store");
            });
            let other = self::runtime();
            other.block_on(async {
                link(&a, &Handle::current()).expect("link");
            });
            assert_eq!(entries(), 3, "one per runtime");
        });
    }

    #[test]
    fn a_dropped_store_loses_its_entries_at_the_next_lookup() {
        on_fresh_thread(|| {
            let runtime = runtime();
            runtime.block_on(async {
                let (a, b) = (shared_state(), shared_state());
                let handle = Handle::current();
                link(&a, &handle).expect("link");
                link(&b, &handle).expect("link");
                drop(a);
                assert_eq!(entries(), 2);
                link(&b, &handle).expect("link");
                assert_eq!(entries(), 1, "the dropped store's entry is gone");
            });
        });
    }

    #[test]
    fn an_entry_of_an_ended_runtime_is_replaced_even_if_its_id_comes_back() {
        on_fresh_thread(|| {
            let shared = shared_state();
            let first = runtime();
            let first_id = first.block_on(async {
                let handle = Handle::current();
                link(&shared, &handle).expect("link");
                handle.id()
            });
            // The runtime shuts down: its tasks, the watch among them, are cancelled.
            drop(first);
            let second = runtime();
            second.block_on(async {
                let handle = Handle::current();
                // Looked up under the ended runtime's ID, as if the new runtime had reused it.
                LINKS.with(|links| {
                    let mut links = links.borrow_mut();
                    assert!(links[0].is_dead(), "the watch saw the runtime end");
                    let (link, removed) = lookup(&mut links, &shared, &handle, first_id);
                    link.expect("link");
                    assert_eq!(removed.len(), 1, "the stale entry was removed");
                    assert_eq!(links.len(), 1);
                    assert!(
                        !links[0].is_dead(),
                        "a new entry, watched on the new runtime"
                    );
                });
            });
        });
    }

    #[test]
    fn a_thread_keeps_a_bounded_number_of_entries() {
        on_fresh_thread(|| {
            let runtime = runtime();
            runtime.block_on(async {
                let handle = Handle::current();
                let stores: Vec<_> = (0..MAX_PER_THREAD + 5).map(|_| shared_state()).collect();
                for store in &stores {
                    link(store, &handle).expect("link");
                }
                assert_eq!(entries(), MAX_PER_THREAD);
                // The oldest were dropped: the first store opens a new entry.
                link(&stores[0], &handle).expect("link");
                assert_eq!(entries(), MAX_PER_THREAD);
            });
        });
    }

    #[test]
    fn dropping_an_entry_stops_its_watch() {
        on_fresh_thread(|| {
            let runtime = runtime();
            runtime.block_on(async {
                let watch = RuntimeWatch::start(&Handle::current());
                let task = watch.0.abort_handle();
                assert!(!watch.runtime_ended());
                drop(watch);
                tokio::task::yield_now().await;
                assert!(task.is_finished(), "the watch task was aborted");
            });
        });
    }
}
