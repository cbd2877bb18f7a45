//! The store on a real three-node Redis Cluster, formed by the test from private servers.
#![cfg(feature = "cluster")]

mod common;

use std::time::{Duration, Instant};

use session_core::{SessionId, SessionStore};
use session_redis::RedisSessionStore;

use common::cluster::cluster;
use common::{raw, unique_prefix};

#[actix_rt::test]
async fn conformance_suite_passes_on_a_cluster_and_keys_spread_over_nodes() {
    let started = Instant::now();
    let Some(nodes) = cluster("cluster_conformance").await else {
        return;
    };
    eprintln!("cluster formed in {:?}", started.elapsed());
    // One node is enough: the client discovers the others and the slot map.
    let prefix = unique_prefix("cluster");
    let store = RedisSessionStore::cluster_builder([nodes[0].url()])
        .key_prefix(&prefix)
        .build()
        .await
        .expect("connect to the cluster");
    assert!(format!("{store:?}").contains("cluster"));

    session_core::test_util::run_conformance_suite(&store).await;
    session_core::test_util::run_concurrent_update_check(&store, 4, 20).await;

    let ids: Vec<SessionId> = (0..30).map(|_| SessionId::generate()).collect();
    for id in &ids {
        store
            .save(id, id.as_str(), Duration::from_secs(60))
            .await
            .unwrap();
    }
    for id in &ids {
        assert_eq!(store.load(id).await.unwrap().as_deref(), Some(id.as_str()));
        assert!(store.touch(id, Duration::from_secs(120)).await.unwrap());
    }
    for node in &nodes {
        let mut connection = raw(&node.url()).await;
        let keys: i64 = redis::cmd("DBSIZE")
            .query_async(&mut connection)
            .await
            .unwrap();
        assert!(keys > 0, "node {} holds none of 30 sessions", node.port());
    }
    for id in &ids {
        store.delete(id).await.unwrap();
        assert_eq!(store.load(id).await.unwrap(), None);
    }

    // From two other threads, each with a runtime of its own: each opens its own cluster
    // connection, so each node sees at most the startup connection, the startup thread's
    // connection for compare-and-swap (the suites above swapped), and one per thread (which
    // never swaps, so has no second one).
    let (done, finished) = std::sync::mpsc::channel();
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (store, done) = (store.clone(), done.clone());
            let ids: Vec<SessionId> = (0..30).map(|_| SessionId::generate()).collect();
            let (go, wait) = std::sync::mpsc::channel::<()>();
            let thread = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async {
                    for id in &ids {
                        store.save(id, "t", Duration::from_secs(60)).await.unwrap();
                        assert_eq!(store.load(id).await.unwrap().as_deref(), Some("t"));
                        store.delete(id).await.unwrap();
                    }
                });
                done.send(()).expect("report");
                wait.recv().expect("wait");
            });
            (thread, go)
        })
        .collect();
    for _ in &workers {
        finished
            .recv_timeout(Duration::from_secs(30))
            .expect("a worker finished");
    }
    let mut total = 0;
    for node in &nodes {
        let count = connections(&node.url()).await;
        assert!(count <= 4, "node {}: {count} connections", node.port());
        total += count;
    }
    assert!(
        total > nodes.len(),
        "the threads opened connections: {total}"
    );
    for (thread, go) in workers {
        go.send(()).expect("go");
        thread.join().expect("worker thread");
    }
}

/// How many connections a node has, other than the ones asking (and the cluster bus).
async fn connections(url: &str) -> usize {
    let mut observer = raw(url).await;
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut observer)
        .await
        .expect("CLIENT LIST");
    list.lines()
        .filter(|line| !line.contains("cmd=client|list"))
        .count()
}
