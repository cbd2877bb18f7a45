//! Bearer sessions ([`HeaderTransport::bearer`]): read from `Authorization: Bearer <token>`,
//! handed out in a response header of the app's choosing (issue #13, item 3).

use session_core::{Encrypt, EncryptionKey, Sign, SigningKey};
use session_engine::{HeaderTransport, Registry, SessionConfig};

use super::App;
use crate::{Adapter, Cart, ProbeStore, TestRequest, User};

/// The response header the suite's bearer sessions are handed out in.
const TOKEN_HEADER: &str = "x-session-token";

/// A registry of one bearer session of type `T`, configured by `change`.
fn bearer<T>(change: impl FnOnce(SessionConfig<T>) -> SessionConfig<T>) -> Registry
where
    T: serde::Serialize + serde::de::DeserializeOwned + 'static,
{
    let config = SessionConfig::<T>::new(HeaderTransport::bearer(TOKEN_HEADER));
    Registry::builder()
        .session(change(config))
        .build()
        .expect("a valid setup")
}

/// A server-side bearer [`Cart`] with a signed ID.
fn carts() -> Registry {
    bearer::<Cart>(|config| {
        config
            .store(ProbeStore::default())
            .transform(Sign::new(SigningKey::generate()))
    })
}

/// An app serving [`carts`], and the token of a new cart holding `3`.
async fn cart_of_three<A: Adapter>() -> (App<A>, String) {
    let app = App::<A>::serving(carts()).await;
    let response = app.get("/add/3", None).await;
    let token = response.header(TOKEN_HEADER).expect("the value").to_owned();
    (app, token)
}

/// `GET uri` with `Authorization: <credentials>`.
fn authorized(uri: &str, credentials: impl Into<Vec<u8>>) -> TestRequest {
    TestRequest::get(uri).header("authorization", credentials)
}

/// Whether `token` is an RFC 9110 `token68`, as `Bearer` credentials must be.
fn is_token68(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// The value is handed out in the chosen response header (never in a cookie or in
/// `Authorization`), as a `token68`; sent back as `Authorization: Bearer <token>` (the
/// scheme in any case) it opens the session, server-side and client-side (signed values,
/// readable text, included); among several `Authorization` headers it is found; echoed in the
/// response header's own name it is not read.
pub async fn a_bearer_session_travels_in_authorization_and_its_response_header<A: Adapter>() {
    let signed = bearer::<User>(|c| c.transform(Sign::new(SigningKey::generate())));
    let encrypted = bearer::<User>(|c| c.transform(Encrypt::new(EncryptionKey::generate())));
    let setups = [
        (carts(), "/add/3", "/cart", "[3]", "empty"),
        (signed, "/user/set/zo%C3%AB", "/user/get", "zoë:0", "none"),
        (encrypted, "/user/set/ada", "/user/get", "ada:0", "none"),
    ];
    for (registry, set, get, opened, no_session) in setups {
        let app = App::<A>::serving(registry).await;
        let response = app.get(set, None).await;
        assert!(response.set_cookies().is_empty(), "{set}: no cookie");
        assert_eq!(response.header("authorization"), None, "{set}");
        let token = response
            .header(TOKEN_HEADER)
            .expect("the value, in the chosen header")
            .to_owned();
        assert!(is_token68(&token), "{set}: {token:?}");

        for scheme in ["Bearer", "bearer", "BEARER"] {
            let response = app.send(authorized(get, format!("{scheme} {token}"))).await;
            assert_eq!(response.text(), opened, "{set}: {scheme}");
            assert_eq!(
                response.header(TOKEN_HEADER),
                None,
                "a plain read sends nothing"
            );
        }

        let among_others = authorized(get, "Basic YWRhOnNlY3JldA==")
            .header("authorization", "Bearer garbage")
            .header("authorization", format!("Bearer {token}"));
        assert_eq!(app.send(among_others).await.text(), opened, "{set}");

        let echoed = TestRequest::get(get).header(TOKEN_HEADER, token.as_str());
        let response = app.send(echoed).await;
        assert_eq!(
            response.text(),
            no_session,
            "{set}: read from Authorization only"
        );
    }
}

/// Another scheme, or the `Bearer` scheme without exactly one space and a `token68`, is no
/// session: never an error, never a `401`.
pub async fn a_non_bearer_scheme_or_a_malformed_token_is_no_session<A: Adapter>() {
    let (app, token) = cart_of_three::<A>().await;
    assert_eq!(
        app.send(authorized("/cart", format!("Bearer {token}")))
            .await
            .text(),
        "[3]"
    );
    let (id, mac) = token.rsplit_once('/').expect("a signed ID");
    let mut tampered = mac.to_owned().into_bytes();
    tampered[0] = if tampered[0] == b'0' { b'1' } else { b'0' };
    let tampered = format!("{id}/{}", String::from_utf8(tampered).expect("hex"));
    let refused: Vec<Vec<u8>> = [
        format!("Basic {token}"),
        format!("Token {token}"),
        format!("Bearer{token}"),
        format!("Bearer  {token}"),
        format!("Bearer\t{token}"),
        format!("Bearer {token} {token}"),
        format!("Bearer {token},"),
        format!("Bearer \"{token}\""),
        format!("Bearer {}", token.replace('/', "%2F")),
        format!("Bearer {tampered}"),
        "Bearer".to_owned(),
        "Bearer =".to_owned(),
        token.clone(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .chain([b"Bearer \xff\xfe".to_vec()])
    .collect();
    for credentials in refused {
        let shown = String::from_utf8_lossy(&credentials).into_owned();
        let response = app.send(authorized("/cart", credentials)).await;
        assert_eq!(response.status, 200, "{shown}");
        assert_eq!(response.text(), "empty", "{shown}");
        assert_eq!(response.header(TOKEN_HEADER), None, "{shown}");
    }
}

/// Responses that write or read a bearer session vary on `Authorization` (and those that hand
/// one out are not stored); a response that does not touch it does not vary.
pub async fn bearer_responses_vary_on_authorization<A: Adapter>() {
    let app = App::<A>::serving(carts()).await;
    let response = app.get("/add/1", None).await;
    assert_eq!(response.header("vary"), Some("Authorization"));
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let token = response.header(TOKEN_HEADER).expect("the value");

    let response = app
        .send(authorized("/cart", format!("Bearer {token}")))
        .await;
    assert_eq!(response.text(), "[1]");
    assert_eq!(response.header("vary"), Some("Authorization"));

    let response = app
        .send(authorized("/plain", format!("Bearer {token}")))
        .await;
    assert_eq!(response.text(), "plain");
    assert_eq!(response.header("vary"), None);
}

/// A route that requires a bearer session answers its `401` with a `Bearer` challenge
/// (RFC 6750), without a token and with a forged one; with the session it is served.
pub async fn a_required_bearer_session_answers_401_with_a_bearer_challenge<A: Adapter>() {
    let (app, token) = cart_of_three::<A>().await;
    let forged = format!("Bearer {token}0");
    for request in [TestRequest::get("/require"), authorized("/require", forged)] {
        let response = app.send(request).await;
        assert_eq!(response.status, 401);
        assert_eq!(response.headers("www-authenticate"), ["Bearer"]);
        assert_eq!(response.text(), "", "an empty body");
    }
    let response = app
        .send(authorized("/require", format!("Bearer {token}")))
        .await;
    assert_eq!((response.status, response.text()), (200, "[3]"));
    assert_eq!(response.header("www-authenticate"), None);
}
