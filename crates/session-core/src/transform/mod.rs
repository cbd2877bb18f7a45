//! Transformers seal the transported value (sign it, encrypt it) and unseal it on the way back.

mod encrypt;
#[cfg(feature = "ktor")]
mod ktor;
mod sign;

use std::fmt;
use std::sync::Arc;

pub use self::encrypt::Encrypt;
#[cfg(feature = "ktor")]
#[cfg_attr(docsrs, doc(cfg(feature = "ktor")))]
pub use self::ktor::KtorEncrypt;
pub use self::sign::Sign;
use crate::SealError;

/// The result of unsealing a value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Unsealed {
    /// The value as it was before sealing.
    pub value: String,
    /// True when the value was sealed with an older key: seal it again with the current key
    /// so the old key can be retired.
    pub stale: bool,
}

impl Unsealed {
    /// An unsealed value; `stale` says whether an older key opened it.
    pub fn new(value: String, stale: bool) -> Self {
        Self { value, stale }
    }
}

/// One step of the transport encoding, such as a signature or encryption.
///
/// `name` is the session's name; a transformer may bind it (as AEAD associated data) so that a
/// value sealed for one session cannot be replayed as another.
///
/// Unsealing never fails loudly: anything forged, truncated or garbled is `None`, and the
/// request goes on without a session.
///
/// # Examples
///
/// ```
/// # use session_core::{SealError, Transformer, Unsealed};
///
/// /// Reverses the text (an illustration, not security).
/// #[derive(Debug)]
/// struct Reverse;
///
/// impl Transformer for Reverse {
///     fn seal(&self, _name: &str, value: &str) -> Result<String, SealError> {
///         Ok(value.chars().rev().collect())
///     }
///     fn unseal(&self, _name: &str, value: &str) -> Option<Unsealed> {
///         Some(Unsealed::new(value.chars().rev().collect(), false))
///     }
/// }
///
/// assert_eq!(Reverse.seal("s", "abc").unwrap(), "cba");
/// ```
pub trait Transformer: fmt::Debug + Send + Sync + 'static {
    /// Seals a value for the session `name`.
    ///
    /// # Errors
    ///
    /// [`SealError`] when the value cannot be sealed.
    fn seal(&self, name: &str, value: &str) -> Result<String, SealError>;

    /// Unseals a received value, or `None` when it is not authentic or not well-formed.
    fn unseal(&self, name: &str, value: &str) -> Option<Unsealed>;
}

/// Transformers applied in registration order when sealing and in reverse order when
/// unsealing; any step that fails to unseal makes the whole value unusable.
///
/// # Examples
///
/// ```
/// # use session_core::{Encrypt, EncryptionKey, Sign, SigningKey, TransformerChain};
///
/// let chain = TransformerChain::new()
///     .with(Encrypt::new(EncryptionKey::generate()))
///     .with(Sign::new(SigningKey::generate()));
/// let sealed = chain.seal("cart", "{\"items\":[]}").unwrap();
/// assert_eq!(chain.unseal("cart", &sealed).unwrap().value, "{\"items\":[]}");
/// assert!(chain.unseal("other", &sealed).is_none()); // bound to the session name
/// ```
#[derive(Debug, Clone, Default)]
pub struct TransformerChain {
    steps: Vec<Arc<dyn Transformer>>,
}

impl TransformerChain {
    /// An empty chain, which passes values through unchanged.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a transformer.
    #[must_use]
    pub fn with(mut self, transformer: impl Transformer) -> Self {
        self.push(Arc::new(transformer));
        self
    }

    /// Appends a shared transformer.
    pub fn push(&mut self, transformer: Arc<dyn Transformer>) {
        self.steps.push(transformer);
    }

    /// True when the chain has no steps.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// How many steps the chain has.
    #[must_use]
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Seals through every step in registration order.
    ///
    /// # Errors
    ///
    /// The first step's [`SealError`].
    pub fn seal(&self, name: &str, value: &str) -> Result<String, SealError> {
        let Some((first, rest)) = self.steps.split_first() else {
            return Ok(value.to_owned());
        };
        let mut sealed = first.seal(name, value)?;
        for step in rest {
            sealed = step.seal(name, &sealed)?;
        }
        Ok(sealed)
    }

    /// Unseals through every step in reverse order; `stale` is set if any step used an
    /// older key.
    pub fn unseal(&self, name: &str, value: &str) -> Option<Unsealed> {
        let mut steps = self.steps.iter().rev();
        let Some(last) = steps.next() else {
            return Some(Unsealed::new(value.to_owned(), false));
        };
        let mut current = last.unseal(name, value)?;
        for step in steps {
            let next = step.unseal(name, &current.value)?;
            current = Unsealed::new(next.value, current.stale || next.stale);
        }
        Some(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ktor's test transformer: appends `;suffix` and strips it again.
    #[derive(Debug)]
    struct Append(&'static str);

    impl Transformer for Append {
        fn seal(&self, _name: &str, value: &str) -> Result<String, SealError> {
            Ok(format!("{value};{}", self.0))
        }
        fn unseal(&self, _name: &str, value: &str) -> Option<Unsealed> {
            let kept = value.strip_suffix(self.0)?.strip_suffix(';')?;
            Some(Unsealed::new(kept.to_owned(), false))
        }
    }

    #[test]
    fn applied_in_order_on_seal_and_in_reverse_on_unseal() {
        let chain = TransformerChain::new().with(Append("1")).with(Append("2"));
        assert_eq!(chain.seal("s", "0").unwrap(), "0;1;2");
        assert_eq!(chain.unseal("s", "0;1;2").unwrap().value, "0");
        assert!(chain.unseal("s", "0;2;1").is_none());
    }

    #[test]
    fn staleness_propagates_through_the_chain() {
        let old = crate::SigningKey::generate();
        let new = crate::SigningKey::generate();
        let sealed = TransformerChain::new()
            .with(Sign::new(old.clone()))
            .with(Append("x"))
            .seal("s", "v")
            .unwrap();
        let rotated = TransformerChain::new()
            .with(Sign::new(new).with_previous_key(old))
            .with(Append("x"));
        let unsealed = rotated.unseal("s", &sealed).unwrap();
        assert_eq!(unsealed.value, "v");
        assert!(unsealed.stale);
    }
}
