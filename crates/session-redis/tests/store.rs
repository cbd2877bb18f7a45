//! The store against a real Redis: the contract, keys, native expiry, credentials, concurrency.

mod common;

use std::time::{Duration, SystemTime};

use futures::future::join_all;
use redis::AsyncCommands;
use session_core::{SessionId, SessionStore, StoreError};
use session_redis::{RedisSessionStore, RedisStoreError};

use common::{private_server, raw, redis, unique_prefix};

async fn store_with_prefix(url: &str, prefix: &str) -> RedisSessionStore {
    RedisSessionStore::builder(url)
        .key_prefix(prefix)
        .build()
        .await
        .expect("connect to Redis")
}

/// The text in a stored value: `@<expiry ms> <text>`, the layout this store writes, with the
/// expiry checked to be the key's own within a few seconds.
fn stored_text(stored: Option<String>) -> Option<String> {
    let stored = stored?;
    let (expiry, text) = stored
        .strip_prefix('@')
        .and_then(|rest| rest.split_once(' '))
        .expect("@<expiry> <text>");
    let expiry: u64 = expiry.parse().expect("expiry in milliseconds");
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    assert!(u128::from(expiry) > now, "expiry in the future: {expiry}");
    Some(text.to_owned())
}

#[actix_rt::test]
async fn conformance_suite_passes() {
    let Some(redis) = redis("conformance_suite_passes") else {
        return;
    };
    let store = store_with_prefix(&redis.url, &unique_prefix("conformance")).await;
    session_core::test_util::run_conformance_suite(&store).await;
}

#[actix_rt::test]
async fn keys_are_prefix_then_id_and_prefixes_keep_stores_apart() {
    let Some(redis) = redis("keys_are_prefix_then_id") else {
        return;
    };
    let prefix_a = unique_prefix("app-a");
    let prefix_b = unique_prefix("app-b");
    let a = store_with_prefix(&redis.url, &prefix_a).await;
    let b = store_with_prefix(&redis.url, &prefix_b).await;
    let mut raw = raw(&redis.url).await;
    let id = SessionId::generate();
    let ttl = Duration::from_secs(60);

    a.save(&id, "from a", ttl).await.unwrap();
    assert_eq!(
        b.load(&id).await.unwrap(),
        None,
        "b must not see a's session"
    );
    assert!(!b.touch(&id, ttl).await.unwrap());

    b.save(&id, "from b", ttl).await.unwrap();
    assert_eq!(a.load(&id).await.unwrap().as_deref(), Some("from a"));
    assert_eq!(b.load(&id).await.unwrap().as_deref(), Some("from b"));

    let key_a = format!("{prefix_a}{}", id.as_str());
    let key_b = format!("{prefix_b}{}", id.as_str());
    let raw_a: Option<String> = raw.get(&key_a).await.unwrap();
    let raw_b: Option<String> = raw.get(&key_b).await.unwrap();
    assert_eq!(stored_text(raw_a).as_deref(), Some("from a"));
    assert_eq!(stored_text(raw_b).as_deref(), Some("from b"));

    b.delete(&id).await.unwrap();
    assert_eq!(a.load(&id).await.unwrap().as_deref(), Some("from a"));
    assert!(!raw.exists::<_, bool>(&key_b).await.unwrap());
    a.delete(&id).await.unwrap();
    assert!(!raw.exists::<_, bool>(&key_a).await.unwrap());
}

#[actix_rt::test]
async fn default_prefix_is_session_colon() {
    let Some(redis) = redis("default_prefix_is_session_colon") else {
        return;
    };
    let store = RedisSessionStore::new(&redis.url).await.unwrap();
    assert_eq!(store.key_prefix(), "session:");
    let id = SessionId::generate();
    store.save(&id, "x", Duration::from_secs(5)).await.unwrap();
    let key = format!("session:{}", id.as_str());
    let mut raw = raw(&redis.url).await;
    let stored: Option<String> = raw.get(&key).await.unwrap();
    assert_eq!(stored_text(stored).as_deref(), Some("x"));
    store.delete(&id).await.unwrap();
}

#[actix_rt::test]
async fn entries_expire_natively_in_redis() {
    let Some(redis) = redis("entries_expire_natively_in_redis") else {
        return;
    };
    let prefix = unique_prefix("expiry");
    let store = store_with_prefix(&redis.url, &prefix).await;
    let mut raw = raw(&redis.url).await;
    let id = SessionId::generate();
    let key = format!("{prefix}{}", id.as_str());

    store
        .save(&id, "short", Duration::from_millis(300))
        .await
        .unwrap();
    let pttl: i64 = raw.pttl(&key).await.unwrap();
    assert!((1..=300).contains(&pttl), "PTTL right after save: {pttl}");

    // Nothing reads through the store from here on: Redis removes the key by itself.
    actix_rt::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !raw.exists::<_, bool>(&key).await.unwrap(),
        "key outlived its TTL"
    );
    assert_eq!(
        raw.pttl::<_, i64>(&key).await.unwrap(),
        -2,
        "PTTL of a missing key"
    );

    if redis.server.is_some() {
        // A private server holds no other key: its active expiry cycle evicts the entry
        // without any client touching it.
        let save_other = SessionId::generate();
        store
            .save(&save_other, "gone", Duration::from_millis(50))
            .await
            .unwrap();
        let mut dbsize: i64 = 1;
        for _ in 0..40 {
            actix_rt::time::sleep(Duration::from_millis(50)).await;
            dbsize = redis::cmd("DBSIZE").query_async(&mut raw).await.unwrap();
            if dbsize == 0 {
                break;
            }
        }
        assert_eq!(dbsize, 0, "expired keys must be evicted without being read");
    }
}

#[actix_rt::test]
async fn touch_extends_the_ttl_and_keeps_the_value() {
    let Some(redis) = redis("touch_extends_the_ttl_and_keeps_the_value") else {
        return;
    };
    let prefix = unique_prefix("touch");
    let store = store_with_prefix(&redis.url, &prefix).await;
    let mut raw = raw(&redis.url).await;
    let id = SessionId::generate();
    let key = format!("{prefix}{}", id.as_str());

    assert!(!store.touch(&id, Duration::from_secs(60)).await.unwrap());
    assert!(
        !raw.exists::<_, bool>(&key).await.unwrap(),
        "touch must not create"
    );

    store
        .save(&id, "kept", Duration::from_secs(1))
        .await
        .unwrap();
    let before: i64 = raw.pttl(&key).await.unwrap();
    assert!(before <= 1_000, "{before}");
    assert!(store.touch(&id, Duration::from_secs(60)).await.unwrap());
    let after: i64 = raw.pttl(&key).await.unwrap();
    assert!(
        (59_000..=60_000).contains(&after),
        "PTTL after touch: {after}"
    );
    let value: Option<String> = raw.get(&key).await.unwrap();
    assert_eq!(stored_text(value).as_deref(), Some("kept"));
    store.delete(&id).await.unwrap();
}

#[actix_rt::test]
async fn load_entry_reports_the_expiry_redis_keeps() {
    let Some(redis) = redis("load_entry_reports_the_expiry_redis_keeps") else {
        return;
    };
    let prefix = unique_prefix("entry");
    let store = store_with_prefix(&redis.url, &prefix).await;
    let mut raw = raw(&redis.url).await;
    let id = SessionId::generate();
    let key = format!("{prefix}{}", id.as_str());
    let close_to = |expires_at: Option<SystemTime>, ttl: Duration| {
        let expires_at = expires_at.expect("an expiry");
        let expected = SystemTime::now() + ttl;
        let gap = match expires_at.duration_since(expected) {
            Ok(later) => later,
            Err(earlier) => earlier.duration(),
        };
        assert!(gap < Duration::from_secs(2), "expiry off by {gap:?}");
    };

    assert_eq!(store.load_entry(&id).await.unwrap(), None);
    store
        .save(&id, "entry", Duration::from_secs(600))
        .await
        .unwrap();
    let entry = store.load_entry(&id).await.unwrap().expect("saved");
    assert_eq!(entry.text, "entry");
    close_to(entry.expires_at, Duration::from_secs(600));

    assert!(store.touch(&id, Duration::from_secs(60)).await.unwrap());
    close_to(
        store.load_entry(&id).await.unwrap().unwrap().expires_at,
        Duration::from_secs(60),
    );

    // A value in another form (written before the expiry was kept in the value, or by someone
    // else) is all text of unknown expiry; a touch keeps the text and gives it the form.
    let () = raw.set(&key, "older").await.unwrap();
    let entry = store.load_entry(&id).await.unwrap().expect("still there");
    assert_eq!((entry.text.as_str(), entry.expires_at), ("older", None));
    assert!(store.touch(&id, Duration::from_secs(60)).await.unwrap());
    let stored: Option<String> = raw.get(&key).await.unwrap();
    assert_eq!(stored_text(stored).as_deref(), Some("older"));
    let pttl: i64 = raw.pttl(&key).await.unwrap();
    assert!((59_000..=60_000).contains(&pttl), "{pttl}");
    close_to(
        store.load_entry(&id).await.unwrap().unwrap().expires_at,
        Duration::from_secs(60),
    );
    store.delete(&id).await.unwrap();
    assert_eq!(store.load_entry(&id).await.unwrap(), None);
}

#[actix_rt::test]
async fn compare_and_swap_sets_the_ttl_and_loses_no_concurrent_update() {
    let Some(redis) = redis("compare_and_swap") else {
        return;
    };
    let prefix = unique_prefix("cas");
    let store = store_with_prefix(&redis.url, &prefix).await;
    let mut raw = raw(&redis.url).await;
    let id = SessionId::generate();
    let key = format!("{prefix}{}", id.as_str());

    store.save(&id, "v1", Duration::from_secs(5)).await.unwrap();
    assert!(
        store
            .compare_and_swap(&id, "v1", "v2", Duration::from_secs(600))
            .await
            .unwrap()
    );
    let pttl: i64 = raw.pttl(&key).await.unwrap();
    assert!(
        (599_000..=600_000).contains(&pttl),
        "PTTL after swap: {pttl}"
    );
    // Texts are compared byte for byte, not as Lua numbers or trimmed strings.
    store
        .save(&id, "1.0", Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        !store
            .compare_and_swap(&id, "1", "x", Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert!(
        !store
            .compare_and_swap(&id, "1.0 ", "x", Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert!(
        store
            .compare_and_swap(&id, "1.0", "é☃", Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert_eq!(store.load(&id).await.unwrap().as_deref(), Some("é☃"));
    store.delete(&id).await.unwrap();

    // 8 writers, 25 increments each, all through clones of one store (one connection).
    session_core::test_util::run_concurrent_update_check(&store, 8, 25).await;
}

/// How many times the server ran each of `commands` (`INFO commandstats`).
async fn command_calls(url: &str, commands: &[&str]) -> Vec<u64> {
    let mut connection = raw(url).await;
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut connection)
        .await
        .unwrap();
    commands
        .iter()
        .map(|command| {
            let prefix = format!("cmdstat_{command}:calls=");
            info.lines()
                .find_map(|line| line.strip_prefix(&prefix))
                .and_then(|rest| rest.split(',').next())
                .map_or(0, |calls| calls.parse().expect("a count"))
        })
        .collect()
}

/// Issue #11, item 3: `replace` is one `SET … XX`, atomic in Redis, not a read then a
/// conditional write; it rewrites the value in this store's layout over a live key, and
/// leaves no key where the session was deleted (a logout) or expired.
#[actix_rt::test]
async fn replace_is_one_set_xx_and_never_recreates_a_key() {
    // A server of its own: the command counts are the store's alone.
    let Some(server) = private_server("replace_is_one_set_xx", &[]) else {
        return;
    };
    let prefix = unique_prefix("replace");
    let store = store_with_prefix(&server.url(), &prefix).await;
    let mut raw = raw(&server.url()).await;
    let id = SessionId::generate();
    let key = format!("{prefix}{}", id.as_str());
    let counted = ["get", "set", "eval"];

    store.save(&id, "v1", Duration::from_secs(5)).await.unwrap();
    let before = command_calls(&server.url(), &counted).await;
    assert!(
        store
            .replace(&id, "v2", Duration::from_secs(600))
            .await
            .unwrap()
    );
    let after = command_calls(&server.url(), &counted).await;
    assert_eq!(
        [
            after[0] - before[0],
            after[1] - before[1],
            after[2] - before[2]
        ],
        [0, 1, 0],
        "GET, SET and EVAL calls of one replace"
    );
    let stored: Option<String> = raw.get(&key).await.unwrap();
    assert_eq!(stored_text(stored).as_deref(), Some("v2"));
    let pttl: i64 = raw.pttl(&key).await.unwrap();
    assert!(
        (599_000..=600_000).contains(&pttl),
        "PTTL after replace: {pttl}"
    );

    let () = raw.del(&key).await.unwrap();
    assert!(
        !store
            .replace(&id, "v3", Duration::from_secs(600))
            .await
            .unwrap()
    );
    assert!(
        !raw.exists::<_, bool>(&key).await.unwrap(),
        "replace after DEL must leave no key"
    );

    store
        .save(&id, "v4", Duration::from_millis(20))
        .await
        .unwrap();
    actix_rt::time::sleep(Duration::from_millis(60)).await;
    assert!(
        !store
            .replace(&id, "v5", Duration::from_secs(600))
            .await
            .unwrap()
    );
    assert!(
        !raw.exists::<_, bool>(&key).await.unwrap(),
        "replace after expiry must leave no key"
    );
}

#[actix_rt::test]
async fn zero_and_huge_ttls_are_accepted() {
    let Some(redis) = redis("zero_and_huge_ttls_are_accepted") else {
        return;
    };
    let prefix = unique_prefix("ttl-edges");
    let store = store_with_prefix(&redis.url, &prefix).await;
    let mut raw = raw(&redis.url).await;

    let zero = SessionId::generate();
    store
        .save(&zero, "now gone", Duration::ZERO)
        .await
        .expect("zero TTL saves");
    actix_rt::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(
        store.load(&zero).await.unwrap(),
        None,
        "zero TTL expires at once"
    );

    let huge = SessionId::generate();
    let key = format!("{prefix}{}", huge.as_str());
    store
        .save(&huge, "forever", Duration::MAX)
        .await
        .expect("Duration::MAX saves");
    let pttl: i64 = raw.pttl(&key).await.unwrap();
    let fifty_years_ms = 50 * 365 * 24 * 3600 * 1000_i64;
    assert!(
        pttl > fifty_years_ms,
        "clamped TTL is practically forever: {pttl}"
    );
    assert!(
        store
            .touch(&huge, Duration::MAX)
            .await
            .expect("touch with Duration::MAX")
    );
    assert!(
        store
            .touch(&huge, Duration::ZERO)
            .await
            .expect("touch with zero")
    );
    actix_rt::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(store.load(&huge).await.unwrap(), None);
}

#[actix_rt::test]
async fn two_hundred_concurrent_operations_share_one_connection() {
    let Some(redis) = redis("two_hundred_concurrent_operations") else {
        return;
    };
    let store = store_with_prefix(&redis.url, &unique_prefix("concurrency")).await;
    let ids: Vec<SessionId> = (0..200).map(|_| SessionId::generate()).collect();
    let ttl = Duration::from_secs(60);

    let texts: Vec<String> = (0..ids.len()).map(|n| format!("{{\"n\":{n}}}")).collect();
    let saves = join_all(
        ids.iter()
            .zip(&texts)
            .map(|(id, text)| store.save(id, text, ttl)),
    )
    .await;
    assert!(saves.iter().all(Result::is_ok), "{saves:?}");

    // Loads and saves interleaved, on clones of the store, as request handlers would.
    let mixed = join_all(ids.iter().enumerate().map(|(n, id)| {
        let store = store.clone();
        async move {
            let loaded = store.load(id).await?;
            store
                .save(id, &format!("{{\"n\":{n},\"again\":true}}"), ttl)
                .await?;
            Ok::<_, StoreError>(loaded)
        }
    }))
    .await;
    for (n, result) in mixed.into_iter().enumerate() {
        assert_eq!(result.unwrap(), Some(format!("{{\"n\":{n}}}")));
    }
    let loads = join_all(ids.iter().map(|id| store.load(id))).await;
    for (n, loaded) in loads.into_iter().enumerate() {
        assert_eq!(
            loaded.unwrap(),
            Some(format!("{{\"n\":{n},\"again\":true}}"))
        );
    }
    let deletes = join_all(ids.iter().map(|id| store.delete(id))).await;
    assert!(deletes.iter().all(Result::is_ok));
}

/// actix-web builds the store in `main` (the System runtime) and uses clones of it from each
/// worker thread, every one with a runtime of its own.
#[test]
fn one_store_serves_several_runtimes_like_actix_workers() {
    actix_rt::System::new().block_on(async {
        let Some(redis) = redis("one_store_serves_several_runtimes") else {
            return;
        };
        let store = store_with_prefix(&redis.url, &unique_prefix("workers")).await;
        let workers: Vec<_> = (0..2)
            .map(|worker| {
                let store = store.clone();
                std::thread::spawn(move || {
                    actix_rt::System::new().block_on(async move {
                        for n in 0..50 {
                            let id = SessionId::generate();
                            let text = format!("{worker}/{n}");
                            store
                                .save(&id, &text, Duration::from_secs(60))
                                .await
                                .unwrap();
                            assert_eq!(store.load(&id).await.unwrap(), Some(text));
                            store.delete(&id).await.unwrap();
                        }
                    });
                })
            })
            .collect();
        // The main runtime keeps running meanwhile, as it does under `HttpServer::run`.
        let started = std::time::Instant::now();
        while !workers.iter().all(std::thread::JoinHandle::is_finished) {
            assert!(started.elapsed() < Duration::from_secs(10), "workers stuck");
            actix_rt::time::sleep(Duration::from_millis(10)).await;
        }
        for worker in workers {
            worker.join().expect("worker thread");
        }
    });
}

/// The protocols of the connections Redis has, other than the one asking (`resp=2|3`).
async fn protocols(url: &str) -> Vec<String> {
    let mut observer = raw(url).await;
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut observer)
        .await
        .unwrap();
    list.lines()
        .filter(|line| !line.contains("cmd=client|list"))
        .filter_map(|line| line.split(' ').find(|field| field.starts_with("resp=")))
        .map(str::to_owned)
        .collect()
}

#[actix_rt::test]
async fn resp3_by_default_resp2_on_request_or_when_the_server_lacks_hello() {
    let Some(server) = private_server("resp3_by_default", &[]) else {
        return;
    };
    let store = RedisSessionStore::new(server.url()).await.unwrap();
    store.load(&SessionId::generate()).await.unwrap();
    assert_eq!(protocols(&server.url()).await, ["resp=3"]);
    drop(store);

    let url = format!("{}/?protocol=resp2", server.url());
    let store = RedisSessionStore::new(url).await.unwrap();
    store.load(&SessionId::generate()).await.unwrap();
    assert!(
        protocols(&server.url())
            .await
            .contains(&"resp=2".to_owned())
    );
    drop(store);

    // A server without HELLO, like Redis 5 or some proxies.
    let Some(old) = private_server("resp3_fallback", &["--rename-command", "HELLO", ""]) else {
        return;
    };
    let store = store_with_prefix(&old.url(), "old:").await;
    session_core::test_util::run_conformance_suite(&store).await;
    assert_eq!(protocols(&old.url()).await, ["resp=2"]);
}

/// The TCP options reach the socket: the kernel runs a keepalive timer on the store's
/// connection (seen with `ss` from iproute2; skipped without it).
#[actix_rt::test]
async fn the_connection_has_tcp_keepalive() {
    let Some(server) = private_server("the_connection_has_tcp_keepalive", &[]) else {
        return;
    };
    let store = RedisSessionStore::new(server.url()).await.unwrap();
    store.load(&SessionId::generate()).await.unwrap();
    let filter = format!("( dport = :{} )", server.port());
    let Ok(output) = std::process::Command::new("ss")
        .args(["-tno", "state", "established", &filter])
        .output()
    else {
        eprintln!("the_connection_has_tcp_keepalive: no `ss` on PATH, not checked");
        return;
    };
    let sockets = String::from_utf8_lossy(&output.stdout);
    assert!(sockets.contains("timer:(keepalive"), "{sockets}");
}

#[actix_rt::test]
async fn passwords_work_and_never_show() {
    const PASSWORD: &str = "s3cret-Pa55word";
    let Some(server) = private_server(
        "passwords_work_and_never_show",
        &["--requirepass", PASSWORD],
    ) else {
        return;
    };
    let url = format!("redis://:{PASSWORD}@127.0.0.1:{}", server.port());
    let store = RedisSessionStore::builder(&url)
        .key_prefix("pw:")
        .build()
        .await
        .expect("connect with the password");
    let id = SessionId::generate();
    store
        .save(&id, "ok", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(store.load(&id).await.unwrap().as_deref(), Some("ok"));

    let debug = format!("{store:?}");
    assert!(
        !debug.contains(PASSWORD) && !debug.contains("127.0.0.1"),
        "{debug}"
    );
    assert!(debug.contains("\"pw:\""), "{debug}");

    let wrong = format!("redis://:not-{PASSWORD}@127.0.0.1:{}", server.port());
    let error = RedisSessionStore::new(&wrong).await.unwrap_err();
    assert!(matches!(error, RedisStoreError::Connect(_)), "{error:?}");
    let chain = error_chain(&error);
    assert!(!chain.contains(PASSWORD), "{chain}");
    eprintln!("wrong password: {chain}");
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = format!("{error} / {error:?}");
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(" / {cause}"));
        source = cause.source();
    }
    text
}
