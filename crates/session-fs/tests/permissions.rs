//! What the directory store trusts on disk: existing roots and shard directories with a wrong
//! owner or mode, or that are symbolic links, and session or lock files swapped for links.
#![cfg(unix)]

use std::fs;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _, symlink};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use session_core::{SessionId, SessionStore};
use session_fs::{DirectoryProblem, FsSessionStore, FsStoreError};

const HOUR: Duration = Duration::from_secs(3600);
/// The conventional `nobody` user, owner of the directories of the foreign-owner tests.
const NOBODY: u32 = 65534;

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

fn dir_with_mode(path: &Path, mode: u32) -> PathBuf {
    fs::create_dir_all(path).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    path.to_owned()
}

/// A file in the store's format that would load as a live session with `text`.
fn plant_session(path: &Path, text: &str) {
    fs::write(path, format!("session-fs 1\n{text}")).unwrap();
    let file = fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() + HOUR).unwrap();
}

fn shard(root: &Path, id: &SessionId) -> PathBuf {
    root.join(&id.as_str()[..2])
}

fn is_root_user() -> bool {
    let probe = tempfile::tempdir().unwrap();
    fs::metadata(probe.path()).unwrap().uid() == 0
}

fn unsafe_problem(result: Result<FsSessionStore, FsStoreError>) -> DirectoryProblem {
    match result {
        Err(FsStoreError::UnsafeDirectory { problem, .. }) => problem,
        other => panic!("expected an unsafe-directory error, got {other:?}"),
    }
}

#[test]
fn an_existing_root_writable_by_others_is_refused_with_the_chmod_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir_with_mode(&dir.path().join("sessions"), 0o777);
    let error = FsSessionStore::new(&root).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains(&format!("chmod 700 {}", root.display())),
        "{message}"
    );
    assert_eq!(
        unsafe_problem(Err(error)),
        DirectoryProblem::WritableByOthers { mode: 0o777 }
    );
    assert_eq!(mode(&root), 0o777, "refused, not silently fixed");
    fs::set_permissions(&root, fs::Permissions::from_mode(0o730)).unwrap();
    assert_eq!(
        unsafe_problem(FsSessionStore::new(&root)),
        DirectoryProblem::WritableByOthers { mode: 0o730 },
        "group write alone is enough"
    );
}

#[test]
fn an_existing_root_readable_by_others_is_tightened_to_0700() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir_with_mode(&dir.path().join("sessions"), 0o755);
    FsSessionStore::new(&root).unwrap();
    assert_eq!(mode(&root), 0o700);
}

#[test]
fn a_root_that_is_a_symbolic_link_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir_with_mode(&dir.path().join("real"), 0o700);
    let link = dir.path().join("link");
    symlink(&real, &link).unwrap();
    let dangling = dir.path().join("dangling");
    symlink(dir.path().join("nowhere"), &dangling).unwrap();
    let with_slash = PathBuf::from(format!("{}/", link.display()));
    for root in [&link, &with_slash, &dangling] {
        assert_eq!(
            unsafe_problem(FsSessionStore::new(root)),
            DirectoryProblem::SymbolicLink,
            "{}",
            root.display()
        );
    }
    assert!(!dir.path().join("nowhere").exists(), "nothing created");
}

#[test]
fn a_root_owned_by_another_user_is_refused() {
    if !is_root_user() {
        eprintln!("skipped: only the superuser can give a directory to another user");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir_with_mode(&dir.path().join("sessions"), 0o700);
    std::os::unix::fs::chown(&root, Some(NOBODY), None).unwrap();
    assert_eq!(
        unsafe_problem(FsSessionStore::new(&root)),
        DirectoryProblem::ForeignOwner {
            owner: NOBODY,
            expected: 0
        }
    );
}

/// Every operation on an ID of an untrusted shard fails, and nothing in the shard is read,
/// written or removed.
async fn shard_is_not_used(store: &FsSessionStore, id: &SessionId, contents: &Path) {
    let file = contents.join(id.as_str());
    plant_session(&file, "planted");
    let before = fs::read_dir(contents).unwrap().count();
    assert!(store.load(id).await.is_err(), "load");
    assert!(store.save(id, "written", HOUR).await.is_err(), "save");
    assert!(store.replace(id, "written", HOUR).await.is_err(), "replace");
    assert!(store.touch(id, HOUR).await.is_err(), "touch");
    assert!(
        store
            .compare_and_swap(id, "planted", "x", HOUR)
            .await
            .is_err()
    );
    assert!(store.delete(id).await.is_err(), "delete");
    assert_eq!(fs::read_to_string(&file).unwrap(), "session-fs 1\nplanted");
    assert_eq!(
        fs::read_dir(contents).unwrap().count(),
        before,
        "no file added"
    );
}

#[actix_rt::test]
async fn a_shard_directory_open_to_others_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsSessionStore::new(dir.path()).unwrap();
    let id = SessionId::generate();
    let shard = dir_with_mode(&shard(dir.path(), &id), 0o777);
    shard_is_not_used(&store, &id, &shard).await;
    let error = store.load(&id).await.unwrap_err();
    assert!(
        format!("{error:?}").contains("WritableByOthers"),
        "{error:?}"
    );
    fs::set_permissions(&shard, fs::Permissions::from_mode(0o750)).unwrap();
    shard_is_not_used(&store, &id, &shard).await;
}

#[actix_rt::test]
async fn a_shard_directory_that_is_a_symbolic_link_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("sessions");
    let store = FsSessionStore::new(&root).unwrap();
    let elsewhere = dir_with_mode(&dir.path().join("elsewhere"), 0o700);
    let id = SessionId::generate();
    symlink(&elsewhere, shard(&root, &id)).unwrap();
    shard_is_not_used(&store, &id, &elsewhere).await;
}

#[actix_rt::test]
async fn a_shard_directory_of_another_user_is_not_used() {
    if !is_root_user() {
        eprintln!("skipped: only the superuser can give a directory to another user");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = FsSessionStore::new(dir.path()).unwrap();
    let id = SessionId::generate();
    let shard = dir_with_mode(&shard(dir.path(), &id), 0o700);
    std::os::unix::fs::chown(&shard, Some(NOBODY), None).unwrap();
    shard_is_not_used(&store, &id, &shard).await;
}

#[actix_rt::test]
async fn a_session_file_swapped_for_a_symbolic_link_is_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("sessions");
    let store = FsSessionStore::new(&root).unwrap();
    let id = SessionId::generate();
    store.save(&id, "real", HOUR).await.unwrap();
    let victim = dir.path().join("victim");
    plant_session(&victim, "secret");
    let victim_expiry = fs::metadata(&victim).unwrap().modified().unwrap();
    let file = shard(&root, &id).join(id.as_str());
    fs::remove_file(&file).unwrap();
    symlink(&victim, &file).unwrap();

    let loaded = store.load(&id).await;
    assert!(matches!(loaded, Ok(None) | Err(_)), "{loaded:?}");
    assert!(!matches!(store.touch(&id, 2 * HOUR).await, Ok(true)));
    assert!(!matches!(store.replace(&id, "new", HOUR).await, Ok(true)));
    assert!(!matches!(
        store.compare_and_swap(&id, "secret", "new", HOUR).await,
        Ok(true)
    ));
    store.save(&id, "new", HOUR).await.unwrap();
    assert_eq!(
        fs::read_to_string(&victim).unwrap(),
        "session-fs 1\nsecret",
        "nothing written through the link"
    );
    assert_eq!(
        fs::metadata(&victim).unwrap().modified().unwrap(),
        victim_expiry
    );
    assert!(
        fs::symlink_metadata(&file).unwrap().is_file(),
        "the link itself was replaced"
    );
    assert_eq!(store.load(&id).await.unwrap().as_deref(), Some("new"));
}

#[actix_rt::test]
async fn a_lock_file_swapped_for_a_symbolic_link_is_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("sessions");
    let store = FsSessionStore::new(&root).unwrap();
    let id = SessionId::generate();
    store.save(&id, "real", HOUR).await.unwrap();
    let lock = shard(&root, &id).join(".lock");
    fs::remove_file(&lock).unwrap();
    let target = dir.path().join("created-through-the-link");
    symlink(&target, &lock).unwrap();
    assert!(store.save(&id, "new", HOUR).await.is_err());
    assert!(store.delete(&id).await.is_err());
    assert!(!target.exists(), "no file created through the link");
    assert_eq!(store.load(&id).await.unwrap().as_deref(), Some("real"));
}

#[actix_rt::test]
async fn sweeps_leave_untrusted_shards_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsSessionStore::new(dir.path()).unwrap();
    let id = SessionId::generate();
    let shard = dir_with_mode(&shard(dir.path(), &id), 0o777);
    let file = shard.join(id.as_str());
    fs::write(&file, "session-fs 1\nexpired").unwrap();
    let report = store.sweep_expired().unwrap();
    assert_eq!(report.expired, 0);
    assert!(file.exists(), "nothing removed from an untrusted shard");
}
