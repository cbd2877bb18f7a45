//! `rediss://` against a real TLS redis-server with certificates from a private test CA.
#![cfg(feature = "tls-rustls")]

mod common;

use std::time::{Duration, Instant};

use session_core::{SessionId, SessionStore};
use session_redis::{RedisSessionStore, RedisStoreError};

use common::{private_server, private_tls_server};

fn ca(server: &common::RedisServer) -> Vec<u8> {
    std::fs::read(server.dir().join("ca.crt")).expect("read the test CA")
}

#[actix_rt::test]
async fn rediss_with_the_servers_ca_works() {
    let Some(server) = private_tls_server("rediss_with_the_servers_ca_works") else {
        return;
    };
    let url = format!("rediss://127.0.0.1:{}", server.port());
    let store = RedisSessionStore::builder(&url)
        .tls_root_certificates(ca(&server))
        .key_prefix("tls:")
        .build()
        .await
        .expect("TLS connection trusting the test CA");
    session_core::test_util::run_conformance_suite(&store).await;
}

#[actix_rt::test]
async fn rediss_rejects_a_server_the_roots_do_not_vouch_for() {
    let Some(server) = private_tls_server("rediss_rejects_an_unknown_ca") else {
        return;
    };
    // Neither the system's roots nor Mozilla's know the test CA.
    let url = format!("rediss://127.0.0.1:{}", server.port());
    let error = RedisSessionStore::new(&url).await.unwrap_err();
    assert!(matches!(error, RedisStoreError::Connect(_)), "{error:?}");
    eprintln!("unknown CA: {error:?}");

    // The right CA for the wrong name: the certificate is for 127.0.0.1, not `localhost`.
    let error = RedisSessionStore::builder(format!("rediss://localhost:{}", server.port()))
        .tls_root_certificates(ca(&server))
        .build()
        .await
        .unwrap_err();
    eprintln!("wrong name: {error:?}");
    assert!(matches!(error, RedisStoreError::Connect(_)), "{error:?}");
    assert!(
        format!("{error:?}").contains("not valid for name"),
        "{error:?}"
    );
}

#[actix_rt::test]
async fn root_certificates_need_a_tls_url_and_valid_pem() {
    let error = RedisSessionStore::builder("redis://127.0.0.1:1")
        .tls_root_certificates(b"-----BEGIN CERTIFICATE-----\n".to_vec())
        .build()
        .await
        .unwrap_err();
    assert!(matches!(error, RedisStoreError::InvalidTls(_)), "{error:?}");

    let error = RedisSessionStore::builder("rediss://127.0.0.1:1")
        .tls_root_certificates(b"not a certificate".to_vec())
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            RedisStoreError::InvalidTls(_) | RedisStoreError::Connect(_)
        ),
        "{error:?}"
    );
}

#[actix_rt::test]
async fn rediss_to_a_plain_text_server_fails_cleanly() {
    let Some(server) = private_server("rediss_to_a_plain_text_server", &[]) else {
        return;
    };
    let started = Instant::now();
    let error = RedisSessionStore::builder(format!("rediss://127.0.0.1:{}", server.port()))
        .connect_timeout(Duration::from_secs(1))
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            RedisStoreError::Connect(_) | RedisStoreError::Timeout { .. }
        ),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    // And the store that did connect in plain text is unaffected by the attempt.
    let plain = RedisSessionStore::new(server.url()).await.unwrap();
    let id = SessionId::generate();
    plain
        .save(&id, "plain", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(plain.load(&id).await.unwrap().as_deref(), Some("plain"));
}
