//! Redis storage for typed sessions (work in progress).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
