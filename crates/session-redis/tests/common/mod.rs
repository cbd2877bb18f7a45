//! Where the tests find a real Redis: see `session_redis::test_util`.
#![allow(dead_code, unreachable_pub)]

#[cfg(feature = "cluster")]
pub mod cluster;
pub mod proxy;

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use session_core::{SessionId, SessionStore, StoreError};
pub use session_redis::test_util::*;

/// A piece of the store's compare-and-swap script, found in its `EVAL` command and in no
/// other command (for [`proxy::Proxy::lose_reply_to`]).
pub const CAS_MARKER: &[u8] = b"text == ARGV[1]";

/// A plain connection of the test's own, to look at what the store wrote.
pub async fn raw(url: &str) -> MultiplexedConnection {
    redis::Client::open(url)
        .expect("valid URL")
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection to Redis")
}

/// A key prefix no other test (or earlier run on a shared Redis) uses.
pub fn unique_prefix(test: &str) -> String {
    format!("test:{test}:{}:", &SessionId::generate().as_str()[..10])
}

/// What `update` does to a counter: read it, add one, swap; again on a conflict.
pub async fn increment<S: SessionStore>(
    store: &S,
    id: &SessionId,
    ttl: Duration,
) -> Result<(), StoreError> {
    loop {
        let current = store.load(id).await?.expect("counter exists");
        let next = (current.parse::<u64>().expect("a number") + 1).to_string();
        if store.compare_and_swap(id, &current, &next, ttl).await? {
            return Ok(());
        }
    }
}
