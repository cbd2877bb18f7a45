//! The store on a real three-node Redis Cluster, formed by the test from private servers.
#![cfg(feature = "cluster")]

mod common;

use std::time::{Duration, Instant};

use session_core::{SessionId, SessionStore};
use session_redis::RedisSessionStore;

use common::{RedisServer, free_port, private_server, raw, unique_prefix};

/// Three masters splitting the 16384 slots, no replicas; `None` when skipped.
async fn cluster(test: &str) -> Option<Vec<RedisServer>> {
    let mut nodes = Vec::new();
    let mut bus_ports = Vec::new();
    for _ in 0..3 {
        // An explicit bus port: the default (port + 10000) overflows for ephemeral ports.
        let bus_port = free_port().to_string();
        let args = [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-port",
            &bus_port,
        ];
        nodes.push(private_server(test, &args)?);
        bus_ports.push(bus_port);
    }
    let ranges = [(0, 5460), (5461, 10922), (10923, 16383)];
    for (node, (first, last)) in nodes.iter().zip(ranges) {
        let mut connection = raw(&node.url()).await;
        let () = redis::cmd("CLUSTER")
            .arg("ADDSLOTSRANGE")
            .arg(first)
            .arg(last)
            .query_async(&mut connection)
            .await
            .expect("assign slots");
    }
    let mut first = raw(&nodes[0].url()).await;
    for (node, bus_port) in nodes.iter().zip(&bus_ports).skip(1) {
        let () = redis::cmd("CLUSTER")
            .arg("MEET")
            .arg("127.0.0.1")
            .arg(node.port())
            .arg(bus_port)
            .query_async(&mut first)
            .await
            .expect("meet");
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    for node in &nodes {
        let mut connection = raw(&node.url()).await;
        loop {
            let info: String = redis::cmd("CLUSTER")
                .arg("INFO")
                .query_async(&mut connection)
                .await
                .expect("cluster info");
            if info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:3") {
                break;
            }
            assert!(Instant::now() < deadline, "cluster did not form:\n{info}");
            actix_rt::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Some(nodes)
}

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
    // connection, so each node sees at most the startup connection and one per thread.
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
        assert!(count <= 3, "node {}: {count} connections", node.port());
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
