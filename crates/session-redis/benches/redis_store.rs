//! Throughput of the Redis storage against a private `redis-server` on loopback: one store
//! (one multiplexed connection), operations issued one at a time and 64 at a time.
//!
//! `cargo bench -p session-redis --features test-util`. Compare with the memory store's figures
//! printed by `cargo bench -p session-fs`; this machine is shared and noisy.

use std::hint::black_box;
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
    group.finish();
    drop(server);
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
