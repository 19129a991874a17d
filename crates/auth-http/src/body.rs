//! Reading request bodies without losing control of the error envelope.
//!
//! actix's `Json` extractor answers malformed or oversized bodies in its own
//! plain-text shape; every contract here must answer in its own envelope.
//! Handlers take [`Body<T>`] of a typed request (whose [`ContractBody::Error`]
//! is the contract's error type), or read the payload through [`read_json`]
//! where the shape is decided by the body itself (the login dispatcher).

use actix_web::dev::Payload;
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::Deserialize;
use serde::de::DeserializeOwned;
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
    /// A field (its path, e.g. `friends[2]`) has the wrong JSON type.
    WrongType(String),
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
}

/// Reads the whole payload, refusing more than `limit` bytes.
///
/// # Errors
/// [`BodyError::TooLarge`] or [`BodyError::Unreadable`].
pub async fn read_bytes<E>(
    mut payload: impl futures_util::Stream<Item = Result<Bytes, E>> + Unpin,
    limit: usize,
) -> Result<Bytes, BodyError> {
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

/// Parses bytes as a `T`: an empty body counts as `{}` (so that a contract
/// reports the first missing field, not a parse error); anything but a JSON
/// object is [`BodyError::NotJson`] or [`BodyError::NotObject`]; a field of
/// the wrong type is [`BodyError::WrongType`] with its path (found by
/// `serde_path_to_error`). Unknown fields are ignored.
///
/// # Errors
/// [`BodyError`] as above.
pub fn parse_typed<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyError> {
    let JsonObject(map) = JsonObject::parse(bytes)?;
    from_object(map)
}

/// Deserializes an already parsed object as a `T` (see [`parse_typed`]).
///
/// # Errors
/// [`BodyError::WrongType`] naming the field.
pub fn from_object<T: DeserializeOwned>(map: Map<String, Value>) -> Result<T, BodyError> {
    serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
        let path = e.path().to_string();
        BodyError::WrongType(if path == "." { String::new() } else { path })
    })
}

impl JsonObject {
    /// The object as a `T` (see [`parse_typed`]).
    ///
    /// # Errors
    /// [`BodyError::WrongType`] naming the field.
    pub fn into_typed<T: DeserializeOwned>(self) -> Result<T, BodyError> {
        from_object(self.0)
    }
}

/// Reads the payload and parses it as a `T` (see [`parse_typed`]), for
/// handlers that must check something (the admin token) before the body.
///
/// # Errors
/// [`BodyError`].
pub async fn read_typed<T: DeserializeOwned>(payload: web::Payload, limit: usize) -> Result<T, BodyError> {
    let bytes = read_bytes(payload, limit).await?;
    parse_typed(&bytes)
}

/// A request body of a contract's type `T`, read within
/// `AUTH_MAX_BODY_BYTES` and parsed by [`parse_typed`]; a problem is
/// answered in the contract's envelope (`T::Error`).
#[derive(Debug)]
pub struct Body<T>(pub T);

/// A request body type of one contract.
pub trait ContractBody: DeserializeOwned + 'static {
    /// The contract's error, which renders body problems in its envelope.
    type Error: From<BodyError> + Into<actix_web::Error> + 'static;
}

impl<T: ContractBody> FromRequest for Body<T> {
    type Error = T::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<crate::state::AppState>>()
            .map_or(DEFAULT_LIMIT, |s| s.max_body_bytes);
        let payload = payload.take();
        Box::pin(async move {
            let bytes = read_bytes(payload, limit).await?;
            Ok(Body(parse_typed(&bytes)?))
        })
    }
}

/// The body limit when no application state is there (never in the
/// service; the settings' default).
const DEFAULT_LIMIT: usize = 64 * 1024;

/// Deserializes an integer sent as a JSON number or as a string of digits
/// (the `account` document sends numeric ids both ways).
///
/// # Errors
/// A serde error (reported as the field's wrong type).
pub fn int_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum IntOrString {
        Int(i64),
        Str(String),
    }
    match Option::<IntOrString>::deserialize(d)? {
        None => Ok(None),
        Some(IntOrString::Int(n)) => Ok(Some(n)),
        Some(IntOrString::Str(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom("not an integer")),
    }
}

#[cfg(test)]
mod tests {
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
        let o = JsonObject::parse(br#"{"a":1,"b":null}"#).unwrap();
        assert!(o.has("a") && o.has("b") && !o.has("c"));
    }
}

#[cfg(test)]
mod typed_tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Login {
        username: Option<String>,
        #[serde(default, deserialize_with = "int_or_string")]
        id: Option<i64>,
        friends: Option<Vec<String>>,
    }

    #[test]
    fn typed_bodies_name_the_wrong_field() {
        let empty: Login = parse_typed(b"").unwrap();
        assert_eq!(empty.username, None);
        let ok: Login = parse_typed(br#"{"username":"a","id":"7","extra":1}"#).unwrap();
        assert_eq!((ok.username.as_deref(), ok.id), (Some("a"), Some(7)));
        assert_eq!(parse_typed::<Login>(br#"{"id":7}"#).unwrap().id, Some(7));
        assert_eq!(
            parse_typed::<Login>(br#"{"username":1}"#).unwrap_err(),
            BodyError::WrongType("username".into())
        );
        assert_eq!(
            parse_typed::<Login>(br#"{"id":"x"}"#).unwrap_err(),
            BodyError::WrongType("id".into())
        );
        assert_eq!(
            parse_typed::<Login>(br#"{"friends":["a",2]}"#).unwrap_err(),
            BodyError::WrongType("friends[1]".into())
        );
        assert_eq!(parse_typed::<Login>(b"[]").unwrap_err(), BodyError::NotObject);
        assert_eq!(parse_typed::<Login>(b"{").unwrap_err(), BodyError::NotJson);
    }
}
