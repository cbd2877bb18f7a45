//! A TCP proxy on loopback in front of a Redis server, which can lose the reply to one
//! command: the command reaches the server and runs, then the proxy closes the client's
//! connection instead of forwarding the answer, as a network failure at the worst moment would.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The proxy; it stops accepting when dropped (open relays end with their connections).
pub struct Proxy {
    port: u16,
    trap: Arc<Trap>,
    accept: JoinHandle<()>,
}

/// The command whose reply is to be lost, and how many replies were.
#[derive(Default)]
struct Trap {
    armed: Mutex<Option<&'static [u8]>>,
    sprung: AtomicUsize,
}

impl Trap {
    /// True (once) when `chunk`, sent by the client, holds the armed marker.
    fn catches(&self, chunk: &[u8]) -> bool {
        let mut armed = self.armed.lock().expect("trap lock");
        let caught = armed.is_some_and(|marker| chunk.windows(marker.len()).any(|w| w == marker));
        if caught {
            *armed = None;
        }
        caught
    }
}

impl Proxy {
    /// A proxy on a free loopback port, forwarding to `127.0.0.1:<target>`.
    pub async fn start(target: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let trap = Arc::new(Trap::default());
        let shared = Arc::clone(&trap);
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, target, Arc::clone(&shared)));
            }
        });
        Self { port, trap, accept }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The next command whose bytes contain `marker` is forwarded, but once the server
    /// answers it, the client's connection is closed and the answer is lost.
    pub fn lose_reply_to(&self, marker: &'static [u8]) {
        *self.trap.armed.lock().expect("trap lock") = Some(marker);
    }

    /// How many replies were lost so far.
    pub fn lost_replies(&self) -> usize {
        self.trap.sprung.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Forwards both ways until either side closes, or until the reply to a trapped command
/// arrives: then both connections are dropped without forwarding it.
async fn relay(mut client: TcpStream, target: u16, trap: Arc<Trap>) {
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", target)).await else {
        return;
    };
    let (mut from_client, mut from_server) = (vec![0; 64 * 1024], vec![0; 64 * 1024]);
    let mut losing = false;
    loop {
        tokio::select! {
            read = client.read(&mut from_client) => {
                let Ok(n @ 1..) = read else { return };
                // Set before the command is forwarded, so the reply cannot slip through.
                losing |= trap.catches(&from_client[..n]);
                if server.write_all(&from_client[..n]).await.is_err() {
                    return;
                }
            }
            read = server.read(&mut from_server) => {
                let Ok(n @ 1..) = read else { return };
                if losing {
                    // The server ran the command: its answer dies with the connection.
                    trap.sprung.fetch_add(1, Ordering::SeqCst);
                    return;
                }
                if client.write_all(&from_server[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}
