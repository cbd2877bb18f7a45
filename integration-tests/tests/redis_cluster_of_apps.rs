//! Several instances of `session-cookie-server` sharing one real Redis, and what happens when
//! Redis goes away and comes back.

use std::time::{Duration, Instant};

use integration_tests::{COOKIE_SERVER, Example, Server, Twin, fetch, signing_key_hex};
use session_redis::test_util::{RedisServer, private_server};

const NAME: &str = "cart_session";
const CART: &str = "Product IDs: [1, 3, 7]";
const EMPTY: &str = "Your basket is empty.";

fn instance(twin: Twin, url: &str, key: &str) -> Server {
    Example::new(twin.of(COOKIE_SERVER))
        .env("SESSION_SIGNING_KEY", key)
        .env("REDIS_URL", url)
        .start()
}

async fn a_login_on_one_instance_is_seen_by_another_and_logout_everywhere(twin: Twin) {
    let Some(redis) = private_server("instances_share_sessions", &[]) else {
        return;
    };
    let key = signing_key_hex();
    let first = instance(twin, &redis.url(), &key);
    let second = instance(twin, &redis.url(), &key);
    assert_ne!(first.base(), second.base());

    let login = fetch(first.get("/login")).await;
    assert_eq!(login.status, 302);
    let cookie = login.only_cookie(NAME);
    assert_eq!(
        fetch(second.get_with_cookie("/cart", &cookie)).await.body,
        CART
    );
    assert_eq!(
        fetch(first.get_with_cookie("/cart", &cookie)).await.body,
        CART
    );

    let logout = fetch(second.get_with_cookie("/logout", &cookie)).await;
    assert_eq!(logout.status, 302);
    assert_eq!(
        fetch(first.get_with_cookie("/cart", &cookie)).await.body,
        EMPTY
    );
    assert_eq!(
        fetch(second.get_with_cookie("/cart", &cookie)).await.body,
        EMPTY
    );
}

/// As a newcomer runs them: two instances started at once in one directory with no key
/// variable share sessions, through the development key file the first start makes.
async fn instances_started_in_one_directory_without_a_key_share_sessions(twin: Twin) {
    let Some(redis) = private_server("instances_without_a_key_share_sessions", &[]) else {
        return;
    };
    let first = Example::new(twin.of(COOKIE_SERVER)).env("REDIS_URL", redis.url());
    let second = Example::new(twin.of(COOKIE_SERVER))
        .same_workdir(&first)
        .env("REDIS_URL", redis.url());
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(|| first.start());
        let second = scope.spawn(|| second.start());
        (first.join().unwrap(), second.join().unwrap())
    });
    for server in [&first, &second] {
        server.wait_for_stderr("development key file");
    }

    let cookie = fetch(first.get("/login")).await.only_cookie(NAME);
    assert_eq!(
        fetch(second.get_with_cookie("/cart", &cookie)).await.body,
        CART
    );
    let cookie = fetch(second.get("/login")).await.only_cookie(NAME);
    assert_eq!(
        fetch(first.get_with_cookie("/cart", &cookie)).await.body,
        CART
    );
}

async fn requests_fail_fast_while_redis_is_down_and_recover_without_a_restart(twin: Twin) {
    let Some(redis) = private_server("fail_fast_and_recover", &[]) else {
        return;
    };
    let port = redis.port();
    let server = instance(twin, &redis.url(), &signing_key_hex());
    let cookie = fetch(server.get("/login")).await.only_cookie(NAME);
    assert_eq!(
        fetch(server.get_with_cookie("/cart", &cookie)).await.body,
        CART
    );

    drop(redis);
    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        let started = Instant::now();
        let reply = fetch(server.get_with_cookie("/cart", &cookie)).await;
        let took = started.elapsed();
        slowest = slowest.max(took);
        assert_eq!(reply.status, 500, "{reply:?}");
        assert_eq!(reply.body, "", "nothing about Redis reaches the client");
    }
    eprintln!("redis down: slowest failed request took {slowest:?}");
    assert!(
        slowest < Duration::from_secs(3),
        "requests must fail fast, took {slowest:?}"
    );
    assert_eq!(
        fetch(server.get("/login")).await.status,
        500,
        "logging in needs Redis too"
    );

    let redis = RedisServer::restart_on(port, &[]);
    let started = Instant::now();
    let cookie = loop {
        let reply = fetch(server.get("/login")).await;
        if reply.status == 302 {
            break reply.only_cookie(NAME);
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no recovery: {reply:?}"
        );
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!(
        "redis back: the same process served again after {:?}",
        started.elapsed()
    );
    assert_eq!(
        fetch(server.get_with_cookie("/cart", &cookie)).await.body,
        CART
    );
    drop(redis);
}

async fn a_hung_redis_costs_one_response_timeout_not_a_hang(twin: Twin) {
    let Some(redis) = private_server("hung_redis", &[]) else {
        return;
    };
    let server = instance(twin, &redis.url(), &signing_key_hex());
    let cookie = fetch(server.get("/login")).await.only_cookie(NAME);
    redis.signal("STOP");
    let started = Instant::now();
    let reply = fetch(server.get_with_cookie("/cart", &cookie)).await;
    let took = started.elapsed();
    redis.signal("CONT");
    eprintln!("redis hung: the request failed after {took:?}");
    assert_eq!(reply.status, 500);
    assert!(
        took < Duration::from_secs(3),
        "bounded by the 1 s response timeout, took {took:?}"
    );
    assert_eq!(
        fetch(server.get_with_cookie("/cart", &cookie)).await.body,
        CART
    );
}

/// An actix-web instance and an axum one behind the same load balancer: each sees the
/// sessions the other starts and ends.
#[actix_rt::test]
async fn the_twins_share_sessions_through_redis() {
    let Some(redis) = private_server("twins_share_sessions", &[]) else {
        return;
    };
    let key = signing_key_hex();
    let actix = instance(Twin::Actix, &redis.url(), &key);
    let axum = instance(Twin::Axum, &redis.url(), &key);
    for (first, second) in [(&actix, &axum), (&axum, &actix)] {
        let login = fetch(first.get("/login")).await;
        assert_eq!(login.status, 302);
        let cookie = login.only_cookie(NAME);
        assert_eq!(
            fetch(second.get_with_cookie("/cart", &cookie)).await.body,
            CART
        );
        let logout = fetch(second.get_with_cookie("/logout", &cookie)).await;
        assert_eq!(logout.status, 302);
        assert_eq!(
            fetch(first.get_with_cookie("/cart", &cookie)).await.body,
            EMPTY
        );
    }
}

integration_tests::twin_tests!(
    a_login_on_one_instance_is_seen_by_another_and_logout_everywhere,
    instances_started_in_one_directory_without_a_key_share_sessions,
    requests_fail_fast_while_redis_is_down_and_recover_without_a_restart,
    a_hung_redis_costs_one_response_timeout_not_a_hang,
);
