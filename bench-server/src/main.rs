//! Load-benchmark server (work in progress).
fn main() {}
