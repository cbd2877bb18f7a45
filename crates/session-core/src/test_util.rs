//! The store conformance suite: the contract of [`SessionStore`], checked against any store;
//! and [`NoSwapStore`], a store without compare-and-swap for testing how sessions refuse or
//! handle one.

use std::time::Duration;

use crate::{MemoryStore, SessionId, SessionStore, StoreCapabilities, StoreError, StoredEntry};

/// Checks that `store` keeps the [`SessionStore`] contract, panicking with the broken rule.
///
/// Every storage crate runs it against a real backend. It sleeps briefly (blocking the thread,
/// under a second in total) to observe expiry.
///
/// # Panics
///
/// When the store breaks a rule, or returns an error.
///
/// # Examples
///
/// ```
/// use session_core::MemoryStore;
/// # futures::executor::block_on(async {
/// session_core::test_util::run_conformance_suite(&MemoryStore::new()).await;
/// # });
/// ```
pub async fn run_conformance_suite<S: SessionStore>(store: &S) {
    missing_is_none(store).await;
    save_then_load(store).await;
    overwrite_replaces_whole_text(store).await;
    delete_removes_and_tolerates_missing(store).await;
    entries_are_independent(store).await;
    text_is_kept_byte_for_byte(store).await;
    entries_expire_after_ttl(store).await;
    touch_extends_without_rewriting(store).await;
    load_entry_agrees_with_load(store).await;
    check_declared_capabilities(store).await;
    if store.capabilities().compare_and_swap {
        compare_and_swap_replaces_only_the_expected_text(store).await;
        // A declared compare-and-swap must also be atomic: interleaved writers lose nothing.
        run_concurrent_update_check(store, 4, 10).await;
    }
    replace_never_recreates_a_deleted_entry(store).await;
}

/// Checks that `store` does what its [`SessionStore::capabilities`] declare, and declares
/// what it does: `compare_and_swap` works if and only if it is declared (otherwise it answers
/// [`StoreError::Unsupported`]), and `load_entry` reports an
/// expiry if and only if `expiry_info` is declared. This is what catches a wrapper that
/// forwards `capabilities` but not the methods behind them. (`native_touch` is a matter of
/// cost, which no test sees.) [`run_conformance_suite`] runs it.
///
/// # Panics
///
/// When the declaration and the behaviour disagree, or the store fails.
///
/// # Examples
///
/// ```
/// use session_core::MemoryStore;
/// # futures::executor::block_on(async {
/// session_core::test_util::check_declared_capabilities(&MemoryStore::new()).await;
/// # });
/// ```
pub async fn check_declared_capabilities<S: SessionStore>(store: &S) {
    let declared = store.capabilities();
    let id = SessionId::generate();
    let ttl = Duration::from_secs(60);
    store.save(&id, "declared", ttl).await.expect("save");
    let swapped = store
        .compare_and_swap(&id, "declared", "swapped", ttl)
        .await;
    if declared.compare_and_swap {
        assert!(
            swapped.expect("a declared compare_and_swap works"),
            "a declared compare_and_swap must swap the expected text"
        );
    } else {
        assert!(
            matches!(swapped, Err(crate::StoreError::Unsupported { .. })),
            "compare_and_swap works but is not declared in capabilities(): declare it, or \
             Session::update is refused for this store"
        );
    }
    let entry = store
        .load_entry(&id)
        .await
        .expect("load_entry")
        .expect("saved entry");
    assert_eq!(
        entry.expires_at.is_some(),
        declared.expiry_info,
        "load_entry must report an expiry exactly when capabilities() declare expiry_info \
         (a wrapper forwards load_entry)"
    );
    store.delete(&id).await.expect("delete");
}

/// Checks that concurrent read-modify-write cycles through
/// [`SessionStore::compare_and_swap`] lose no update: `writers` tasks each add 1 to a counter
/// `increments` times, retrying on conflict, and the counter must end at the total.
///
/// # Panics
///
/// When an update was lost, the store failed, or it does not declare
/// [`compare_and_swap`](crate::StoreCapabilities::compare_and_swap).
pub async fn run_concurrent_update_check<S: SessionStore>(
    store: &S,
    writers: usize,
    increments: usize,
) {
    assert!(
        store.capabilities().compare_and_swap,
        "concurrent updates need a store that declares compare_and_swap"
    );
    let id = SessionId::generate();
    let ttl = Duration::from_secs(60);
    store.save(&id, "0", ttl).await.expect("save");
    let increment = |id: SessionId| async move {
        for _ in 0..increments {
            loop {
                let current = store
                    .load(&id)
                    .await
                    .expect("load")
                    .expect("counter exists");
                let next = (current.parse::<usize>().expect("a number") + 1).to_string();
                // Let the other writers read the same value first, so swaps do conflict.
                yield_now().await;
                if store
                    .compare_and_swap(&id, &current, &next, ttl)
                    .await
                    .expect("cas")
                {
                    break;
                }
            }
        }
    };
    futures_join_all((0..writers).map(|_| increment(id.clone()))).await;
    let total = store
        .load(&id)
        .await
        .expect("load")
        .expect("counter exists");
    assert_eq!(
        total,
        (writers * increments).to_string(),
        "concurrent updates were lost"
    );
}

/// Returns `Pending` once, so every other future polled with this one runs before it goes on.
async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await;
}

/// Polls the futures together on the current task (no runtime needed).
async fn futures_join_all<F: std::future::Future<Output = ()>>(futures: impl Iterator<Item = F>) {
    let mut pending: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    std::future::poll_fn(move |cx| {
        pending.retain_mut(|future| future.as_mut().poll(cx).is_pending());
        if pending.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}

async fn compare_and_swap_replaces_only_the_expected_text<S: SessionStore>(store: &S) {
    let id = SessionId::generate();
    let ttl = Duration::from_secs(60);
    assert!(
        !store
            .compare_and_swap(&id, "a", "b", ttl)
            .await
            .expect("cas"),
        "no entry: nothing to swap"
    );
    assert_eq!(
        store.load(&id).await.expect("load"),
        None,
        "a failed swap creates nothing"
    );
    store.save(&id, "v1", ttl).await.expect("save");
    assert!(
        !store
            .compare_and_swap(&id, "v0", "v2", ttl)
            .await
            .expect("cas")
    );
    assert_eq!(store.load(&id).await.expect("load").as_deref(), Some("v1"));
    assert!(
        store
            .compare_and_swap(&id, "v1", "v2", ttl)
            .await
            .expect("cas")
    );
    assert_eq!(store.load(&id).await.expect("load").as_deref(), Some("v2"));
    assert!(
        !store
            .compare_and_swap(&id, "v1", "v3", ttl)
            .await
            .expect("cas"),
        "stale expected"
    );
}

async fn replace_never_recreates_a_deleted_entry<S: SessionStore>(store: &S) {
    let id = SessionId::generate();
    let ttl = Duration::from_secs(60);
    assert!(
        !store.replace(&id, "v1", ttl).await.expect("replace"),
        "no entry: nothing to replace"
    );
    assert_eq!(
        store.load(&id).await.expect("load"),
        None,
        "replace must not create an entry"
    );
    store.save(&id, "v1", ttl).await.expect("save");
    assert!(store.replace(&id, "v2", ttl).await.expect("replace"));
    assert_eq!(store.load(&id).await.expect("load").as_deref(), Some("v2"));
    store.delete(&id).await.expect("delete");
    assert!(
        !store.replace(&id, "v3", ttl).await.expect("replace"),
        "a deleted entry (a logout) stays deleted"
    );
    assert_eq!(store.load(&id).await.expect("load"), None);
    store
        .save(&id, "short", Duration::from_millis(50))
        .await
        .expect("save");
    std::thread::sleep(Duration::from_millis(120));
    assert!(
        !store.replace(&id, "late", ttl).await.expect("replace"),
        "an expired entry stays expired"
    );
    assert_eq!(store.load(&id).await.expect("load"), None);
}

async fn missing_is_none<S: SessionStore>(store: &S) {
    let id = SessionId::generate();
    assert_eq!(
        store.load(&id).await.expect("load"),
        None,
        "unknown ID must load as None"
    );
}

async fn save_then_load<S: SessionStore>(store: &S) {
    let id = SessionId::generate();
    store
        .save(&id, r#"{"a":1}"#, Duration::from_secs(60))
        .await
        .expect("save");
    assert_eq!(
        store.load(&id).await.expect("load").as_deref(),
        Some(r#"{"a":1}"#)
    );
}

async fn overwrite_replaces_whole_text<S: SessionStore>(store: &S) {
    let id = SessionId::generate();
    let ttl = Duration::from_secs(60);
    store
        .save(&id, "test1 with a long tail", ttl)
        .await
        .expect("save");
    store.save(&id, "test2", ttl).await.expect("save again");
    assert_eq!(
        store.load(&id).await.expect("load").as_deref(),
        Some("test2"),
        "a shorter rewrite must not keep the old tail"
    );
}

async fn delete_removes_and_tolerates_missing<S: SessionStore>(store: &S) {
    let id = SessionId::generate();
    store
        .save(&id, "x", Duration::from_secs(60))
        .await
        .expect("save");
    store.delete(&id).await.expect("delete");
    assert_eq!(
        store.load(&id).await.expect("load"),
        None,
        "deleted entry must be gone"
    );
    store
        .delete(&id)
        .await
        .expect("deleting a missing entry must succeed");
}

async fn entries_are_independent<S: SessionStore>(store: &S) {
    let ids: Vec<SessionId> = (0..20).map(|_| SessionId::generate()).collect();
    for (n, id) in ids.iter().enumerate() {
        store
            .save(id, &n.to_string(), Duration::from_secs(60))
            .await
            .expect("save");
    }
    store.delete(&ids[3]).await.expect("delete");
    for (n, id) in ids.iter().enumerate() {
        let expected = (n != 3).then(|| n.to_string());
        assert_eq!(store.load(id).await.expect("load"), expected, "entry {n}");
    }
}

async fn text_is_kept_byte_for_byte<S: SessionStore>(store: &S) {
    let id = SessionId::generate();
    let text = format!("{{\"s\":\"é☃ \\n\\u0000 {}\"}}", "x".repeat(64 * 1024));
    store
        .save(&id, &text, Duration::from_secs(60))
        .await
        .expect("save");
    assert_eq!(
        store.load(&id).await.expect("load").as_deref(),
        Some(text.as_str())
    );
}

async fn entries_expire_after_ttl<S: SessionStore>(store: &S) {
    let short = SessionId::generate();
    let long = SessionId::generate();
    store
        .save(&short, "short", Duration::from_millis(100))
        .await
        .expect("save");
    store
        .save(&long, "long", Duration::from_secs(60))
        .await
        .expect("save");
    std::thread::sleep(Duration::from_millis(250));
    assert_eq!(
        store.load(&short).await.expect("load"),
        None,
        "entry must expire after its ttl"
    );
    assert_eq!(
        store.load(&long).await.expect("load").as_deref(),
        Some("long")
    );
}

async fn touch_extends_without_rewriting<S: SessionStore>(store: &S) {
    let id = SessionId::generate();
    assert!(
        !store
            .touch(&id, Duration::from_secs(60))
            .await
            .expect("touch"),
        "touch of missing"
    );
    store
        .save(&id, "kept", Duration::from_millis(100))
        .await
        .expect("save");
    assert!(
        store
            .touch(&id, Duration::from_secs(60))
            .await
            .expect("touch")
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        store.load(&id).await.expect("load").as_deref(),
        Some("kept"),
        "touch must extend the ttl and keep the text"
    );
}

async fn load_entry_agrees_with_load<S: SessionStore>(store: &S) {
    let id = SessionId::generate();
    assert_eq!(store.load_entry(&id).await.expect("load_entry"), None);
    let before = std::time::SystemTime::now();
    store
        .save(&id, "entry", Duration::from_secs(600))
        .await
        .expect("save");
    let entry = store
        .load_entry(&id)
        .await
        .expect("load_entry")
        .expect("saved entry");
    assert_eq!(entry.text, "entry");
    if let Some(expires_at) = entry.expires_at {
        let lower = before + Duration::from_secs(590);
        let upper = std::time::SystemTime::now() + Duration::from_secs(610);
        assert!(
            lower <= expires_at && expires_at <= upper,
            "load_entry must report the expiry set by save (about 600 s from now)"
        );
    }
}

/// A store without compare-and-swap, which says so (it declares only
/// [`expiry_info`](StoreCapabilities::expiry_info) and answers
/// [`StoreError::Unsupported`] to a swap); everything else goes to a [`MemoryStore`].
///
/// # Examples
///
/// ```
/// use session_core::SessionStore;
/// use session_core::test_util::NoSwapStore;
///
/// assert!(!NoSwapStore::default().capabilities().compare_and_swap);
/// ```
#[derive(Debug, Clone, Default)]
pub struct NoSwapStore(pub MemoryStore);

impl SessionStore for NoSwapStore {
    async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        SessionStore::load(&self.0, id).await
    }
    async fn load_entry(&self, id: &SessionId) -> Result<Option<StoredEntry>, StoreError> {
        SessionStore::load_entry(&self.0, id).await
    }
    async fn save(&self, id: &SessionId, text: &str, ttl: Duration) -> Result<(), StoreError> {
        SessionStore::save(&self.0, id, text, ttl).await
    }
    async fn compare_and_swap(
        &self,
        _: &SessionId,
        _: &str,
        _: &str,
        _: Duration,
    ) -> Result<bool, StoreError> {
        Err(StoreError::Unsupported {
            operation: "compare_and_swap",
        })
    }
    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        SessionStore::delete(&self.0, id).await
    }
    fn capabilities(&self) -> StoreCapabilities {
        StoreCapabilities::NONE.with_expiry_info()
    }
}
