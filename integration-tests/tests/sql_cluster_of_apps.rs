//! Several instances of `session-cookie-server` sharing one database (`DATABASE_URL`): a
//! real PostgreSQL, or one SQLite file; and what happens when PostgreSQL goes away and comes
//! back.

use std::time::{Duration, Instant};

use integration_tests::{COOKIE_SERVER, Example, Server, Twin, fetch, signing_key_hex};
use session_sql::test_util::{postgres, private_server};

const NAME: &str = "cart_session";
const CART: &str = "Product IDs: [1, 3, 7]";
const EMPTY: &str = "Your basket is empty.";

fn instance(twin: Twin, url: &str, key: &str) -> Server {
    Example::new(twin.of(COOKIE_SERVER))
        .env("SESSION_SIGNING_KEY", key)
        .env("DATABASE_URL", url)
        .start()
}

/// A login on one instance is seen by the other, and a logout on either ends it on both.
async fn instances_share_sessions_and_logouts(first: &Server, second: &Server) {
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

async fn two_instances_on_one_postgres_share_sessions_and_logouts(twin: Twin) {
    let Some(postgres) = postgres("two_instances_on_one_postgres") else {
        return;
    };
    let key = signing_key_hex();
    let first = instance(twin, &postgres.url, &key);
    let second = instance(twin, &postgres.url, &key);
    first.wait_for_stderr("sessions are kept in a database");
    instances_share_sessions_and_logouts(&first, &second).await;
}

async fn two_instances_on_one_sqlite_file_share_sessions_and_logouts(twin: Twin) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sessions.db").display());
    let key = signing_key_hex();
    let first = instance(twin, &url, &key);
    let second = instance(twin, &url, &key);
    instances_share_sessions_and_logouts(&first, &second).await;
    assert!(dir.path().join("sessions.db").is_file());
}

async fn requests_fail_fast_while_postgres_is_down_and_recover_without_a_restart(twin: Twin) {
    let Some(mut postgres) = private_server("fail_fast_and_recover_postgres") else {
        return;
    };
    let server = instance(twin, &postgres.url(), &signing_key_hex());
    let cookie = fetch(server.get("/login")).await.only_cookie(NAME);
    assert_eq!(
        fetch(server.get_with_cookie("/cart", &cookie)).await.body,
        CART
    );

    postgres.stop();
    let mut slowest = Duration::ZERO;
    for _ in 0..3 {
        let started = Instant::now();
        let reply = fetch(server.get_with_cookie("/cart", &cookie)).await;
        slowest = slowest.max(started.elapsed());
        assert_eq!(reply.status, 500, "{reply:?}");
        assert_eq!(
            reply.body, "",
            "nothing about the database reaches the client"
        );
    }
    eprintln!("postgres down: slowest failed request took {slowest:?}");
    assert!(
        slowest < Duration::from_secs(3),
        "requests must fail fast, took {slowest:?}"
    );

    postgres.restart();
    let started = Instant::now();
    loop {
        let reply = fetch(server.get_with_cookie("/cart", &cookie)).await;
        if reply.status == 200 {
            assert_eq!(reply.body, CART, "the session survived the restart");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no recovery: {reply:?}"
        );
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "postgres back: the same process served again after {:?}",
        started.elapsed()
    );
}

async fn an_unreachable_database_stops_the_start_without_printing_the_url(twin: Twin) {
    let exited = Example::new(twin.of(COOKIE_SERVER))
        .env("SESSION_SIGNING_KEY", signing_key_hex())
        .env("DATABASE_URL", "postgres://app:hunter2@127.0.0.1:1/app")
        .run_to_exit();
    assert_eq!(exited.status.code(), Some(1), "{exited:?}");
    assert!(
        exited.stderr.contains("Error: database: "),
        "{}",
        exited.stderr
    );
    assert!(!exited.stderr.contains("hunter2"), "{}", exited.stderr);
}

/// An actix-web instance and an axum one on one database: each sees the sessions the other
/// starts and ends.
#[actix_rt::test]
async fn the_twins_share_sessions_through_postgres() {
    let Some(postgres) = postgres("twins_share_sessions_postgres") else {
        return;
    };
    let key = signing_key_hex();
    let actix = instance(Twin::Actix, &postgres.url, &key);
    let axum = instance(Twin::Axum, &postgres.url, &key);
    instances_share_sessions_and_logouts(&actix, &axum).await;
    instances_share_sessions_and_logouts(&axum, &actix).await;
}

integration_tests::twin_tests!(
    two_instances_on_one_postgres_share_sessions_and_logouts,
    two_instances_on_one_sqlite_file_share_sessions_and_logouts,
    requests_fail_fast_while_postgres_is_down_and_recover_without_a_restart,
    an_unreachable_database_stops_the_start_without_printing_the_url,
);
