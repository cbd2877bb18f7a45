//! One connection per thread and runtime: a store built on one runtime and used from threads
//! with runtimes of their own (as actix-web's workers do) opens one connection per thread, on
//! first use, and keeps using it; ended runtimes and dropped stores leave nothing open.
//!
//! Each test owns a private `redis-server`, so that `CLIENT LIST` shows only its connections.

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use session_core::{SessionId, SessionStore, StoreError};
use session_redis::RedisSessionStore;
use tokio::runtime::Runtime;
use tokio::task::LocalSet;

use common::{RedisServer, private_server, raw, unique_prefix};

const TTL: Duration = Duration::from_secs(60);
/// How long Redis may take to notice closed connections.
const SETTLE: Duration = Duration::from_secs(5);

/// A current-thread runtime, like each actix-web worker's.
fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

async fn store_on(server: &RedisServer, test: &str) -> RedisSessionStore {
    RedisSessionStore::builder(server.url())
        .key_prefix(unique_prefix(test))
        .build()
        .await
        .expect("connect to the private server")
}

/// How many connections the server has, other than the ones asking (every observer's last
/// command is `CLIENT LIST`, also a closing observer's that is still listed).
async fn connections(server: &RedisServer) -> usize {
    let mut observer = raw(&server.url()).await;
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut observer)
        .await
        .expect("CLIENT LIST");
    list.lines()
        .filter(|line| !line.contains("cmd=client|list"))
        .count()
}

/// Waits until the server has `expected` connections besides the observers'; panics with
/// what it has after [`SETTLE`].
fn expect_connections(runtime: &Runtime, server: &RedisServer, expected: usize, what: &str) {
    let started = Instant::now();
    loop {
        let count = runtime.block_on(connections(server));
        if count == expected {
            return;
        }
        assert!(
            started.elapsed() < SETTLE,
            "{what}: {count} connections, expected {expected}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Saves, loads, touches, swaps and deletes `rounds` sessions, one after the other.
async fn exercise(store: &RedisSessionStore, rounds: usize) {
    for n in 0..rounds {
        let id = SessionId::generate();
        let text = format!("text {n}");
        store.save(&id, &text, TTL).await.expect("save");
        assert_eq!(store.load(&id).await.expect("load"), Some(text.clone()));
        let entry = store.load_entry(&id).await.expect("load_entry");
        assert!(entry.is_some_and(|entry| entry.expires_at.is_some()));
        assert!(store.touch(&id, TTL).await.expect("touch"));
        assert!(
            store
                .compare_and_swap(&id, &text, "swapped", TTL)
                .await
                .expect("compare_and_swap")
        );
        store.delete(&id).await.expect("delete");
        assert_eq!(store.load(&id).await.expect("load"), None);
    }
}

/// `concurrent` tasks on a `LocalSet` (as actix-web runs handlers), started together so that
/// their first operations on this thread happen at the same time.
async fn exercise_concurrently(store: &RedisSessionStore, concurrent: usize, rounds: usize) {
    let tasks: Vec<_> = (0..concurrent)
        .map(|_| {
            let store = store.clone();
            tokio::task::spawn_local(async move { exercise(&store, rounds).await })
        })
        .collect();
    for task in join_all(tasks).await {
        task.expect("task");
    }
}

/// A worker thread: runs `rounds` batches of work on a runtime of its own, reporting after
/// each and waiting for a go before the next (so that the test can count connections while
/// the thread's runtime is alive), then ends.
fn worker(
    store: RedisSessionStore,
    local_set: bool,
    rounds: usize,
    done: mpsc::Sender<()>,
    go: mpsc::Receiver<()>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let runtime = runtime();
        for _ in 0..rounds {
            if local_set {
                LocalSet::new().block_on(&runtime, exercise_concurrently(&store, 20, 5));
            } else {
                runtime.block_on(async {
                    session_core::test_util::run_conformance_suite(&store).await;
                    exercise(&store, 20).await;
                });
            }
            done.send(()).expect("report");
            go.recv().expect("wait");
        }
    })
}

#[test]
fn each_thread_opens_one_connection_on_first_use_and_keeps_it() {
    let Some(server) = private_server("each_thread_opens_one_connection", &[]) else {
        return;
    };
    let main = runtime();
    let store = main.block_on(store_on(&server, "per-thread"));
    expect_connections(&main, &server, 1, "after build");

    let (done, finished) = mpsc::channel();
    let mut gos = Vec::new();
    let mut workers = Vec::new();
    for local_set in [false, true] {
        let (go, wait) = mpsc::channel();
        gos.push(go);
        workers.push(worker(store.clone(), local_set, 2, done.clone(), wait));
    }
    for round in 1..=2 {
        for _ in &workers {
            finished
                .recv_timeout(Duration::from_secs(30))
                .expect("a worker finished its round");
        }
        // The startup connection, and one per worker thread however many operations (and
        // concurrent first operations) it ran.
        expect_connections(&main, &server, 3, &format!("after round {round}"));
        for go in &gos {
            go.send(()).expect("go");
        }
    }
    for worker in workers {
        worker.join().expect("worker thread");
    }
    // The workers' runtimes ended with their threads: their connections closed.
    expect_connections(&main, &server, 1, "after the workers ended");

    // The building thread still uses the startup connection.
    main.block_on(exercise(&store, 5));
    expect_connections(
        &main,
        &server,
        1,
        "after using the store on the main thread",
    );
}

#[test]
fn a_later_runtime_on_the_same_thread_gets_a_connection_of_its_own() {
    let Some(server) = private_server("a_later_runtime", &[]) else {
        return;
    };
    let main = runtime();
    let store = main.block_on(store_on(&server, "later-runtime"));
    let (done, finished) = mpsc::channel();
    let (go, wait) = mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let id = SessionId::generate();
        let first = runtime();
        first.block_on(async {
            store.save(&id, "v1", TTL).await.expect("save");
            exercise(&store, 3).await;
        });
        drop(first);
        done.send(()).expect("report");
        wait.recv().expect("wait");

        let second = runtime();
        second.block_on(async {
            // First operation on the new runtime, the one never sent twice: it must not meet
            // the connection of the runtime that ended.
            assert!(
                store
                    .compare_and_swap(&id, "v1", "v2", TTL)
                    .await
                    .expect("compare_and_swap")
            );
            exercise(&store, 3).await;
        });
        done.send(()).expect("report");
        wait.recv().expect("wait");
        drop(second);
    });

    finished
        .recv_timeout(Duration::from_secs(30))
        .expect("first runtime");
    expect_connections(&main, &server, 1, "after the first runtime ended");
    go.send(()).expect("go");
    finished
        .recv_timeout(Duration::from_secs(30))
        .expect("second runtime");
    expect_connections(&main, &server, 2, "with the second runtime");
    go.send(()).expect("go");
    thread.join().expect("thread");
    expect_connections(&main, &server, 1, "after the thread ended");
}

#[test]
fn a_dropped_store_closes_its_connections_at_the_next_operation_of_each_thread() {
    let Some(server) = private_server("a_dropped_store_closes", &[]) else {
        return;
    };
    let main = runtime();
    let (dropped, kept) = main.block_on(async {
        (
            store_on(&server, "dropped").await,
            store_on(&server, "kept").await,
        )
    });
    let (done, finished) = mpsc::channel();
    let (go, wait) = mpsc::channel::<()>();
    let thread = {
        let kept = kept.clone();
        std::thread::spawn(move || {
            let runtime = runtime();
            runtime.block_on(async {
                exercise(&dropped, 1).await;
                exercise(&kept, 1).await;
            });
            drop(dropped);
            done.send(()).expect("report");
            wait.recv().expect("wait");
            runtime.block_on(exercise(&kept, 1));
            done.send(()).expect("report");
            wait.recv().expect("wait");
        })
    };
    finished
        .recv_timeout(Duration::from_secs(30))
        .expect("work");
    // Two stores: a startup connection each, and one each on the thread. The main thread
    // still holds `dropped` through the tuple: drop its last clone.
    expect_connections(&main, &server, 4, "two stores on two threads");
    go.send(()).expect("go");
    finished
        .recv_timeout(Duration::from_secs(30))
        .expect("work");
    expect_connections(
        &main,
        &server,
        3,
        "the thread's connection of the dropped store",
    );
    main.block_on(exercise(&kept, 1));
    expect_connections(
        &main,
        &server,
        2,
        "the startup connection of the dropped store",
    );
    go.send(()).expect("go");
    thread.join().expect("thread");
}

#[test]
fn a_multi_thread_runtime_works_with_a_connection_per_worker() {
    let Some(server) = private_server("a_multi_thread_runtime", &[]) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let store = runtime.block_on(store_on(&server, "multi-thread"));
    runtime.block_on(async {
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { exercise(&store, 10).await })
            })
            .collect();
        for task in join_all(tasks).await {
            task.expect("task");
        }
    });
    // The startup connection (made by `block_on`'s thread), and at most one per worker.
    let count = runtime.block_on(connections(&server));
    assert!((2..=3).contains(&count), "{count} connections");
}

#[test]
fn a_store_used_outside_a_runtime_fails_without_panicking() {
    let Some(server) = private_server("a_store_used_outside_a_runtime", &[]) else {
        return;
    };
    let main = runtime();
    let store = main.block_on(store_on(&server, "outside"));
    let result =
        std::thread::spawn(move || futures::executor::block_on(store.load(&SessionId::generate())))
            .join()
            .expect("no panic");
    assert!(matches!(result, Err(StoreError::Backend(_))), "{result:?}");

    let built = futures::executor::block_on(RedisSessionStore::new(server.url()));
    assert!(
        matches!(
            built,
            Err(session_redis::RedisStoreError::InvalidConfig { .. })
        ),
        "{built:?}"
    );
}
