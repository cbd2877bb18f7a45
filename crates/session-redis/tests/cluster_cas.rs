//! Compare-and-swap on a real Redis Cluster: never applied twice when its reply is lost,
//! and still following the cluster's redirections (a slot moving between nodes).
#![cfg(feature = "cluster")]

mod common;

use std::time::Duration;

use session_core::{SessionId, SessionStore, StoreError};
use session_redis::RedisSessionStore;

use common::cluster::{cluster, node_id, start_nodes};
use common::proxy::Proxy;
use common::{CAS_MARKER, RedisServer, increment, raw, unique_prefix};

const TTL: Duration = Duration::from_secs(60);

async fn store_on(node_url: String, test: &str) -> RedisSessionStore {
    RedisSessionStore::cluster_builder([node_url])
        .key_prefix(unique_prefix(test))
        .build()
        .await
        .expect("connect to the cluster")
}

/// Issue #11, item 9. The cluster client retries a command after a dropped connection; for
/// a swap that ran but whose reply was lost, the retry finds its own result, reports a
/// conflict, and the caller applies its change a second time. The swap must instead fail,
/// having been applied once.
#[actix_rt::test]
async fn a_swap_whose_reply_is_lost_fails_and_is_applied_once() {
    let Some(nodes) = start_nodes("cluster_lost_swap_reply") else {
        return;
    };
    // Every node behind a proxy of its own, and announced as the proxy to clients, so that
    // all the store's traffic passes through the proxies.
    let mut proxies = Vec::new();
    for port in nodes.ports() {
        proxies.push(Proxy::start(port).await);
    }
    let proxy_ports: Vec<u16> = proxies.iter().map(Proxy::port).collect();
    nodes.announce_ports(&proxy_ports).await;
    let nodes = nodes.form().await;
    let store = store_on(format!("redis://127.0.0.1:{}", proxy_ports[0]), "lost").await;

    let id = SessionId::generate();
    store.save(&id, "0", TTL).await.unwrap();
    let key = format!("{}{}", store.key_prefix(), id.as_str());
    let owner = slot_owner(&nodes, &key).await;
    proxies[owner].lose_reply_to(CAS_MARKER);
    let result = increment(&store, &id, TTL).await;
    assert_eq!(
        proxies[owner].lost_replies(),
        1,
        "the swap's reply was lost"
    );
    let counter = store.load(&id).await.unwrap();
    assert_eq!(counter.as_deref(), Some("1"), "applied once; {result:?}");
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "the caller learns that the swap's outcome is unknown: {result:?}"
    );

    // The next swap goes through.
    increment(&store, &id, TTL)
        .await
        .expect("the next increment");
    assert_eq!(store.load(&id).await.unwrap().as_deref(), Some("2"));
}

/// Compare-and-swap is sent on a connection without the cluster client's retries, which
/// would also have followed the redirections of a slot migration: the store follows them
/// itself. `ASK` while the slot migrates (the key has moved, the slot not yet), then `MOVED`
/// once the slot belongs to its new node (the store's slot map is then out of date).
#[actix_rt::test]
async fn a_swap_follows_ask_and_moved_redirections() {
    let Some(nodes) = cluster("cluster_swap_redirections").await else {
        return;
    };
    let store = store_on(nodes[0].url(), "redirect").await;
    let id = SessionId::generate();
    store.save(&id, "0", TTL).await.unwrap();
    let key = format!("{}{}", store.key_prefix(), id.as_str());

    let slot = key_slot(&nodes[0], &key).await;
    let owner = slot_owner(&nodes, &key).await;
    let (source, target) = (&nodes[owner], &nodes[(owner + 1) % nodes.len()]);
    let (source_id, target_id) = (node_id(source).await, node_id(target).await);
    let mut source_connection = raw(&source.url()).await;
    set_slot(target, slot, "IMPORTING", &source_id).await;
    set_slot(source, slot, "MIGRATING", &target_id).await;
    let moved: String = redis::cmd("MIGRATE")
        .arg("127.0.0.1")
        .arg(target.port())
        .arg(&key)
        .arg(0)
        .arg(5000)
        .query_async(&mut source_connection)
        .await
        .expect("MIGRATE");
    assert_eq!(moved, "OK");

    increment(&store, &id, TTL)
        .await
        .expect("a swap through ASK");
    assert_eq!(stored_on(target, &key).await.as_deref(), Some("1"));

    for node in &nodes {
        set_slot(node, slot, "NODE", &target_id).await;
    }
    increment(&store, &id, TTL)
        .await
        .expect("a swap through MOVED");
    assert_eq!(stored_on(target, &key).await.as_deref(), Some("2"));
    assert_eq!(store.load(&id).await.unwrap().as_deref(), Some("2"));
}

/// The hash slot of `key`.
async fn key_slot(node: &RedisServer, key: &str) -> u16 {
    let mut connection = raw(&node.url()).await;
    redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(key)
        .query_async(&mut connection)
        .await
        .expect("CLUSTER KEYSLOT")
}

/// The index in `nodes` of the node holding `key`'s slot, from the slot ranges
/// [`Nodes::form`](common::cluster::Nodes::form) assigned in node order.
async fn slot_owner(nodes: &[RedisServer], key: &str) -> usize {
    let slot = key_slot(&nodes[0], key).await;
    usize::from(slot > 5460) + usize::from(slot > 10922)
}

async fn set_slot(node: &RedisServer, slot: u16, state: &str, node_id: &str) {
    let mut connection = raw(&node.url()).await;
    let () = redis::cmd("CLUSTER")
        .arg("SETSLOT")
        .arg(slot)
        .arg(state)
        .arg(node_id)
        .query_async(&mut connection)
        .await
        .unwrap_or_else(|error| panic!("CLUSTER SETSLOT {slot} {state}: {error}"));
}

/// The text stored under `key` on `node` itself (asked with `ASKING`, so an importing node
/// answers too).
async fn stored_on(node: &RedisServer, key: &str) -> Option<String> {
    let mut connection = raw(&node.url()).await;
    let (value,): (Option<String>,) = redis::pipe()
        .cmd("ASKING")
        .ignore()
        .cmd("GET")
        .arg(key)
        .query_async(&mut connection)
        .await
        .expect("GET on the node");
    value.map(|value| {
        value
            .split_once(' ')
            .expect("@<expiry> <text>")
            .1
            .to_owned()
    })
}
