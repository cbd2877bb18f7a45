//! Writes/s and reads/s of the SQLite store next to the directory store's, both durable
//! (SQLite `synchronous = FULL` in WAL mode, as the store opens a file; `session-fs` with
//! `Durability::Fsync`), on the same disk, for BENCHMARKS.md.
//!
//! ```text
//! cargo bench -p session-sql --features sqlite --bench sqlite_vs_fs
//! ```
//!
//! Knobs (environment): `BENCH_DIR` (where the file and directory go; default Cargo's
//! temporary directory under `target/`, on disk, not a tmpfs), `BENCH_SECS` (seconds per
//! measurement, default 3). Each measurement is the number of operations completed in that
//! time by 1 task, then by 8 concurrent tasks (a busy app), on a runtime of 2 threads. Writes
//! are `save` over 256 existing sessions (an update, as a request that changed its session);
//! reads are `load` of them. Not run in CI.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use session_core::{SessionId, SessionStore};
use session_fs::{Durability, FsSessionStore};
use session_sql::SqlSessionStore;

const TTL: Duration = Duration::from_secs(3600);
const SESSIONS: usize = 256;

/// The session text of the directory store's own bench: a cart of 30 products.
fn payload() -> String {
    format!(
        r#"{{"userID":"123","productIDs":[{}]}}"#,
        vec!["1"; 30].join(",")
    )
}

#[derive(Clone, Copy)]
enum Operation {
    Write,
    Read,
}

/// Operations per second that `tasks` concurrent tasks complete in `time`.
async fn rate<S: SessionStore + Clone>(
    store: &S,
    ids: &Arc<Vec<SessionId>>,
    operation: Operation,
    tasks: usize,
    time: Duration,
) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + time;
    let workers: Vec<_> = (0..tasks)
        .map(|task| {
            let (store, ids, done) = (store.clone(), Arc::clone(ids), Arc::clone(&done));
            tokio::spawn(async move {
                let text = payload();
                let mut next = task * 31;
                while Instant::now() < deadline {
                    next = (next + 1) % ids.len();
                    match operation {
                        Operation::Write => store.save(&ids[next], &text, TTL).await.unwrap(),
                        Operation::Read => {
                            assert!(store.load(&ids[next]).await.unwrap().is_some());
                        }
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

async fn measure<S: SessionStore + Clone>(name: &str, store: S, time: Duration) {
    let ids: Arc<Vec<SessionId>> = Arc::new((0..SESSIONS).map(|_| SessionId::generate()).collect());
    for id in ids.iter() {
        store.save(id, &payload(), TTL).await.unwrap();
    }
    for tasks in [1, 8] {
        let writes = rate(&store, &ids, Operation::Write, tasks, time).await;
        let reads = rate(&store, &ids, Operation::Read, tasks, time).await;
        println!("| {name} | {tasks} | {writes:.0} | {reads:.0} |");
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let dir = std::env::var_os("BENCH_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")), PathBuf::from);
    let time = Duration::from_secs(
        std::env::var("BENCH_SECS")
            .ok()
            .and_then(|secs| secs.parse().ok())
            .unwrap_or(3),
    );
    let work = tempfile::tempdir_in(&dir).expect("a directory under BENCH_DIR");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "in {}, {} s per figure\n",
        work.path().display(),
        time.as_secs()
    );
    println!("| store | concurrent tasks | writes/s | reads/s |");
    println!("|---|--:|--:|--:|");
    runtime.block_on(async {
        let url = format!("sqlite://{}", work.path().join("sessions.db").display());
        let sqlite = SqlSessionStore::new(url).await.unwrap();
        sqlite.migrate().await.unwrap();
        measure("SQLite (WAL, synchronous = FULL)", sqlite, time).await;
        let fs = FsSessionStore::new(work.path().join("sessions"))
            .unwrap()
            .with_durability(Durability::Fsync);
        measure("directory (`session-fs`, fsync)", fs, time).await;
    });
}
