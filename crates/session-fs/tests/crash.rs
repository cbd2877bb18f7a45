//! Writers killed at random moments leave every session either old or new, never torn.
//!
//! The test re-runs its own binary as the writer process (selected by an environment
//! variable), kills it after a random delay, and checks every session file, many times.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use session_core::{SessionId, SessionStore};
use session_fs::FsSessionStore;

const ROOT_VAR: &str = "SESSION_FS_CRASH_ROOT";
const IDS_VAR: &str = "SESSION_FS_CRASH_IDS";
const ROUNDS: usize = 100;
const HOUR: Duration = Duration::from_secs(3600);

/// Version `n` of a session: self-describing, so a torn or mixed value is detectable.
fn version(n: u64) -> String {
    format!("v{n}:{}:{n}", "x".repeat((n % 4000) as usize + 10))
}

fn is_whole_version(text: &str) -> bool {
    let Some((head, rest)) = text.split_once(':') else {
        return false;
    };
    let Some((body, tail)) = rest.rsplit_once(':') else {
        return false;
    };
    let Some(n) = head.strip_prefix('v').and_then(|n| n.parse::<u64>().ok()) else {
        return false;
    };
    tail == n.to_string() && text == version(n) && body.len() as u64 == n % 4000 + 10
}

/// The writer: rewrites every session with increasing versions until killed.
#[test]
fn crash_writer_child() {
    let (Ok(root), Ok(ids)) = (std::env::var(ROOT_VAR), std::env::var(IDS_VAR)) else {
        return; // Not the child: nothing to do.
    };
    let ids: Vec<SessionId> = ids
        .split(',')
        .map(|id| SessionId::parse(id).unwrap())
        .collect();
    let store = FsSessionStore::new(root).unwrap();
    actix_rt::System::new().block_on(async move {
        let start = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_micros();
        for n in 1u64.. {
            for id in &ids {
                store
                    .save(id, &version(n + start as u64 % 1000), HOUR)
                    .await
                    .unwrap();
            }
        }
    });
}

/// A small deterministic pseudo-random sequence (no need for a crate).
fn delays(seed: u64) -> impl Iterator<Item = u64> {
    let mut state = seed | 1;
    std::iter::repeat_with(move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % 40 + 2
    })
}

/// Checks every session and returns how many are past version 0 (written by a child).
fn check_every_file(root: &Path, ids: &[SessionId]) -> usize {
    let store = FsSessionStore::new(root).unwrap();
    actix_rt::System::new().block_on(async {
        let mut rewritten = 0;
        for id in ids {
            let text = store
                .load(id)
                .await
                .unwrap()
                .expect("a session is never lost");
            assert!(is_whole_version(&text), "torn session: {:.60}…", text);
            rewritten += usize::from(text != version(0));
        }
        rewritten
    })
}

fn leftover_temp_files(root: &Path) -> usize {
    std::fs::read_dir(root)
        .unwrap()
        .flat_map(|shard| std::fs::read_dir(shard.unwrap().path()).unwrap())
        .filter(|f| {
            f.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .count()
}

#[test]
fn killed_writers_leave_old_or_new_content() {
    if std::env::var(ROOT_VAR).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<SessionId> = (0..6).map(|_| SessionId::generate()).collect();
    actix_rt::System::new().block_on(async {
        let store = FsSessionStore::new(dir.path()).unwrap();
        for id in &ids {
            store.save(id, &version(0), HOUR).await.unwrap();
        }
    });
    let id_list = ids
        .iter()
        .map(|id| id.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let started = Instant::now();
    for delay in delays(seed).take(ROUNDS) {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "crash_writer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ROOT_VAR, dir.path())
            .env(IDS_VAR, &id_list)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Let the process start and write for a random while, then kill it mid-write.
        std::thread::sleep(Duration::from_millis(30 + delay));
        child.kill().unwrap();
        child.wait().unwrap();
        check_every_file(dir.path(), &ids);
    }
    assert!(
        check_every_file(dir.path(), &ids) > 0,
        "the writers never wrote: the test proved nothing"
    );
    eprintln!(
        "crash test: {ROUNDS} writers killed, every session whole, {} killed mid-write \
         (temporary files left), seed {seed}, {:?}",
        leftover_temp_files(dir.path()),
        started.elapsed()
    );
}
