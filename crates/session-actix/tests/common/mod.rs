//! Helpers shared by the actix-specific in-process tests: session types and cookie helpers.
//! The behaviour every adapter shares is in `session-suite` (`suite.rs`).
#![allow(dead_code, unreachable_pub)]

use actix_web::cookie::Cookie;
use actix_web::dev::ServiceResponse;
use actix_web::http::header::SET_COOKIE;
use serde::{Deserialize, Serialize};
use session_actix::core::{SessionId, SessionStore};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub visits: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cart {
    pub items: Vec<i32>,
}

/// The Set-Cookie headers of a response, parsed by the cookie crate.
pub fn set_cookies<B>(response: &ServiceResponse<B>) -> Vec<Cookie<'static>> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .map(|value| Cookie::parse_encoded(value.to_str().unwrap().to_owned()).unwrap())
        .collect()
}

/// The one Set-Cookie named `name`; panics unless there is exactly one.
pub fn the_cookie<B>(response: &ServiceResponse<B>, name: &str) -> Cookie<'static> {
    let mut found: Vec<_> = set_cookies(response)
        .into_iter()
        .filter(|c| c.name() == name)
        .collect();
    assert_eq!(found.len(), 1, "expected one Set-Cookie {name}: {found:?}");
    found.remove(0)
}

pub fn is_removal(cookie: &Cookie<'_>) -> bool {
    cookie.value().is_empty() && cookie.max_age() == Some(actix_web::cookie::time::Duration::ZERO)
}

/// A `Cookie` request header carrying one value, percent-encoded like a browser would echo it.
pub fn cookie_header(cookie: &Cookie<'_>) -> (actix_web::http::header::HeaderName, String) {
    (
        actix_web::http::header::COOKIE,
        Cookie::new(cookie.name().to_owned(), cookie.value().to_owned())
            .encoded()
            .to_string(),
    )
}

/// `GET uri`, with the cookie echoed back when given.
pub async fn get<S, B>(app: &S, uri: &str, cookie: Option<&Cookie<'_>>) -> ServiceResponse<B>
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
        >,
{
    let mut request = actix_web::test::TestRequest::get().uri(uri);
    if let Some(cookie) = cookie {
        request = request.insert_header(cookie_header(cookie));
    }
    actix_web::test::call_service(app, request.to_request()).await
}

/// The session value stored under `id`, without its record header.
pub async fn stored_value(store: &impl SessionStore, id: &SessionId) -> Option<String> {
    let text = store.load(id).await.unwrap()?;
    let (header, value) = text.split_once('\n').expect("a session record");
    assert!(header.starts_with("s2 "), "a session record: {header}");
    Some(value.to_owned())
}

/// The response body as text.
pub async fn body<B: actix_web::body::MessageBody>(response: ServiceResponse<B>) -> String {
    String::from_utf8(actix_web::test::read_body(response).await.to_vec()).unwrap()
}

/// `GET /cart` in the tests: the cart's items, or `empty`.
pub async fn show_cart(
    session: session_actix::Session<Cart>,
) -> Result<actix_web::HttpResponse, session_actix::SessionError> {
    Ok(
        actix_web::HttpResponse::Ok().body(match session.get().await? {
            Some(cart) => format!("{:?}", cart.items),
            None => "empty".to_owned(),
        }),
    )
}
