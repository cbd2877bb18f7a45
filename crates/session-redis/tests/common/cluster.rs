//! A three-node Redis Cluster formed by a test from private servers.

use std::time::{Duration, Instant};

use super::{RedisServer, free_port, private_server, raw};

/// Three started servers in cluster mode, not yet a cluster: [`Nodes::form`] makes one.
pub struct Nodes {
    servers: Vec<RedisServer>,
    bus_ports: Vec<String>,
}

/// A formed cluster: three masters splitting the 16384 slots, no replicas; `None` when skipped.
pub async fn cluster(test: &str) -> Option<Vec<RedisServer>> {
    Some(start_nodes(test)?.form().await)
}

/// Starts three servers in cluster mode; `None` when skipped.
pub fn start_nodes(test: &str) -> Option<Nodes> {
    let mut servers = Vec::new();
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
        servers.push(private_server(test, &args)?);
        bus_ports.push(bus_port);
    }
    Some(Nodes { servers, bus_ports })
}

impl Nodes {
    /// The servers' ports, in order.
    pub fn ports(&self) -> Vec<u16> {
        self.servers.iter().map(RedisServer::port).collect()
    }

    /// Makes each node tell clients (in `CLUSTER SLOTS`, `MOVED`, `ASK`) that it listens on
    /// the given port instead of its own, as behind a proxy; the cluster bus is unchanged.
    pub async fn announce_ports(&self, ports: &[u16]) {
        for (server, port) in self.servers.iter().zip(ports) {
            let mut connection = raw(&server.url()).await;
            let () = redis::cmd("CONFIG")
                .arg("SET")
                .arg("cluster-announce-port")
                .arg(port)
                .query_async(&mut connection)
                .await
                .expect("announce a port");
        }
    }

    /// Assigns the slots, introduces the nodes, and waits until every node sees a healthy
    /// cluster of three.
    pub async fn form(self) -> Vec<RedisServer> {
        let ranges = [(0, 5460), (5461, 10922), (10923, 16383)];
        for (node, (first, last)) in self.servers.iter().zip(ranges) {
            let mut connection = raw(&node.url()).await;
            let () = redis::cmd("CLUSTER")
                .arg("ADDSLOTSRANGE")
                .arg(first)
                .arg(last)
                .query_async(&mut connection)
                .await
                .expect("assign slots");
        }
        let mut first = raw(&self.servers[0].url()).await;
        for (node, bus_port) in self.servers.iter().zip(&self.bus_ports).skip(1) {
            let () = redis::cmd("CLUSTER")
                .arg("MEET")
                .arg("127.0.0.1")
                .arg(node.port())
                .arg(bus_port)
                .query_async(&mut first)
                .await
                .expect("meet");
        }
        for node in &self.servers {
            wait_until_healthy(node).await;
        }
        self.servers
    }
}

async fn wait_until_healthy(node: &RedisServer) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut connection = raw(&node.url()).await;
    loop {
        let info: String = redis::cmd("CLUSTER")
            .arg("INFO")
            .query_async(&mut connection)
            .await
            .expect("cluster info");
        if info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:3") {
            return;
        }
        assert!(Instant::now() < deadline, "cluster did not form:\n{info}");
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A node's cluster ID.
pub async fn node_id(node: &RedisServer) -> String {
    let mut connection = raw(&node.url()).await;
    redis::cmd("CLUSTER")
        .arg("MYID")
        .query_async(&mut connection)
        .await
        .expect("CLUSTER MYID")
}
