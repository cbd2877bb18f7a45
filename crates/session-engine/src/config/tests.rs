//! What `build` checks about a session's store, and what it logs.

use std::sync::Arc;
use std::time::Duration;

use session_core::{DynSessionStore, Encrypt, EncryptionKey, MemoryStore, Sign, SigningKey};

use session_core::test_util::NoSwapStore;

use crate::{ConfigError, CookieTransport, HeaderTransport, Registry, SessionConfig};

fn cart() -> SessionConfig<String> {
    SessionConfig::<String>::new(CookieTransport::new("cart"))
}

/// A store that does not declare compare-and-swap is refused at build, with the typed error
/// naming the session and the store, whether given by value or shared; the opt-out accepts
/// it; a store that declares it needs no opt-out.
#[test]
fn a_store_without_compare_and_swap_is_refused_unless_update_opts_out() {
    let shared: Arc<dyn DynSessionStore> = Arc::new(NoSwapStore::default());
    for config in [
        cart().store(NoSwapStore::default()),
        cart().shared_store(Arc::clone(&shared)),
    ] {
        match Registry::builder().session(config).build() {
            Err(ConfigError::StoreWithoutCompareAndSwap { name, store }) => {
                assert_eq!(name, "cart");
                assert!(store.ends_with("NoSwapStore"), "{store}");
            }
            other => panic!("refused with the typed error, got {other:?}"),
        }
    }
    let error = Registry::builder()
        .session(cart().store(NoSwapStore::default()))
        .build()
        .unwrap_err();
    assert!(
        error.to_string().contains("without_atomic_update"),
        "the error names the way out: {error}"
    );
    for config in [
        cart().store(NoSwapStore::default()).without_atomic_update(),
        cart().shared_store(shared).without_atomic_update(),
        cart().store(MemoryStore::new()),
        cart().store(MemoryStore::new()).without_atomic_update(),
    ] {
        let built = Registry::builder().session(config).build();
        assert!(built.is_ok(), "{built:?}");
    }
}

/// ID rotation needs compare-and-swap whatever `update` does: refused at build (it used to
/// be a warning on a request), with its own typed error.
#[test]
fn rotation_without_compare_and_swap_is_refused_at_build() {
    for config in [
        cart().store(NoSwapStore::default()),
        cart().store(NoSwapStore::default()).without_atomic_update(),
    ] {
        let result = Registry::builder()
            .session(config.rotate_id_every(Duration::from_secs(60)))
            .build();
        assert!(
            matches!(result, Err(ConfigError::RotationWithoutCompareAndSwap { ref name, .. }) if name == "cart"),
            "{result:?}"
        );
    }
}

/// The start-up line names the session, transport, mode, store and timeouts, and never a
/// key.
#[test]
fn the_start_up_summary_names_everything_but_secrets() {
    let signing_key = SigningKey::from_bytes(&[7; 32]).unwrap();
    let registry = Registry::builder()
        .session(
            cart()
                .store(MemoryStore::new())
                .transform(Sign::new(signing_key))
                .idle_timeout(Duration::from_secs(600))
                .rotate_id_every(Duration::from_secs(900)),
        )
        .session(
            SessionConfig::<u32>::new(HeaderTransport::bearer("x-token"))
                .transform(Encrypt::new(EncryptionKey::generate()))
                .without_absolute_timeout(),
        )
        .session(
            SessionConfig::<u8>::new(HeaderTransport::new("x-cart"))
                .store(NoSwapStore::default())
                .without_atomic_update(),
        )
        .build()
        .unwrap();
    let lines: Vec<String> = registry
        .providers()
        .iter()
        .map(|p| p.core.summary())
        .collect();
    assert_eq!(
        lines,
        [
            "session \"cart\": cookie, server-side in session_core::memory::MemoryStore \
             (compare_and_swap, native_touch, expiry_info), ID sealed by 1 transformer, \
             idle timeout 600 s, absolute timeout 604800 s, ID rotated every 900 s (grace 5 s)",
            "session \"x-token\": bearer header, client-side, value sealed by 1 transformer, \
             idle timeout 1440 s, no absolute timeout",
            "session \"x-cart\": header, server-side in \
             session_core::test_util::NoSwapStore (expiry_info), ID sealed by 0 transformers, \
             idle timeout 1440 s, absolute timeout 604800 s",
        ]
    );
    for line in &lines {
        assert!(!line.contains("0707"), "no key bytes: {line}");
    }
}

/// Records the message of every event at INFO.
#[derive(Default)]
struct Capture(std::sync::Mutex<Vec<String>>);

struct Message<'a>(&'a mut String);

impl tracing::field::Visit for Message<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write as _;
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl tracing::Subscriber for &'static Capture {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() <= tracing::Level::INFO
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if *event.metadata().level() == tracing::Level::INFO {
            let mut line = String::new();
            event.record(&mut Message(&mut line));
            self.0.lock().unwrap().push(line);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// `build` logs one INFO line per registered session, with its summary.
#[test]
fn build_logs_one_info_line_per_session() {
    let capture: &'static Capture = Box::leak(Box::default());
    let built = tracing::subscriber::with_default(capture, || {
        Registry::builder()
            .session(cart().store(MemoryStore::new()))
            .session(
                SessionConfig::<u32>::new(CookieTransport::new("prefs"))
                    .transform(Sign::new(SigningKey::generate())),
            )
            .build()
    });
    assert!(built.is_ok(), "{built:?}");
    let lines = capture.0.lock().unwrap();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].contains("session=cart")
            && lines[0].contains("server-side in session_core::memory::MemoryStore"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("session=prefs") && lines[1].contains("client-side"),
        "{}",
        lines[1]
    );
}
