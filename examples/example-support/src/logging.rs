//! Logging to stderr.

use std::io::IsTerminal as _;

/// Logs to stderr (stdout carries only the `Listening on` line), filtered by `RUST_LOG` and
/// at `info` by default.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
