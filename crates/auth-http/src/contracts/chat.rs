//! The `chat` contract (seed 000), HTTP part: `POST /auth/login` with the
//! `App-Id` and `Authorization` headers. Every refusal is 400
//! `{"error":"Invalid request"}` (413 with that body for an oversized one); an infrastructure failure is 503
//! `{"error":"Service unavailable"}`. The WebSocket part is `auth_ws::chat`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use auth_domain::chat::use_cases::{ChatLoginError, ChatProfileInput};

use crate::body::{Body, BodyError, ContractBody};
use crate::contracts::envelope::{Common, ContractError, Envelope, Reply, response_error};
use crate::openapi::Op;
use crate::routes::{Access, Method, Route};
use crate::state::AppState;

/// Contract name.
pub const NAME: &str = "chat";

/// The body of every refusal.
pub const INVALID_REQUEST: &str = "Invalid request";

/// `{"error": "<message>"}`.
#[derive(Debug)]
pub struct ChatEnvelope;

impl Envelope for ChatEnvelope {
    const NAME: &'static str = NAME;

    fn body(reply: &Reply) -> Value {
        json!({"error": reply.message})
    }

    fn invalid(problem: &Common) -> Reply {
        match problem {
            Common::Body(BodyError::TooLarge) => Reply::new(StatusCode::PAYLOAD_TOO_LARGE, INVALID_REQUEST),
            _ => Reply::new(StatusCode::BAD_REQUEST, INVALID_REQUEST),
        }
    }

    fn unavailable() -> Reply {
        Reply::new(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable")
    }
}

/// Everything a chat login can fail with: the document knows one refusal.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// Shared failures (body, 503).
    #[error(transparent)]
    Common(#[from] Common),
    /// Anything else: `{"error":"Invalid request"}`.
    #[error("invalid request")]
    Invalid,
}

impl From<BodyError> for ChatError {
    fn from(e: BodyError) -> Self {
        Self::Common(Common::Body(e))
    }
}

impl From<ChatLoginError> for ChatError {
    fn from(e: ChatLoginError) -> Self {
        match e {
            ChatLoginError::UnknownApp
            | ChatLoginError::Token(_)
            | ChatLoginError::Mismatch
            | ChatLoginError::InvalidProfile => Self::Invalid,
            ChatLoginError::Internal(e) => Common::Unavailable(e).into(),
        }
    }
}

impl ContractError for ChatError {
    type Envelope = ChatEnvelope;

    fn reply(&self) -> Reply {
        match self {
            Self::Common(c) => ChatEnvelope::common(c),
            Self::Invalid => Reply::new(StatusCode::BAD_REQUEST, INVALID_REQUEST),
        }
    }

    fn outage(&self) -> Option<&auth_domain::PortError> {
        match self {
            Self::Common(Common::Unavailable(e)) => Some(e),
            Self::Invalid => None,
            Self::Common(_) => None,
        }
    }
}

response_error!(ChatError);

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

/// `POST /auth/login` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatLoginRequest)]
pub struct LoginRequest {
    /// The token's user (the app's user id; for our own access tokens, our
    /// user's UUID or login id).
    #[schema(required = true, example = "user-12345")]
    user_id: Option<String>,
    /// Nickname.
    nickname: Option<String>,
    /// AWS S3 URL.
    profile_image_url: Option<String>,
    /// User ids of the same app.
    friends: Option<Vec<String>>,
}

impl ContractBody for LoginRequest {
    type Error = ChatError;
}

impl LoginRequest {
    fn into_input(self) -> Result<ChatProfileInput, ChatError> {
        let user_id = self
            .user_id
            .filter(|u| !u.trim().is_empty())
            .ok_or(ChatError::Invalid)?;
        Ok(ChatProfileInput {
            user_id,
            nickname: self.nickname,
            profile_image_url: self.profile_image_url,
            friends: self.friends.unwrap_or_default(),
        })
    }
}

/// A successful chat login.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatLoginResponse)]
pub struct LoginResponse {
    /// `success`.
    status: &'static str,
    /// The `userId` sent.
    user_id: String,
    /// The token's expiry, `2025-01-18T12:00:00Z`.
    expires_at: String,
}

/// The refusal.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ChatErrorBody)]
pub struct ErrorBody {
    /// `Invalid request` (or `Service unavailable`).
    error: String,
}

/// `POST /auth/login`.
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body<LoginRequest>,
) -> Result<HttpResponse, ChatError> {
    let (Some(app_id), Some(token)) = (header_value(&req, "app-id"), token(&req)) else {
        return Err(ChatError::Invalid);
    };
    let input = body.into_input()?;
    let login = state.auth.chat().chat_login(app_id, token, input).await?;
    Ok(HttpResponse::Ok().json(LoginResponse {
        status: "success",
        user_id: login.user_id,
        expires_at: iso_seconds(login.expires_at),
    }))
}

/// This contract's route table (its socket events are served at `/ws`).
pub fn routes() -> Vec<Route> {
    vec![Route {
        method: Method::Post,
        path: "/auth/login",
        id: "chat.login",
        to: || web::post().to(login),
        rate_limit: None,
        access: Access::Public,
        doc: || {
            let invalid = json!({"error": INVALID_REQUEST});
            Op::new("chat", "chat.login", "User Login")
                .describe(
                    "사용자를 인증하고 고유한 사용자 ID와 액세스 토큰을 반환합니다. `App-Id` names a registered \
                     application; `Authorization` carries a JWT signed by that app (HS256, claims `sub`, \
                     `app_id`, `iat`, `exp`) or one of this service's access tokens, with or without `Bearer `.",
                )
                .header_param("App-Id", "A registered application's id.", true)
                .header_param("Authorization", "The user's token (`Bearer ` optional).", true)
                .body::<LoginRequest>(json!({"userId": "user-12345", "nickname": "nick", "profileImageUrl": "https://bucket.s3.amazonaws.com/a.png", "friends": []}))
                .reply::<LoginResponse>(
                    200,
                    "Logged in to the app's chat.",
                    json!({"status": "success", "userId": "user-12345", "expiresAt": "2025-01-18T12:00:00Z"}),
                )
                .reply::<ErrorBody>(400, "Any refusal.", invalid.clone())
                .reply::<ErrorBody>(413, "Body over `AUTH_MAX_BODY_BYTES`.", invalid)
                .reply::<ErrorBody>(503, "The service cannot answer now.", json!({"error": "Service unavailable"}))
        },
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(bytes: &[u8]) -> Result<ChatProfileInput, ()> {
        crate::body::parse_typed::<LoginRequest>(bytes)
            .map_err(|_| ())?
            .into_input()
            .map_err(|_| ())
    }

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
            b"  ",
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
