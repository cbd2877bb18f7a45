//! The directory storage through its public API.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::time::Duration;

use session_core::{SessionId, SessionStore};
use session_fs::{Durability, FsSessionStore, FsStoreError};

const HOUR: Duration = Duration::from_secs(3600);

fn files_under(root: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path.clone());
            }
            found.push(path);
        }
    }
    found
}

#[actix_rt::test]
async fn conformance_with_and_without_fsync() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsSessionStore::new(dir.path().join("durable")).unwrap();
    session_core::test_util::run_conformance_suite(&store).await;
    let fast = FsSessionStore::new(dir.path().join("fast"))
        .unwrap()
        .with_durability(Durability::NoFsync);
    session_core::test_util::run_conformance_suite(&fast).await;
}

#[actix_rt::test]
async fn concurrent_updates_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsSessionStore::new(dir.path())
        .unwrap()
        .with_durability(Durability::NoFsync);
    session_core::test_util::run_concurrent_update_check(&store, 100, 1).await;
    session_core::test_util::run_concurrent_update_check(&store, 8, 10).await;
}

#[actix_rt::test]
async fn layout_is_a_shard_directory_and_a_private_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("sessions");
    let store = FsSessionStore::new(&root).unwrap();
    assert_eq!(
        std::fs::metadata(&root).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let id = SessionId::generate();
    store.save(&id, "{}", HOUR).await.unwrap();
    let shard = root.join(&id.as_str()[..2]);
    let file = shard.join(id.as_str());
    assert_eq!(
        std::fs::metadata(&shard).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let mut found = files_under(&root);
    found.sort();
    let lock = shard.join(".lock");
    // Sorted like `found`: an ID may start with `-`, which sorts before `.lock`.
    let mut expected = [shard, lock.clone(), file.clone()];
    expected.sort();
    assert_eq!(found, expected);
    assert_eq!(
        std::fs::metadata(&lock).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let content = std::fs::read_to_string(&file).unwrap();
    assert_eq!(content, "session-fs 1\n{}");
}

#[actix_rt::test]
async fn reads_and_deletes_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsSessionStore::new(dir.path()).unwrap();
    for _ in 0..20 {
        let id = SessionId::generate();
        assert_eq!(store.load(&id).await.unwrap(), None);
        store.delete(&id).await.unwrap();
        assert!(!store.touch(&id, HOUR).await.unwrap());
    }
    assert!(files_under(dir.path()).is_empty());
}

#[test]
fn root_problems_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    assert!(matches!(
        FsSessionStore::new(&file),
        Err(FsStoreError::NotADirectory { .. })
    ));
    let error = FsSessionStore::new(file.join("below")).unwrap_err();
    assert!(matches!(error, FsStoreError::CreateRoot { .. }));
    assert!(error.to_string().contains("below"), "{error}");
}

#[test]
fn hostile_ids_cannot_become_paths() {
    // The store takes only `SessionId`s, and no hostile text parses as one.
    let good = SessionId::generate();
    for hostile in [
        "..".to_owned(),
        "../../../../etc/passwd".to_owned(),
        format!("{}/", &good.as_str()[..42]),
        format!("{}\\", &good.as_str()[..42]),
        format!("{}\0", &good.as_str()[..42]),
        format!("..{}", &good.as_str()[..41]),
        "a".repeat(10_000),
        format!("{}é", &good.as_str()[..41]),
        String::new(),
    ] {
        assert!(SessionId::parse(&hostile).is_err(), "{hostile:?}");
    }
}

#[actix_rt::test]
async fn expired_sessions_are_not_found_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsSessionStore::new(dir.path()).unwrap();
    let id = SessionId::generate();
    store
        .save(&id, "short", Duration::from_millis(50))
        .await
        .unwrap();
    let file = dir.path().join(&id.as_str()[..2]).join(id.as_str());
    assert!(file.exists());
    std::thread::sleep(Duration::from_millis(120));
    assert!(file.exists(), "nothing runs in the background");
    assert_eq!(store.load(&id).await.unwrap(), None);
    assert!(!file.exists(), "the expired file was removed by the read");
}

#[actix_rt::test]
async fn sweep_removes_expired_files_and_empty_shards_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsSessionStore::new(dir.path()).unwrap();
    let mut expiring = Vec::new();
    for _ in 0..30 {
        let id = SessionId::generate();
        store
            .save(&id, "x", Duration::from_millis(30))
            .await
            .unwrap();
        expiring.push(id);
    }
    let kept = SessionId::generate();
    store.save(&kept, "kept", HOUR).await.unwrap();
    std::thread::sleep(Duration::from_millis(80));
    let report = store.sweep_expired().unwrap();
    // Writes sweep one shard every fourth save, so a few of the 30 may be gone already.
    assert!(
        (22..=30).contains(&report.expired),
        "{} swept",
        report.expired
    );
    let remaining = files_under(dir.path());
    assert_eq!(
        remaining.len(),
        3,
        "one shard, its lock and one file left: {remaining:?}"
    );
    assert!(report.pruned_dirs >= 1);
    assert_eq!(store.load(&kept).await.unwrap().as_deref(), Some("kept"));
    // Writing into a pruned shard recreates it.
    store.save(&expiring[0], "again", HOUR).await.unwrap();
    assert_eq!(
        store.load(&expiring[0]).await.unwrap().as_deref(),
        Some("again")
    );
}

#[actix_rt::test]
async fn touch_moves_the_expiry_without_rewriting_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsSessionStore::new(dir.path()).unwrap();
    let id = SessionId::generate();
    store
        .save(&id, "content", Duration::from_millis(80))
        .await
        .unwrap();
    let file = dir.path().join(&id.as_str()[..2]).join(id.as_str());
    let inode = std::fs::metadata(&file).unwrap().ino();
    assert!(store.touch(&id, HOUR).await.unwrap());
    assert_eq!(
        std::fs::metadata(&file).unwrap().ino(),
        inode,
        "same file, not a rewrite"
    );
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(store.load(&id).await.unwrap().as_deref(), Some("content"));
}

#[actix_rt::test]
async fn two_stores_on_one_root_see_each_other_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let first = FsSessionStore::new(dir.path()).unwrap();
    let second = FsSessionStore::new(dir.path()).unwrap();
    let id = SessionId::generate();
    first.save(&id, "v1", HOUR).await.unwrap();
    assert_eq!(second.load(&id).await.unwrap().as_deref(), Some("v1"));
    second.save(&id, "v2", HOUR).await.unwrap();
    assert_eq!(first.load(&id).await.unwrap().as_deref(), Some("v2"));
    second.delete(&id).await.unwrap();
    assert_eq!(first.load(&id).await.unwrap(), None);
}

#[actix_rt::test]
async fn a_foreign_file_is_not_a_session() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsSessionStore::new(dir.path()).unwrap();
    let id = SessionId::generate();
    store.save(&id, "real", HOUR).await.unwrap();
    let file = dir.path().join(&id.as_str()[..2]).join(id.as_str());
    std::fs::write(&file, "not our format").unwrap();
    let later = std::time::SystemTime::now() + HOUR;
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(later)
        .unwrap();
    assert_eq!(store.load(&id).await.unwrap(), None);
    assert!(!file.exists());
}

#[actix_rt::test]
async fn io_failures_are_storage_errors_not_missing_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsSessionStore::new(dir.path()).unwrap();
    let id = SessionId::generate();
    // A directory where the session file should be: reading it is an I/O error.
    std::fs::create_dir_all(dir.path().join(&id.as_str()[..2]).join(id.as_str())).unwrap();
    let error = store.load(&id).await.unwrap_err();
    assert!(
        matches!(error, session_core::StoreError::Backend(_)),
        "{error:?}"
    );
    assert!(
        !format!("{error} {error:?}").contains(id.as_str()),
        "no session ID in errors"
    );
}

#[actix_rt::test]
async fn the_background_sweeper_removes_expired_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsSessionStore::new(dir.path()).unwrap();
    let id = SessionId::generate();
    store
        .save(&id, "short", Duration::from_millis(30))
        .await
        .unwrap();
    let sweeper = store.spawn_sweeper(Duration::from_millis(50));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !files_under(dir.path()).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the sweeper never ran"
        );
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
    sweeper.abort();
}
