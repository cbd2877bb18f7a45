//! Races between writers of one shard, across store instances on the same root (as between
//! processes): a deleted session is never brought back, and the shard lock stays one lock even
//! when a sweep prunes its lock file.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use session_core::{SessionId, SessionStore};
use session_fs::{Durability, FsSessionStore};

const HOUR: Duration = Duration::from_secs(3600);
const ROUNDS: usize = 200;
const WRITERS: usize = 8;
const MAX_WRITES: usize = 500;

fn session_file(root: &Path, id: &SessionId) -> PathBuf {
    root.join(&id.as_str()[..2]).join(id.as_str())
}

fn store(root: &Path) -> FsSessionStore {
    FsSessionStore::new(root)
        .unwrap()
        .with_durability(Durability::NoFsync)
}

/// A request in flight: writes the session again and again until it finds it gone (or has
/// written `MAX_WRITES` times, so that a resurrected session fails the test, not hangs it).
async fn keep_replacing(store: FsSessionStore, id: SessionId, writer: usize) {
    for write in 0..MAX_WRITES {
        let text = format!("writer {writer} write {write}");
        if !store.replace(&id, &text, HOUR).await.unwrap() {
            return;
        }
        tokio::task::yield_now().await;
    }
}

#[actix_rt::test]
async fn replace_racing_a_delete_from_another_store_never_resurrects() {
    let dir = tempfile::tempdir().unwrap();
    let (deleter, writer) = (store(dir.path()), store(dir.path()));
    for round in 0..ROUNDS {
        let id = SessionId::generate();
        deleter.save(&id, "logged in", HOUR).await.unwrap();
        let writers: Vec<_> = (0..WRITERS)
            .map(|n| tokio::spawn(keep_replacing(writer.clone(), id.clone(), n)))
            .collect();
        actix_rt::time::sleep(Duration::from_micros(200 * (round % 10) as u64)).await;
        deleter.delete(&id).await.unwrap();
        for handle in writers {
            handle.await.unwrap();
        }
        // Only `replace` ran after the delete, and it never creates: the session stays gone.
        assert!(
            !session_file(dir.path(), &id).exists(),
            "round {round}: the logout was undone"
        );
        assert_eq!(deleter.load(&id).await.unwrap(), None, "round {round}");
    }
}

#[actix_rt::test]
async fn a_lock_on_a_pruned_lock_file_is_not_the_shard_lock() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let id = SessionId::generate();
    store.save(&id, "v1", HOUR).await.unwrap();
    let lock_path = dir.path().join(&id.as_str()[..2]).join(".lock");
    // A sweep locks the lock file to prune the shard...
    let pruning = fs::File::open(&lock_path).unwrap();
    pruning.lock().unwrap();
    let writer = {
        let (store, id) = (store.clone(), id.clone());
        tokio::spawn(async move { store.replace(&id, "v2", HOUR).await })
    };
    actix_rt::time::sleep(Duration::from_millis(200)).await;
    // ...removes it while a writer waits on it; then another process takes the shard lock
    // through a new lock file, and the sweep lets go of the removed one.
    fs::remove_file(&lock_path).unwrap();
    let other = fs::File::create_new(&lock_path).unwrap();
    other.lock().unwrap();
    drop(pruning);
    actix_rt::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !writer.is_finished(),
        "the writer must wait for the other process"
    );
    assert_eq!(
        fs::read_to_string(session_file(dir.path(), &id)).unwrap(),
        "session-fs 1\nv1"
    );
    drop(other);
    assert!(writer.await.unwrap().unwrap());
    assert_eq!(store.load(&id).await.unwrap().as_deref(), Some("v2"));
}
