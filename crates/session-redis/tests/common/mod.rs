//! Where the tests find a real Redis: see `session_redis::test_util`.
#![allow(dead_code, unreachable_pub)]

use redis::aio::MultiplexedConnection;
use session_core::SessionId;
pub use session_redis::test_util::*;

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
