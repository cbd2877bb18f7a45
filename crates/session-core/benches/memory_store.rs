//! The memory storage: read and write time, and its footprint at one million sessions of a
//! 100-byte payload (target: at most twice the payload plus 128 bytes per session).
//!
//! `cargo bench -p session-core --bench memory_store`. The footprint is the growth of the
//! process's resident memory (Linux `/proc/self/status`), so it includes the allocator's own
//! overhead, as a server would pay it.

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use session_core::{MemoryStore, Record, SessionId, SessionStore};

const TTL: Duration = Duration::from_secs(3600);
const PAYLOAD: usize = 100;
const SESSIONS: usize = 1_000_000;

fn resident_bytes() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// What the middleware stores for a 100-byte value: the record header and the value.
fn stored_text() -> String {
    Record::new("x".repeat(PAYLOAD), SystemTime::now(), None).encode("cart")
}

fn footprint() {
    let store = MemoryStore::new();
    let ids: Vec<SessionId> = (0..SESSIONS).map(|_| SessionId::generate()).collect();
    let text = stored_text();
    let before = resident_bytes();
    futures::executor::block_on(async {
        for id in &ids {
            store.save(id, &text, TTL).await.expect("save");
        }
    });
    let after = resident_bytes();
    let (Some(before), Some(after)) = (before, after) else {
        println!("memory footprint: /proc/self/status not available on this system");
        return;
    };
    let per_session = (after - before) as f64 / SESSIONS as f64;
    let target = (2 * PAYLOAD + 128) as f64;
    println!(
        "memory footprint: {SESSIONS} sessions of a {PAYLOAD}-byte value ({} bytes stored with \
         its record header): {per_session:.0} bytes per session; target {target:.0} \
         (2 x payload + 128): {}",
        text.len(),
        if per_session <= target {
            "met"
        } else {
            "NOT met"
        }
    );
    black_box(store.len());
}

fn read_write(c: &mut Criterion) {
    let store = MemoryStore::new();
    let ids: Vec<SessionId> = (0..10_000).map(|_| SessionId::generate()).collect();
    let text = stored_text();
    futures::executor::block_on(async {
        for id in &ids {
            store.save(id, &text, TTL).await.expect("save");
        }
    });
    let mut group = c.benchmark_group("memory store");
    group.throughput(Throughput::Elements(1));
    let mut next = 0;
    group.bench_function("save", |b| {
        b.iter(|| {
            next = (next + 1) % ids.len();
            futures::executor::block_on(store.save(&ids[next], &text, TTL)).expect("save");
        })
    });
    group.bench_function("load_entry", |b| {
        b.iter(|| {
            next = (next + 1) % ids.len();
            black_box(futures::executor::block_on(store.load_entry(&ids[next])).expect("load"))
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    footprint();
    read_write(c);
}

criterion_group! {
    name = memory;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    targets = benches
}
criterion_main!(memory);
