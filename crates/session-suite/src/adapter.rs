//! [`Adapter`]: what an adapter implements to run the suite.

use std::future::Future;

use session_engine::{CsrfRefusal, Registry};

use crate::{Routes, TestRequest, TestResponse};

/// An adapter under test: it starts the suite's app on its framework and sends it requests.
///
/// The app is one catch-all route whose handler calls [`Routes::respond`] with the
/// request's method, path and query and body, and a [`SessionSource`](crate::SessionSource)
/// over the adapter's `Session<T>` extractor; it answers the [`Reply`](crate::Reply) (or,
/// on an error, whatever the adapter's error answers). Around the route: the adapter's CSRF
/// layer for session type [`Cart`](crate::Cart) when [`AppSpec::csrf`] asks for one, inside
/// its sessions layer made from [`AppSpec::registry`].
///
/// Each scenario is an `async fn` generic over the adapter; [`behaviour_suite!`]
/// makes one `#[test]` of each.
///
/// [`behaviour_suite!`]: crate::behaviour_suite
pub trait Adapter: 'static {
    /// The started app.
    type App;

    /// Runs a scenario to its end on the runtime the adapter's framework needs.
    fn block_on<F: Future>(future: F) -> F::Output;

    /// Starts the app that `spec` describes.
    fn start(spec: AppSpec) -> impl Future<Output = Self::App>;

    /// Sends `request` to `app` and reads the whole response. Scenarios send several at once
    /// (concurrent updates of one session): they must be able to make progress together.
    ///
    /// A [`Body::Full`](crate::Body::Full) is sent as it is (its `Content-Length`, if any,
    /// is among the headers); a [`Body::Streamed`](crate::Body::Streamed) one chunk after
    /// another without a `Content-Length`, failing at the end when it says so.
    fn send(app: &Self::App, request: TestRequest) -> impl Future<Output = TestResponse>;
}

/// The app a scenario needs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AppSpec {
    /// The session types, for the adapter's sessions layer (`Sessions::from(registry)`).
    pub registry: Registry,
    /// CSRF protection for session type [`Cart`](crate::Cart) around the route, inside the
    /// sessions layer; `None`: no CSRF layer.
    pub csrf: Option<CsrfSettings>,
    /// The handler's logic, to call from the adapter's handler.
    pub routes: Routes,
}

impl AppSpec {
    /// An app serving `registry`, without CSRF protection.
    #[must_use]
    pub fn new(registry: Registry) -> Self {
        Self {
            registry,
            csrf: None,
            routes: Routes::default(),
        }
    }

    /// The same app with CSRF protection.
    #[must_use]
    pub fn csrf(mut self, settings: CsrfSettings) -> Self {
        self.csrf = Some(settings);
        self
    }
}

/// How the adapter's CSRF layer (`CsrfProtection::<Cart>::new()`) is configured, through its
/// builder methods of the same names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CsrfSettings {
    /// Call `.allow_same_site()`.
    pub allow_same_site: bool,
    /// Call `.allowed_origin(origin)` for each, in order.
    pub allowed_origins: Vec<String>,
    /// Make the layer with `CsrfProtection::origin_only()` instead of
    /// `CsrfProtection::<Cart>::new()`: no token, no session needed.
    pub origin_only: bool,
    /// Call `.refusal(…)` with a function that answers every refusal with status
    /// [`CUSTOM_REFUSAL_STATUS`](Self::CUSTOM_REFUSAL_STATUS) and the text
    /// [`custom_refusal_body`](Self::custom_refusal_body) makes of it.
    pub custom_refusal: bool,
}

impl CsrfSettings {
    /// The defaults: `CsrfProtection::<Cart>::new()`.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// With `.allow_same_site()`.
    #[must_use]
    pub fn allow_same_site(mut self) -> Self {
        self.allow_same_site = true;
        self
    }

    /// With `.allowed_origin(origin)`.
    #[must_use]
    pub fn allowed_origin(mut self, origin: &str) -> Self {
        self.allowed_origins.push(origin.to_owned());
        self
    }

    /// `CsrfProtection::origin_only()` instead of `CsrfProtection::<Cart>::new()`.
    #[must_use]
    pub fn origin_only(mut self) -> Self {
        self.origin_only = true;
        self
    }

    /// With `.refusal(…)` answering [`CUSTOM_REFUSAL_STATUS`](Self::CUSTOM_REFUSAL_STATUS)
    /// and [`custom_refusal_body`](Self::custom_refusal_body).
    #[must_use]
    pub fn custom_refusal(mut self) -> Self {
        self.custom_refusal = true;
        self
    }

    /// The status of the custom refusal: 419, as Laravel answers a bad CSRF token.
    pub const CUSTOM_REFUSAL_STATUS: u16 = 419;

    /// The body of the custom refusal of `refusal`: `refused: ` and its text.
    ///
    /// # Examples
    ///
    /// ```
    /// use session_engine::CsrfRefusal;
    /// use session_suite::CsrfSettings;
    ///
    /// assert_eq!(
    ///     CsrfSettings::custom_refusal_body(CsrfRefusal::InvalidToken),
    ///     "refused: request without a valid CSRF token refused"
    /// );
    /// ```
    #[must_use]
    pub fn custom_refusal_body(refusal: CsrfRefusal) -> String {
        format!("refused: {refusal}")
    }
}
