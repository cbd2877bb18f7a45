//! Read and write throughput of the directory storage, with and without fsync.
//!
//! `cargo bench -p session-fs` prints the time per operation; the memory storage runs in the
//! same process as a reference point. Figures depend on the disk: compare ratios.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use session_core::{MemoryStore, SessionId, SessionStore};
use session_fs::{Durability, FsSessionStore};

const TTL: Duration = Duration::from_secs(3600);

fn payload() -> String {
    format!(
        r#"{{"userID":"123","productIDs":[{}]}}"#,
        vec!["1"; 30].join(",")
    )
}

fn bench_store<S: SessionStore>(c: &mut Criterion, name: &str, store: &S) {
    let runtime = actix_rt::Runtime::new().expect("runtime");
    let text = payload();
    let ids: Vec<SessionId> = (0..256).map(|_| SessionId::generate()).collect();
    runtime.block_on(async {
        for id in &ids {
            store.save(id, &text, TTL).await.expect("save");
        }
    });
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(1));
    let mut next = 0;
    group.bench_function("write", |b| {
        b.iter(|| {
            next = (next + 1) % ids.len();
            runtime
                .block_on(store.save(&ids[next], &text, TTL))
                .expect("save");
        });
    });
    group.bench_function("read", |b| {
        b.iter(|| {
            next = (next + 1) % ids.len();
            black_box(runtime.block_on(store.load(&ids[next])).expect("load"));
        });
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let fsync = FsSessionStore::new(dir.path().join("fsync")).expect("store");
    let no_fsync = FsSessionStore::new(dir.path().join("no-fsync"))
        .expect("store")
        .with_durability(Durability::NoFsync);
    bench_store(c, "fs-fsync", &fsync);
    bench_store(c, "fs-no-fsync", &no_fsync);
    bench_store(c, "memory", &MemoryStore::new());
}

criterion_group! {
    name = fs;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(fs);
