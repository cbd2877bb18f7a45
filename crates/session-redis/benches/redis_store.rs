//! Throughput of the Redis storage against a private `redis-server` on loopback: one store
//! (one multiplexed connection), operations issued one at a time and 64 at a time; and the
//! same store used from another thread than the one that built it, as actix-web's workers use
//! a store built in `main` (each thread has a connection of its own, so this costs the same).
//!
//! `cargo bench -p session-redis --features test-util`. Compare with the memory store's figures
//! printed by `cargo bench -p session-fs`; this machine is shared and noisy.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::future::join_all;
use session_core::{SessionId, SessionStore};
use session_redis::RedisSessionStore;
use session_redis::test_util::RedisServer;

const TTL: Duration = Duration::from_secs(3600);
const CONCURRENT: usize = 64;

fn benches(c: &mut Criterion) {
    let server = RedisServer::start(&[]);
    let runtime = actix_rt::Runtime::new().expect("runtime");
    let store = runtime
        .block_on(RedisSessionStore::new(server.url()))
        .expect("store");
    let text = format!(
        r#"{{"userID":"123","productIDs":[{}]}}"#,
        vec!["1"; 30].join(",")
    );
    let ids: Vec<SessionId> = (0..CONCURRENT).map(|_| SessionId::generate()).collect();
    runtime.block_on(async {
        for id in &ids {
            store.save(id, &text, TTL).await.expect("save");
        }
    });

    let mut group = c.benchmark_group("redis");
    group.throughput(Throughput::Elements(1));
    group.bench_function("save", |b| {
        b.iter(|| {
            runtime
                .block_on(store.save(&ids[0], &text, TTL))
                .expect("save")
        });
    });
    group.bench_function("load_entry", |b| {
        b.iter(|| black_box(runtime.block_on(store.load_entry(&ids[0])).expect("load")));
    });
    group.bench_function("touch", |b| {
        b.iter(|| black_box(runtime.block_on(store.touch(&ids[0], TTL)).expect("touch")));
    });
    group.throughput(Throughput::Elements(CONCURRENT as u64));
    group.bench_function("load_entry x64 concurrent", |b| {
        b.iter(|| {
            runtime.block_on(join_all(ids.iter().map(|id| store.load_entry(id))));
        });
    });
    group.bench_function("save x64 concurrent", |b| {
        b.iter(|| {
            runtime.block_on(join_all(ids.iter().map(|id| store.save(id, &text, TTL))));
        });
    });
    group.throughput(Throughput::Elements(1));
    let (remote, stop_remote, home) = built_on_another_thread(&server);
    group.bench_function("load_entry, store built on another thread", |b| {
        b.iter(|| black_box(runtime.block_on(remote.load_entry(&ids[0])).expect("load")));
    });
    group.finish();
    stop_remote.store(true, Ordering::Relaxed);
    home.join().expect("the store's home thread");
    drop(server);
}

/// A store built on a runtime of its own thread, which keeps running (as actix-web's `main`
/// does) until the flag is set.
fn built_on_another_thread(
    server: &RedisServer,
) -> (
    RedisSessionStore,
    Arc<AtomicBool>,
    std::thread::JoinHandle<()>,
) {
    let url = server.url();
    let stop = Arc::new(AtomicBool::new(false));
    let (sender, receiver) = std::sync::mpsc::channel();
    let home = std::thread::spawn({
        let stop = Arc::clone(&stop);
        move || {
            let runtime = actix_rt::Runtime::new().expect("runtime");
            runtime.block_on(async move {
                let store = RedisSessionStore::new(url).await.expect("store");
                sender.send(store).expect("hand the store over");
                while !stop.load(Ordering::Relaxed) {
                    actix_rt::time::sleep(Duration::from_millis(10)).await;
                }
            });
        }
    });
    let store = receiver.recv().expect("the store");
    (store, stop, home)
}

criterion_group! {
    name = redis;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(redis);
