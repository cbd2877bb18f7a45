//! # session-suite
//!
//! The behaviour suite every session adapter passes: the lifecycle, persistence, transport,
//! tampering and CSRF behaviours of [`session_engine`], stated once as HTTP exchanges and
//! run against each adapter (session-actix and session-axum run it; so can yours).
//!
//! The suite owns everything but the framework: the session types ([`Cart`], [`User`]…),
//! the app's logic ([`Routes`]), the setups (each scenario builds the
//! [`Registry`](session_engine::Registry) it needs, with a
//! [`ManualClock`](session_core::ManualClock) when it moves time, and a [`ProbeStore`] when
//! it counts storage calls or makes them fail), the requests and the assertions. An adapter
//! implements one small trait, [`Adapter`]: run a future, start the app of an [`AppSpec`],
//! send a [`TestRequest`] and read the [`TestResponse`]. [`behaviour_suite!`] then makes
//! one `#[test]` per scenario, named after it.
//!
//! # Running the suite for a new adapter
//!
//! In `tests/suite.rs`, with `session-suite` as a dev-dependency:
//!
//! 1. Write the app's **one handler**: it takes the whole request, wraps it in a
//!    [`SessionSource`] (whose `session::<T>()` goes through your `Session<T>` extractor)
//!    and answers what [`Routes::respond`] replies, or your error's response on `Err`.
//! 2. **`start`**: a router sending every path and method to that handler, wrapped in your
//!    CSRF layer for [`Cart`] when [`AppSpec::csrf`] is set (configured as
//!    [`CsrfSettings`] says), inside your sessions layer made from [`AppSpec::registry`].
//! 3. **`send`**: turn the [`TestRequest`] into your framework's request (a streamed
//!    [`Body`] as a stream), call the app in-process, collect the response.
//! 4. Invoke `session_suite::behaviour_suite!(YourAdapter);`, and, if your crate offers the
//!    stores behind the features `fs`, `redis`, `sqlite` and `postgres`,
//!    `session_suite::store_scenarios!(YourAdapter, your_crate);` for the scenarios that need a
//!    real store ([`store_scenarios!`]).
//!
//! ```no_run
//! # mod my_framework {
//! #     pub struct Request; pub struct Response; pub struct Router;
//! #     pub struct Session<T>(pub session_engine::SessionHandle<T, Error>);
//! #     pub type Error = session_engine::SessionError;
//! #     pub struct Sessions; pub struct CsrfProtection<T>(std::marker::PhantomData<T>);
//! #     impl From<session_engine::Registry> for Sessions { fn from(_: session_engine::Registry) -> Self { Sessions } }
//! #     impl<T> CsrfProtection<T> { pub fn new() -> Self { Self(std::marker::PhantomData) }
//! #         pub fn allow_same_site(self) -> Self { self } pub fn allowed_origin(self, _: &str) -> Self { self } }
//! #     impl<T: Clone + Send + 'static> Session<T> {
//! #         pub async fn from_request(_: &Request) -> Result<Self, Error> { Err(Error::MiddlewareMissing) } }
//! #     impl Request { pub fn method(&self) -> &str { "GET" } pub fn uri(&self) -> &str { "/" }
//! #         pub fn from_test(_: session_suite::TestRequest) -> Self { Request } }
//! #     impl Response { pub fn new(_: u16, _: Vec<(&'static str, String)>, _: String) -> Self { Response }
//! #         pub fn from_error(_: Error) -> Self { Response }
//! #         pub fn into_test(self) -> session_suite::TestResponse {
//! #             session_suite::TestResponse { status: 200, headers: Vec::new(), body: Vec::new() } } }
//! #     impl Router {
//! #         pub fn fallback<F, Fut>(_: F) -> Self where F: Fn(Request, Vec<u8>) -> Fut { Router }
//! #         pub fn layer<L>(self, _: L) -> Self { self }
//! #         pub async fn call(&self, _: Request) -> Response { Response } }
//! # }
//! use my_framework::{CsrfProtection, Request, Response, Router, Session, Sessions};
//! use session_suite::{Adapter, AppRequest, AppSpec, Cart, SessionSource, TestRequest, TestResponse};
//!
//! /// The handles of one request, through the extractor.
//! struct Source<'a>(&'a Request);
//!
//! impl SessionSource for Source<'_> {
//!     type Error = my_framework::Error;
//!
//!     async fn session<T: Clone + Send + Sync + 'static>(
//!         &self,
//!     ) -> Result<session_engine::SessionHandle<T, Self::Error>, Self::Error> {
//!         Ok(Session::<T>::from_request(self.0).await?.0)
//!     }
//! }
//!
//! struct MyAdapter;
//!
//! impl Adapter for MyAdapter {
//!     type App = Router;
//!
//!     fn block_on<F: std::future::Future>(future: F) -> F::Output {
//!         futures::executor::block_on(future)
//!     }
//!
//!     async fn start(spec: AppSpec) -> Router {
//!         let routes = spec.routes.clone();
//!         let mut app = Router::fallback(move |request: Request, body: Vec<u8>| {
//!             let routes = routes.clone();
//!             async move {
//!                 let app_request =
//!                     AppRequest { method: request.method(), uri: request.uri(), body: &body };
//!                 match routes.respond(app_request, &Source(&request)).await {
//!                     Ok(reply) => Response::new(reply.status, reply.headers, reply.body),
//!                     Err(error) => Response::from_error(error),
//!                 }
//!             }
//!         });
//!         if let Some(settings) = spec.csrf {
//!             let mut csrf = CsrfProtection::<Cart>::new();
//!             if settings.allow_same_site {
//!                 csrf = csrf.allow_same_site();
//!             }
//!             for origin in &settings.allowed_origins {
//!                 csrf = csrf.allowed_origin(origin);
//!             }
//!             app = app.layer(csrf);
//!         }
//!         app.layer(Sessions::from(spec.registry))
//!     }
//!
//!     async fn send(app: &Router, request: TestRequest) -> TestResponse {
//!         app.call(Request::from_test(request)).await.into_test()
//!     }
//! }
//!
//! session_suite::behaviour_suite!(MyAdapter);
//! ```
//!
//! Every scenario is also a public `async fn` in [`scenarios`], to run on its own or, like
//! [`scenarios::persist::hundred_concurrent_updates_in`], with another store.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod adapter;
mod app;
mod http;
mod macros;
pub mod scenarios;
mod store;
mod store_macro;
mod types;

pub use crate::adapter::{Adapter, AppSpec, CsrfSettings};
pub use crate::app::{AppRequest, Reply, Routes, SessionSource};
pub use crate::http::{Body, TestRequest, TestResponse, is_removal};
pub use crate::store::ProbeStore;
pub use crate::types::{Auth, Cart, Guest, OldUser, User};
