//! A directory store that cannot be flooded: it cleans up expired files by itself, and an
//! optional cap refuses new sessions past it (issue #13, item 5).

use std::num::NonZeroUsize;
use std::path::Path;
use std::time::Duration;

use session_core::{SessionId, SessionStore, StoreError};
use session_fs::{Durability, FsSessionStore};

const HOUR: Duration = Duration::from_secs(3600);

fn cap(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap()
}

fn file_of(root: &Path, id: &SessionId) -> std::path::PathBuf {
    root.join(&id.as_str()[..2]).join(id.as_str())
}

fn fast(root: &Path) -> FsSessionStore {
    FsSessionStore::new(root)
        .unwrap()
        .with_durability(Durability::NoFsync)
}

#[actix_rt::test]
async fn a_cap_refuses_new_sessions_but_not_existing_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = fast(dir.path()).max_sessions(cap(2)).unwrap();
    assert_eq!(store.session_cap(), Some(cap(2)));
    let (a, b, c) = (
        SessionId::generate(),
        SessionId::generate(),
        SessionId::generate(),
    );
    store.save(&a, "a", HOUR).await.unwrap();
    store.save(&b, "b", HOUR).await.unwrap();

    let refused = store.save(&c, "c", HOUR).await;
    assert!(
        matches!(refused, Err(StoreError::Full { capacity: 2 })),
        "{refused:?}"
    );
    assert!(!file_of(dir.path(), &c).exists(), "nothing was written");

    // Existing sessions: saved over, replaced, swapped and touched as before.
    store.save(&a, "a2", HOUR).await.unwrap();
    assert!(store.replace(&b, "b2", HOUR).await.unwrap());
    assert!(store.compare_and_swap(&b, "b2", "b3", HOUR).await.unwrap());
    assert!(store.touch(&a, HOUR).await.unwrap());
    assert_eq!(store.load(&b).await.unwrap().as_deref(), Some("b3"));

    // A logout makes room.
    store.delete(&a).await.unwrap();
    store.save(&c, "c", HOUR).await.unwrap();
    assert!(matches!(
        store.save(&a, "a", HOUR).await,
        Err(StoreError::Full { .. })
    ));

    // Without a cap, nothing is refused.
    let unbounded = fast(&dir.path().join("other"));
    assert_eq!(unbounded.session_cap(), None);
    for _ in 0..5 {
        unbounded
            .save(&SessionId::generate(), "x", HOUR)
            .await
            .unwrap();
    }
}

#[actix_rt::test]
async fn the_cap_counts_the_sessions_already_in_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let first = fast(dir.path());
    for _ in 0..3 {
        first.save(&SessionId::generate(), "x", HOUR).await.unwrap();
    }
    // A restart with a cap of 3: already full.
    let store = fast(dir.path()).max_sessions(cap(3)).unwrap();
    let error = store
        .save(&SessionId::generate(), "x", HOUR)
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::Full { capacity: 3 }),
        "{error:?}"
    );
}

#[actix_rt::test]
async fn concurrent_new_sessions_never_exceed_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let store = fast(dir.path()).max_sessions(cap(10)).unwrap();
    let saves = (0..60).map(|_| {
        let store = store.clone();
        async move { store.save(&SessionId::generate(), "x", HOUR).await }
    });
    let results = futures_util_join_all(saves).await;
    let accepted = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(accepted, 10);
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(()) | Err(StoreError::Full { capacity: 10 })))
    );
}

/// Runs the futures concurrently on the current runtime, each as a task.
async fn futures_util_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + 'static,
    F::Output: 'static,
{
    let handles: Vec<_> = futures.map(actix_rt::spawn).collect();
    let mut outputs = Vec::new();
    for handle in handles {
        outputs.push(handle.await.unwrap());
    }
    outputs
}

#[actix_rt::test]
async fn expired_files_disappear_without_a_manual_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let store = fast(dir.path());
    let expired: Vec<SessionId> = (0..20).map(|_| SessionId::generate()).collect();
    for id in &expired {
        store
            .save(id, "short", Duration::from_millis(100))
            .await
            .unwrap();
    }
    tokio_sleep(Duration::from_millis(300)).await;
    let mut saves = 0;
    while expired.iter().any(|id| file_of(dir.path(), id).exists()) {
        assert!(
            saves < 2000,
            "expired files still there after {saves} saves"
        );
        store.save(&SessionId::generate(), "x", HOUR).await.unwrap();
        saves += 1;
    }
    // Nothing was loaded, and no sweep called: the writes removed them.
    assert!(saves > 0);
}

#[actix_rt::test]
async fn a_store_full_of_expired_sessions_frees_itself() {
    let dir = tempfile::tempdir().unwrap();
    let store = fast(dir.path()).max_sessions(cap(5)).unwrap();
    for _ in 0..5 {
        store
            .save(&SessionId::generate(), "short", Duration::from_millis(100))
            .await
            .unwrap();
    }
    tokio_sleep(Duration::from_millis(300)).await;
    let mut attempts = 0;
    loop {
        attempts += 1;
        match store.save(&SessionId::generate(), "new", HOUR).await {
            Ok(()) => break,
            Err(StoreError::Full { .. }) => assert!(attempts < 100, "never freed"),
            Err(error) => panic!("{error}"),
        }
    }
    // And the full sweep keeps the count right too.
    let report = store.sweep_expired().unwrap();
    let mut accepted = 1;
    while store
        .save(&SessionId::generate(), "new", HOUR)
        .await
        .is_ok()
    {
        accepted += 1;
        assert!(accepted <= 5);
    }
    assert_eq!(accepted, 5, "every expired session made room ({report:?})");
}

async fn tokio_sleep(duration: Duration) {
    actix_rt::time::sleep(duration).await;
}
