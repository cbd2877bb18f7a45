//! Serializers turn a session value into text and back.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{DeserializeError, SerializeError};

/// Turns a session value of type `T` into text and back.
///
/// Implement it to use another format than JSON; the text then goes through the transformers
/// (client-side sessions) or into the storage (server-side sessions).
///
/// # Examples
///
/// A compact custom format:
///
/// ```
/// # use session_core::{DeserializeError, SerializeError, Serializer};
///
/// struct Counter(u32);
/// struct CounterSerializer;
///
/// impl Serializer<Counter> for CounterSerializer {
///     fn serialize(&self, value: &Counter) -> Result<String, SerializeError> {
///         Ok(value.0.to_string())
///     }
///     fn deserialize(&self, text: &str) -> Result<Counter, DeserializeError> {
///         text.parse().map(Counter).map_err(|e| DeserializeError(Box::new(e)))
///     }
/// }
///
/// assert_eq!(CounterSerializer.deserialize("7").unwrap().0, 7);
/// assert!(CounterSerializer.deserialize("seven").is_err());
/// ```
pub trait Serializer<T>: Send + Sync + 'static {
    /// Turns the value into text.
    ///
    /// # Errors
    ///
    /// [`SerializeError`] when the value cannot be represented.
    fn serialize(&self, value: &T) -> Result<String, SerializeError>;

    /// Turns text back into a value.
    ///
    /// # Errors
    ///
    /// [`DeserializeError`] for text that is not a value of `T`, such as a session written
    /// by an older version of the type. Middleware treats it as "no session".
    fn deserialize(&self, text: &str) -> Result<T, DeserializeError>;
}

/// The default serializer: compact JSON through `serde_json`.
///
/// # Examples
///
/// ```
/// use serde::{Deserialize, Serialize};
/// # use session_core::{JsonSerializer, Serializer};
///
/// #[derive(Serialize, Deserialize, Debug, PartialEq)]
/// struct Cart { items: Vec<u32> }
///
/// let text = JsonSerializer.serialize(&Cart { items: vec![1, 3] }).unwrap();
/// assert_eq!(text, r#"{"items":[1,3]}"#);
/// assert!(Serializer::<Cart>::deserialize(&JsonSerializer, r#"{"id":1}"#).is_err());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonSerializer;

impl<T: Serialize + DeserializeOwned> Serializer<T> for JsonSerializer {
    fn serialize(&self, value: &T) -> Result<String, SerializeError> {
        serde_json::to_string(value).map_err(|e| SerializeError(Box::new(e)))
    }

    fn deserialize(&self, text: &str) -> Result<T, DeserializeError> {
        serde_json::from_str(text).map_err(|e| DeserializeError(Box::new(e)))
    }
}
