//! The `chat` contract (seed 000), HTTP part: `POST /auth/login` with the
//! `App-Id` and `Authorization` headers. Every refusal is 400
//! `{"error":"Invalid request"}` (413 with that body for an oversized one); an infrastructure failure is 503
//! `{"error":"Service unavailable"}`. The WebSocket part is `auth_ws::chat`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use auth_domain::service::{ChatLoginError, ChatProfileInput};

use crate::body::{BodyError, read_bytes};
use crate::contracts::log_internal;
use crate::state::AppState;

/// Contract name.
pub const NAME: &str = "chat";

/// The body of every refusal.
pub const INVALID_REQUEST: &str = "Invalid request";

fn error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({"error": message}))
}

fn invalid() -> HttpResponse {
    error(StatusCode::BAD_REQUEST, INVALID_REQUEST)
}

/// The one place this contract maps a use-case error to a response.
fn fail(e: ChatLoginError) -> HttpResponse {
    match e {
        ChatLoginError::UnknownApp
        | ChatLoginError::Token(_)
        | ChatLoginError::Mismatch
        | ChatLoginError::InvalidProfile => invalid(),
        ChatLoginError::Internal(e) => {
            log_internal(NAME, &e);
            error(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable")
        }
    }
}

/// `2025-01-18T12:00:00Z`.
pub(crate) fn iso_seconds(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn header_value(req: &HttpRequest, name: impl actix_web::http::header::AsHeaderName) -> Option<&str> {
    req.headers()
        .get(name)?
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The token of `Authorization`: a raw JWT, or `Bearer <jwt>`.
fn token(req: &HttpRequest) -> Option<&str> {
    let value = header_value(req, header::AUTHORIZATION)?;
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => value,
    };
    (!token.is_empty()).then_some(token)
}

fn optional_string(body: &serde_json::Map<String, Value>, name: &str) -> Result<Option<String>, ()> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(()),
    }
}

/// Parses `{userId, nickname?, profileImageUrl?, friends?: [string]}`.
fn profile(bytes: &[u8]) -> Result<ChatProfileInput, ()> {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(bytes) else {
        return Err(());
    };
    let user_id = optional_string(&body, "userId")?
        .filter(|u| !u.trim().is_empty())
        .ok_or(())?;
    let friends = match body.get("friends") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(items)) => items
            .iter()
            .map(|f| f.as_str().map(str::to_owned).ok_or(()))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(()),
    };
    Ok(ChatProfileInput {
        user_id,
        nickname: optional_string(&body, "nickname")?,
        profile_image_url: optional_string(&body, "profileImageUrl")?,
        friends,
    })
}

/// `POST /auth/login`.
pub async fn login(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let bytes = match read_bytes(payload, state.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(BodyError::TooLarge) => return error(StatusCode::PAYLOAD_TOO_LARGE, INVALID_REQUEST),
        Err(_) => return invalid(),
    };
    let (Some(app_id), Some(token)) = (header_value(&req, "app-id"), token(&req)) else {
        return invalid();
    };
    let Ok(input) = profile(&bytes) else {
        return invalid();
    };
    match state.auth.chat_login(app_id, token, input).await {
        Ok(login) => HttpResponse::Ok().json(json!({
            "status": "success",
            "userId": login.user_id,
            "expiresAt": iso_seconds(login.expires_at),
        })),
        Err(e) => fail(e),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bodies_are_parsed_strictly() {
        let p = profile(
            br#"{"userId":"u","nickname":"n","profileImageUrl":"https://x/y.png","friends":["a","b"]}"#,
        )
        .unwrap();
        assert_eq!(p.user_id, "u");
        assert_eq!(p.friends, vec!["a".to_owned(), "b".to_owned()]);
        assert_eq!(
            profile(br#"{"userId":"u"}"#).unwrap().friends,
            Vec::<String>::new()
        );
        for bad in [
            &b""[..],
            b"[]",
            b"{",
            br#"{}"#,
            br#"{"userId":" "}"#,
            br#"{"userId":1}"#,
            br#"{"userId":"u","friends":"a"}"#,
            br#"{"userId":"u","friends":[1]}"#,
            br#"{"userId":"u","nickname":3}"#,
        ] {
            assert!(profile(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn expiry_is_iso_seconds_utc() {
        let t = DateTime::from_timestamp(1_737_201_600, 0).unwrap();
        assert_eq!(iso_seconds(t), "2025-01-18T12:00:00Z");
    }
}
