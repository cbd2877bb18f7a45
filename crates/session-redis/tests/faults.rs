//! Redis failing under a live store: killed, hung, or closing idle connections. Each test
//! owns its `redis-server`. Run with `--nocapture` to see the measured latencies.

mod common;

use std::fmt::Debug;
use std::future::Future;
use std::time::{Duration, Instant};

use session_core::{SessionId, SessionStore, StoreError};
use session_redis::RedisSessionStore;

use common::proxy::Proxy;
use common::{CAS_MARKER, RedisServer, increment, private_server, raw};

const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);
/// Failed operations must end well before this, whatever the failure.
const FAILURE_BOUND: Duration = Duration::from_secs(3);
/// How long the store may take to work again once Redis is back.
const RECOVERY_BOUND: Duration = Duration::from_secs(5);

async fn store_on(server: &RedisServer) -> RedisSessionStore {
    store_on_url(&server.url()).await
}

async fn store_on_url(url: &str) -> RedisSessionStore {
    RedisSessionStore::builder(url)
        .key_prefix("faults:")
        .connect_timeout(RESPONSE_TIMEOUT)
        .response_timeout(RESPONSE_TIMEOUT)
        .build()
        .await
        .expect("connect to the private server")
}

/// Runs one operation that must fail, checks how, and returns how long it took.
async fn expect_failure<T: Debug>(
    what: &str,
    accept: fn(&StoreError) -> bool,
    operation: impl Future<Output = Result<T, StoreError>>,
) -> Duration {
    let started = Instant::now();
    let result = operation.await;
    let took = started.elapsed();
    match result {
        Err(error) if accept(&error) => {
            assert!(took < FAILURE_BOUND, "{what} took {took:?} to fail");
            took
        }
        other => panic!("{what}: expected a failure, got {other:?} after {took:?}"),
    }
}

/// Every operation of the store fails in the accepted way, `sequential_rounds` times one
/// after the other, then once all at the same time; returns the slowest failure.
async fn all_operations_fail(
    store: &RedisSessionStore,
    id: &SessionId,
    accept: fn(&StoreError) -> bool,
    sequential_rounds: usize,
) -> Duration {
    let ttl = Duration::from_secs(60);
    let mut slowest = Duration::ZERO;
    for _ in 0..sequential_rounds {
        for took in [
            expect_failure("load", accept, store.load(id)).await,
            expect_failure("load_entry", accept, store.load_entry(id)).await,
            expect_failure("save", accept, store.save(id, "x", ttl)).await,
            expect_failure("replace", accept, store.replace(id, "x", ttl)).await,
            expect_failure("touch", accept, store.touch(id, ttl)).await,
            expect_failure(
                "compare_and_swap",
                accept,
                store.compare_and_swap(id, "x", "y", ttl),
            )
            .await,
            expect_failure("delete", accept, store.delete(id)).await,
        ] {
            slowest = slowest.max(took);
        }
    }
    let (a, b, c, d) = futures::future::join4(
        expect_failure("concurrent load_entry", accept, store.load_entry(id)),
        expect_failure("concurrent save", accept, store.save(id, "x", ttl)),
        expect_failure("concurrent touch", accept, store.touch(id, ttl)),
        expect_failure("concurrent delete", accept, store.delete(id)),
    )
    .await;
    slowest.max(a).max(b).max(c).max(d)
}

/// Polls until a save and a load through `store` succeed; returns how long that took.
async fn wait_for_recovery(store: &RedisSessionStore) -> Duration {
    let started = Instant::now();
    let id = SessionId::generate();
    loop {
        let saved = store.save(&id, "after", Duration::from_secs(60)).await;
        if saved.is_ok() && store.load(&id).await.ok().flatten().as_deref() == Some("after") {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < RECOVERY_BOUND,
            "store did not recover within {RECOVERY_BOUND:?}: {saved:?}"
        );
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
}

fn timeout_or_unavailable(error: &StoreError) -> bool {
    matches!(error, StoreError::Timeout | StoreError::Unavailable(_))
}

fn timeout(error: &StoreError) -> bool {
    matches!(error, StoreError::Timeout)
}

#[actix_rt::test]
async fn killed_redis_fails_fast_and_the_same_store_recovers() {
    let Some(server) = private_server("killed_redis_fails_fast", &[]) else {
        return;
    };
    let (port, args) = (server.port(), server.extra_args().to_vec());
    let store = store_on(&server).await;
    let id = SessionId::generate();
    store
        .save(&id, "before", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(store.load(&id).await.unwrap().as_deref(), Some("before"));

    drop(server); // SIGKILL: the connection drops, new connections are refused.
    let slowest = all_operations_fail(&store, &id, timeout_or_unavailable, 2).await;
    eprintln!("redis killed: slowest failed operation took {slowest:?}");

    // The same port, a new process (empty: nothing is persisted), the same store instance.
    let _server = RedisServer::restart_on(port, &args);
    let recovery = wait_for_recovery(&store).await;
    eprintln!("redis restarted: the same store worked again after {recovery:?}");
    assert_eq!(
        store.load(&id).await.unwrap(),
        None,
        "the new server is empty"
    );
}

#[actix_rt::test]
async fn hung_redis_times_out_and_the_store_recovers() {
    let Some(server) = private_server("hung_redis_times_out", &[]) else {
        return;
    };
    let store = store_on(&server).await;
    let id = SessionId::generate();
    store
        .save(&id, "kept", Duration::from_secs(60))
        .await
        .unwrap();

    // SIGSTOP: the socket stays open, the kernel still accepts connections, nothing answers.
    server.signal("STOP");
    let started = Instant::now();
    let first = expect_failure("load", timeout, store.load(&id)).await;
    assert!(
        first >= RESPONSE_TIMEOUT / 2,
        "timed out suspiciously early: {first:?}"
    );
    let rest = expect_failure(
        "save",
        timeout,
        store.save(&id, "x", Duration::from_secs(60)),
    )
    .await;
    eprintln!(
        "redis hung: operations timed out after {first:?} and {rest:?} \
         (response timeout {RESPONSE_TIMEOUT:?})"
    );

    server.signal("CONT");
    let recovery = wait_for_recovery(&store).await;
    eprintln!(
        "redis resumed: the store worked again after {recovery:?} ({:?} since the hang)",
        started.elapsed()
    );
    // The save that timed out may have run once the server resumed: either value is right.
    let value = store.load(&id).await.unwrap();
    assert!(matches!(value.as_deref(), Some("kept" | "x")), "{value:?}");
}

/// The `id`s of the connections Redis has, other than the one asking.
async fn client_ids(server: &RedisServer) -> Vec<String> {
    let mut observer = raw(&server.url()).await;
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut observer)
        .await
        .unwrap();
    list.lines()
        .filter(|line| !line.contains("cmd=client|list"))
        .filter_map(|line| line.split(' ').next())
        .map(str::to_owned)
        .collect()
}

/// Closes every connection but the caller's, as Redis does to idle ones.
async fn kill_other_connections(server: &RedisServer) {
    let mut observer = raw(&server.url()).await;
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("normal")
        .arg("SKIPME")
        .arg("yes")
        .query_async(&mut observer)
        .await
        .unwrap();
    assert!(killed >= 1, "the store's connection was killed");
}

/// actix-session #230: Redis closes connections idle for longer than its `timeout`; the next
/// request must not fail because of it, over RESP3 (the default: the connection is replaced
/// in the background) and over RESP2 (the next command meets the dead connection and is sent
/// once more on a new one).
async fn idle_close_is_transparent(test: &str, url_suffix: &str) {
    let Some(server) = private_server(test, &["--timeout", "1"]) else {
        return;
    };
    let store = store_on_url(&format!("{}{url_suffix}", server.url())).await;
    let id = SessionId::generate();
    let ttl = Duration::from_secs(60);
    store.save(&id, "still here", ttl).await.unwrap();
    let before = client_ids(&server).await;

    // Redis checks idle clients about once a second: after 3 s the store's connection is gone.
    actix_rt::time::sleep(Duration::from_secs(3)).await;
    let after = client_ids(&server).await;
    assert!(
        before.iter().all(|id| !after.contains(id)),
        "the connection was closed: {before:?} then {after:?}"
    );

    let started = Instant::now();
    let loaded = store.load(&id).await.expect("load after the idle close");
    assert_eq!(loaded.as_deref(), Some("still here"));
    eprintln!(
        "idle connection closed by Redis ({test}): next load succeeded in {:?}",
        started.elapsed()
    );
}

#[actix_rt::test]
async fn idle_close_is_transparent_over_resp3() {
    idle_close_is_transparent("idle_close_resp3", "").await;
}

#[actix_rt::test]
async fn idle_close_is_transparent_over_resp2() {
    idle_close_is_transparent("idle_close_resp2", "/?protocol=resp2").await;
}

/// Over RESP3 a closed connection is replaced before the next command, so even the one
/// operation that is never sent twice, compare-and-swap, goes through.
#[actix_rt::test]
async fn closed_connection_is_replaced_in_the_background_over_resp3() {
    let Some(server) = private_server("closed_connection_resp3", &[]) else {
        return;
    };
    let store = store_on(&server).await;
    let id = SessionId::generate();
    let ttl = Duration::from_secs(60);
    store.save(&id, "v1", ttl).await.unwrap();

    kill_other_connections(&server).await;
    let started = Instant::now();
    while client_ids(&server).await.is_empty() {
        assert!(started.elapsed() < RECOVERY_BOUND, "no reconnection");
        actix_rt::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!("killed connection replaced after {:?}", started.elapsed());
    assert!(store.compare_and_swap(&id, "v1", "v2", ttl).await.unwrap());
}

/// Over RESP2 the dead connection is only found by the next command. Compare-and-swap is not
/// sent twice (it cannot know whether a lost attempt had swapped): it fails, and the next
/// one succeeds.
#[actix_rt::test]
async fn compare_and_swap_is_not_sent_twice_over_resp2() {
    let Some(server) = private_server("compare_and_swap_not_sent_twice", &[]) else {
        return;
    };
    let store = store_on_url(&format!("{}/?protocol=resp2", server.url())).await;
    let id = SessionId::generate();
    let ttl = Duration::from_secs(60);
    store.save(&id, "v1", ttl).await.unwrap();

    kill_other_connections(&server).await;
    let first = store.compare_and_swap(&id, "v1", "v2", ttl).await;
    assert!(
        matches!(first, Err(StoreError::Unavailable(_))),
        "{first:?}"
    );
    assert_eq!(store.load(&id).await.unwrap().as_deref(), Some("v1"));
    assert!(store.compare_and_swap(&id, "v1", "v2", ttl).await.unwrap());
    assert_eq!(store.load(&id).await.unwrap().as_deref(), Some("v2"));
}

/// A swap that ran but whose reply was lost (the connection dropped in between) fails: it is
/// not sent again, which would find its own result, report a conflict, and have the caller
/// apply its change twice. The Redis Cluster counterpart is in `cluster_cas.rs`.
#[actix_rt::test]
async fn a_swap_whose_reply_is_lost_fails_and_is_applied_once() {
    let Some(server) = private_server("lost_swap_reply", &[]) else {
        return;
    };
    let proxy = Proxy::start(server.port()).await;
    let store = store_on_url(&format!("redis://127.0.0.1:{}", proxy.port())).await;
    let id = SessionId::generate();
    let ttl = Duration::from_secs(60);
    store.save(&id, "0", ttl).await.unwrap();

    proxy.lose_reply_to(CAS_MARKER);
    let result = increment(&store, &id, ttl).await;
    assert_eq!(proxy.lost_replies(), 1, "the swap's reply was lost");
    let counter = store.load(&id).await.unwrap();
    assert_eq!(counter.as_deref(), Some("1"), "applied once; {result:?}");
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    increment(&store, &id, ttl)
        .await
        .expect("the next increment");
    assert_eq!(store.load(&id).await.unwrap().as_deref(), Some("2"));
}

/// Redis is replaced by something that accepts connections and never answers (a hung host,
/// a half-dead proxy): reconnections hang, operations must not, and once the real server is
/// back the store must not stay stuck on the hung reconnection.
#[actix_rt::test]
async fn reconnection_to_a_silent_port_times_out_and_the_store_recovers() {
    let Some(server) = private_server("reconnection_to_a_silent_port", &[]) else {
        return;
    };
    let (port, args) = (server.port(), server.extra_args().to_vec());
    let store = store_on(&server).await;
    let id = SessionId::generate();
    store
        .save(&id, "before", Duration::from_secs(60))
        .await
        .unwrap();

    drop(server);
    // The kernel completes TCP handshakes into the backlog; nothing ever reads or answers.
    let silent = std::net::TcpListener::bind(("127.0.0.1", port)).expect("take over the port");
    let slowest = all_operations_fail(&store, &id, timeout_or_unavailable, 0).await;
    eprintln!("silent port: slowest failed operation took {slowest:?}");

    drop(silent);
    let started = Instant::now();
    let _server = RedisServer::restart_on(port, &args);
    let recovery = wait_for_recovery(&store).await;
    eprintln!(
        "redis back after a silent port: the store worked again after {recovery:?} \
         ({:?} including the restart)",
        started.elapsed()
    );
}

/// Runs `test` on a thread of its own with a current-thread runtime (as an actix-web worker
/// has), where the store has no connection yet.
fn on_new_thread<T: Send + 'static>(
    test: impl FnOnce() -> std::pin::Pin<Box<dyn Future<Output = T>>> + Send + 'static,
) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(test())
    })
    .join()
    .expect("the thread did not panic")
}

/// A worker thread's first operations, while Redis is down, open its connection: they fail
/// fast like any operation, never panic, and the thread's connection works once Redis is back.
#[actix_rt::test]
async fn first_use_on_a_new_thread_while_redis_is_down_fails_fast_then_recovers() {
    let Some(server) = private_server("first_use_on_a_new_thread_while_down", &[]) else {
        return;
    };
    let (port, args) = (server.port(), server.extra_args().to_vec());
    let store = store_on(&server).await;
    drop(server);

    on_new_thread(move || {
        Box::pin(async move {
            let id = SessionId::generate();
            let slowest = all_operations_fail(&store, &id, timeout_or_unavailable, 2).await;
            eprintln!("redis down at a thread's first use: slowest failure {slowest:?}");
            let _server = RedisServer::restart_on(port, &args);
            let recovery = wait_for_recovery(&store).await;
            eprintln!("redis back: the thread's connection worked after {recovery:?}");
        })
    });
}

/// A worker thread's first operation on a hung Redis (the connection is accepted, nothing
/// answers) times out within the response timeout, and the same thread recovers once Redis
/// answers again.
#[actix_rt::test]
async fn first_use_on_a_new_thread_of_a_hung_redis_times_out_then_recovers() {
    let Some(server) = private_server("first_use_on_a_new_thread_hung", &[]) else {
        return;
    };
    let store = store_on(&server).await;
    server.signal("STOP");
    let server = on_new_thread(move || {
        Box::pin(async move {
            let id = SessionId::generate();
            let took = expect_failure("load", timeout, store.load(&id)).await;
            assert!(
                took >= RESPONSE_TIMEOUT / 2,
                "timed out suspiciously early: {took:?}"
            );
            let ttl = Duration::from_secs(60);
            expect_failure("save", timeout, store.save(&id, "x", ttl)).await;
            eprintln!("redis hung at a thread's first use: timed out after {took:?}");
            server.signal("CONT");
            let recovery = wait_for_recovery(&store).await;
            eprintln!("redis resumed: the thread's connection worked after {recovery:?}");
            server
        })
    });
    drop(server);
}
