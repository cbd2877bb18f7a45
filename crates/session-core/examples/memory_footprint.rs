//! Memory per session of [`MemoryStore`], unbounded and capped: the growth of the process's
//! resident memory (Linux `/proc/self/status`, so the allocator's overhead is included, as a
//! server pays it) for 100,000 sessions (or `SESSIONS`) whose value is 100 bytes.
//!
//! ```text
//! cargo run --release -p session-core --example memory_footprint
//! SESSIONS=1000000 cargo run --release -p session-core --example memory_footprint
//! ```
//!
//! Each variant runs in a process of its own (the example starts itself again), so that one
//! measurement never reuses memory the other freed.

use std::num::NonZeroUsize;
use std::time::{Duration, SystemTime};

use session_core::{MemoryStore, Record, SessionId, SessionStore};

/// How many sessions: `SESSIONS` from the environment, 100,000 by default.
fn sessions() -> usize {
    std::env::var("SESSIONS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(100_000)
}
const PAYLOAD: usize = 100;
const TTL: Duration = Duration::from_secs(3600);

fn resident_bytes() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn measure(capped: bool) {
    let count = sessions();
    let store = if capped {
        MemoryStore::with_capacity(NonZeroUsize::new(count).expect("not zero"))
    } else {
        MemoryStore::new()
    };
    // What the middleware stores for a 100-byte value: the record header and the value.
    let text = Record::new("x".repeat(PAYLOAD), SystemTime::now(), None).encode("cart");
    let ids: Vec<SessionId> = (0..count).map(|_| SessionId::generate()).collect();
    let Some(before) = resident_bytes() else {
        println!("/proc/self/status is not available on this system");
        return;
    };
    futures::executor::block_on(async {
        for id in &ids {
            store.save(id, &text, TTL).await.expect("save");
        }
    });
    let after = resident_bytes().expect("read before");
    assert_eq!(store.len(), count);
    println!(
        "{:<28} {count} sessions, {PAYLOAD}-byte value ({} bytes stored): {:.0} bytes per session",
        if capped {
            "MemoryStore::with_capacity"
        } else {
            "MemoryStore::new"
        },
        text.len(),
        (after - before) as f64 / count as f64,
    );
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("unbounded") => measure(false),
        Some("capped") => measure(true),
        _ => {
            let me = std::env::current_exe().expect("own path");
            for variant in ["unbounded", "capped"] {
                let status = std::process::Command::new(&me)
                    .arg(variant)
                    .status()
                    .expect("run");
                assert!(status.success());
            }
        }
    }
}
