//! Disk per session of [`FsSessionStore`]: the blocks allocated (`st_blocks`, what `du`
//! counts) for 100,000 sessions whose value is 100 bytes, files and shard directories
//! included, divided by the number of sessions.
//!
//! ```text
//! cargo run --release -p session-fs --example disk_footprint [DIRECTORY]
//! ```
//!
//! The directory (a fresh temporary one by default) decides the file system measured.

use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::time::Duration;

use session_core::{SessionId, SessionStore};
use session_fs::{Durability, FsSessionStore};

const SESSIONS: usize = 100_000;
/// What the middleware stores for a 100-byte value: a record header line and the value.
const STORED: usize = 168;

/// Bytes allocated under `dir`, itself included, and how many files there are.
fn allocated(dir: &Path) -> (u64, usize) {
    let mut bytes = std::fs::symlink_metadata(dir).unwrap().blocks() * 512;
    let mut files = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let metadata = entry.metadata().unwrap();
        if metadata.is_dir() {
            let (more, more_files) = allocated(&entry.path());
            bytes += more;
            files += more_files;
        } else {
            bytes += metadata.blocks() * 512;
            files += 1;
        }
    }
    (bytes, files)
}

fn main() {
    let temp = tempfile::tempdir().unwrap();
    let root = std::env::args()
        .nth(1)
        .map_or_else(|| temp.path().join("sessions"), Into::into);
    let store = FsSessionStore::new(&root)
        .unwrap()
        .with_durability(Durability::NoFsync);
    let text = "x".repeat(STORED);
    actix_rt::Runtime::new().unwrap().block_on(async {
        for _ in 0..SESSIONS {
            let id = SessionId::generate();
            store
                .save(&id, &text, Duration::from_secs(3600))
                .await
                .unwrap();
        }
    });
    let (bytes, files) = allocated(&root);
    println!(
        "FsSessionStore: {SESSIONS} sessions of {STORED} stored bytes in {}: {files} files \
         (sessions and shard locks), {:.0} bytes allocated per session",
        root.display(),
        bytes as f64 / SESSIONS as f64
    );
}
