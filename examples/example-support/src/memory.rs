//! The examples' memory storage, bounded by [`MEMORY_STORE_CAPACITY_VAR`].

use std::num::NonZeroUsize;
use std::sync::Arc;

use session_core::{DynSessionStore, MemoryStore};

use crate::error::StartError;

/// The variable holding the most sessions the memory storage keeps (a whole number above
/// zero); past it, a new session evicts the one that expires soonest.
pub const MEMORY_STORE_CAPACITY_VAR: &str = "MEMORY_STORE_CAPACITY";
/// The capacity used when [`MEMORY_STORE_CAPACITY_VAR`] is not set: about 3 MB of carts.
pub const DEFAULT_MEMORY_STORE_CAPACITY: usize = 10_000;

/// A [`MemoryStore::with_capacity`] of [`MEMORY_STORE_CAPACITY_VAR`] sessions, or
/// [`DEFAULT_MEMORY_STORE_CAPACITY`]: never unbounded, so a flood of anonymous requests
/// cannot grow the process without limit.
///
/// # Errors
///
/// [`StartError::Capacity`] when the variable is set but is not a whole number above zero.
pub fn memory_store() -> Result<Arc<dyn DynSessionStore>, StartError> {
    let variable = MEMORY_STORE_CAPACITY_VAR;
    let capacity = match std::env::var(variable) {
        Err(std::env::VarError::NotPresent) => DEFAULT_MEMORY_STORE_CAPACITY,
        Ok(text) => text
            .trim()
            .parse::<usize>()
            .map_err(|_| StartError::Capacity { variable })?,
        Err(std::env::VarError::NotUnicode(_)) => return Err(StartError::Capacity { variable }),
    };
    let capacity = NonZeroUsize::new(capacity).ok_or(StartError::Capacity { variable })?;
    Ok(Arc::new(MemoryStore::with_capacity(capacity)))
}
