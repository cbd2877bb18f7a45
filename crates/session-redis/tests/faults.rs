//! Redis failing under a live store: killed, hung, or closing idle connections. Each test
//! owns its `redis-server`. Run with `--nocapture` to see the measured latencies.

mod common;

use std::fmt::Debug;
use std::future::Future;
use std::time::{Duration, Instant};

use session_core::{SessionId, SessionStore, StoreError};
use session_redis::RedisSessionStore;

use common::{RedisServer, private_server, raw};

const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);
/// Failed operations must end well before this, whatever the failure.
const FAILURE_BOUND: Duration = Duration::from_secs(3);
/// How long the store may take to work again once Redis is back.
const RECOVERY_BOUND: Duration = Duration::from_secs(5);

async fn store_on(server: &RedisServer) -> RedisSessionStore {
    RedisSessionStore::builder(server.url())
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
            expect_failure("touch", accept, store.touch(id, ttl)).await,
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

/// actix-session #230: Redis closes connections idle for longer than its `timeout`; the next
/// request must not fail because of it.
#[actix_rt::test]
async fn connection_closed_by_the_server_when_idle_is_replaced_transparently() {
    let Some(server) = private_server("idle_connection_closed", &["--timeout", "1"]) else {
        return;
    };
    let store = store_on(&server).await;
    let id = SessionId::generate();
    store
        .save(&id, "still here", Duration::from_secs(60))
        .await
        .unwrap();

    // Redis checks idle clients about once a second: after 3 s the store's connection is gone.
    actix_rt::time::sleep(Duration::from_secs(3)).await;
    let mut observer = raw(&server.url()).await;
    let clients: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut observer)
        .await
        .unwrap();
    assert_eq!(
        clients.lines().count(),
        1,
        "only the observer is still connected:\n{clients}"
    );

    let started = Instant::now();
    assert_eq!(
        store
            .load(&id)
            .await
            .expect("load after the idle close")
            .as_deref(),
        Some("still here")
    );
    eprintln!(
        "idle connection closed by Redis: next load succeeded in {:?}",
        started.elapsed()
    );
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
    let slowest = all_operations_fail(&store, &id, timeout_or_unavailable, 1).await;
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
