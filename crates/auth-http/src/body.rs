//! Reading request bodies without losing control of the error envelope.
//!
//! actix's `Json` extractor answers malformed or oversized bodies in its own
//! plain-text shape; every contract here must answer in its own envelope, so
//! handlers read the payload through [`read_json`] and map [`BodyError`]
//! themselves.

use actix_web::web::{self, Bytes, BytesMut};
use futures_util::StreamExt;
use serde_json::{Map, Value};

/// Why a request body could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Larger than the configured limit.
    TooLarge,
    /// The connection failed while reading.
    Unreadable,
    /// Not JSON (or not UTF-8).
    NotJson,
    /// JSON, but not an object.
    NotObject,
    /// A field has the wrong JSON type.
    WrongType(&'static str),
}

/// A parsed JSON object body. An empty body counts as `{}`, so that each
/// contract reports the first missing field rather than a parse error.
#[derive(Debug, Clone, Default)]
pub struct JsonObject(Map<String, Value>);

impl JsonObject {
    /// Parses bytes into an object.
    ///
    /// # Errors
    /// [`BodyError::NotJson`] or [`BodyError::NotObject`].
    pub fn parse(bytes: &[u8]) -> Result<Self, BodyError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(_) => Err(BodyError::NotObject),
            Err(_) => Err(BodyError::NotJson),
        }
    }

    /// Whether the object has `name` (with any value, even null).
    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// A string field: `Ok(None)` when absent or null.
    ///
    /// # Errors
    /// [`BodyError::WrongType`] when present with another type.
    pub fn str(&self, name: &'static str) -> Result<Option<&str>, BodyError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(BodyError::WrongType(name)),
        }
    }

    /// A string field that must be non-blank: `Ok(None)` when absent, null,
    /// empty or only whitespace.
    ///
    /// # Errors
    /// [`BodyError::WrongType`] when present with another type.
    pub fn non_blank(&self, name: &'static str) -> Result<Option<&str>, BodyError> {
        Ok(self.str(name)?.filter(|s| !s.trim().is_empty()))
    }

    /// An integer field: `Ok(None)` when absent or null. A string of digits
    /// is accepted too.
    ///
    /// # Errors
    /// [`BodyError::WrongType`] when present and not an integer.
    pub fn int(&self, name: &'static str) -> Result<Option<i64>, BodyError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or(BodyError::WrongType(name)),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| BodyError::WrongType(name)),
            Some(_) => Err(BodyError::WrongType(name)),
        }
    }
}

/// Reads the whole payload, refusing more than `limit` bytes.
///
/// # Errors
/// [`BodyError::TooLarge`] or [`BodyError::Unreadable`].
pub async fn read_bytes(mut payload: web::Payload, limit: usize) -> Result<Bytes, BodyError> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| BodyError::Unreadable)?;
        if buf.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Reads and parses a JSON object body.
///
/// # Errors
/// Any [`BodyError`] but `WrongType`.
pub async fn read_json(payload: web::Payload, limit: usize) -> Result<JsonObject, BodyError> {
    let bytes = read_bytes(payload, limit).await?;
    JsonObject::parse(&bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn empty_body_is_an_empty_object() {
        assert!(!JsonObject::parse(b"").unwrap().has("x"));
        assert!(!JsonObject::parse(b"  \n").unwrap().has("x"));
    }

    #[test]
    fn shapes_are_classified() {
        assert_eq!(JsonObject::parse(b"[1]").err(), Some(BodyError::NotObject));
        assert_eq!(JsonObject::parse(b"{\"a\":").err(), Some(BodyError::NotJson));
        assert_eq!(JsonObject::parse(b"\xff\xfe").err(), Some(BodyError::NotJson));
        let o = JsonObject::parse(br#"{"a":1,"b":"  ","c":"x","d":"7"}"#).unwrap();
        assert_eq!(o.str("a"), Err(BodyError::WrongType("a")));
        assert_eq!(o.non_blank("b"), Ok(None));
        assert_eq!(o.non_blank("c"), Ok(Some("x")));
        assert_eq!(o.int("a"), Ok(Some(1)));
        assert_eq!(o.int("d"), Ok(Some(7)));
        assert_eq!(o.int("c"), Err(BodyError::WrongType("c")));
    }
}
