//! The internal admin API, for other backend services: authenticated by
//! `Authorization: Bearer <AUTH_ADMIN_TOKEN>`, disabled (403) when no token
//! is configured. Envelope: `{"success", "message"}` like the `session`
//! contract whose `NOTIFICATION` it feeds.
// Same early-return pattern as the contract modules (see `contracts`).
#![allow(clippy::result_large_err)]

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Digest;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use auth_domain::chat::CreatedApp;
use auth_domain::service::{CreateAppError, NotifyError};

use crate::body::{BodyError, read_typed};
use crate::contracts::bearer_token;
use crate::contracts::envelope::{
    Common, ContractError, Envelope, Reply, TOO_LARGE, UNAVAILABLE, response_error,
};
use crate::openapi::Op;
use crate::routes::{Method, Route};
use crate::state::AppState;

/// `{"success": false, "message"}`, like `session`'s.
#[derive(Debug)]
pub struct InternalEnvelope;

impl Envelope for InternalEnvelope {
    const NAME: &'static str = "internal";

    fn body(reply: &Reply) -> Value {
        json!({"success": false, "message": reply.message})
    }

    fn invalid(problem: &Common) -> Reply {
        match problem {
            Common::Body(BodyError::TooLarge) => Reply::new(StatusCode::PAYLOAD_TOO_LARGE, TOO_LARGE),
            _ => Reply::new(StatusCode::BAD_REQUEST, "잘못된 요청 형식입니다."),
        }
    }

    fn unavailable() -> Reply {
        Reply::new(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE)
    }
}

/// Everything the internal API can fail with.
#[derive(Debug, thiserror::Error)]
pub enum InternalError {
    /// Shared failures (body, 503).
    #[error(transparent)]
    Common(#[from] Common),
    /// No admin token is configured: the API is off.
    #[error("admin API disabled")]
    Disabled,
    /// The bearer token is missing or wrong.
    #[error("admin authentication required")]
    Unauthorized,
    /// A request field is missing or out of range; the message says which.
    #[error("invalid request: {0}")]
    Invalid(&'static str),
    /// The user named does not exist.
    #[error("unknown user")]
    UnknownUser,
}

impl From<BodyError> for InternalError {
    fn from(e: BodyError) -> Self {
        Self::Common(Common::Body(e))
    }
}

impl From<auth_domain::PortError> for InternalError {
    fn from(e: auth_domain::PortError) -> Self {
        Self::Common(Common::Unavailable(e))
    }
}

impl From<NotifyError> for InternalError {
    fn from(e: NotifyError) -> Self {
        match e {
            NotifyError::UnknownUser => Self::UnknownUser,
            NotifyError::InvalidMessage => Self::Invalid("message는 1~1000자여야 합니다."),
            NotifyError::Internal(e) => e.into(),
        }
    }
}

impl From<CreateAppError> for InternalError {
    fn from(e: CreateAppError) -> Self {
        match e {
            CreateAppError::InvalidName => Self::Invalid("name은 1~100자여야 합니다."),
            CreateAppError::Internal(e) => e.into(),
        }
    }
}

impl ContractError for InternalError {
    type Envelope = InternalEnvelope;

    fn reply(&self) -> Reply {
        match self {
            Self::Common(c) => InternalEnvelope::common(c),
            Self::Disabled => Reply::new(StatusCode::FORBIDDEN, "관리자 API가 비활성화되어 있습니다."),
            Self::Unauthorized => Reply::new(StatusCode::UNAUTHORIZED, "관리자 인증이 필요합니다."),
            Self::Invalid(message) => Reply::new(StatusCode::BAD_REQUEST, *message),
            Self::UnknownUser => Reply::new(StatusCode::NOT_FOUND, "존재하지 않는 사용자입니다."),
        }
    }

    fn outage(&self) -> Option<&auth_domain::PortError> {
        match self {
            Self::Common(Common::Unavailable(e)) => Some(e),
            _ => None,
        }
    }
}

response_error!(InternalError);

/// Checks the admin bearer token in constant time.
///
/// # Errors
/// [`InternalError::Disabled`] or [`InternalError::Unauthorized`].
pub(crate) fn authorize(state: &AppState, req: &HttpRequest) -> Result<(), InternalError> {
    let Some(expected) = &state.admin_token else {
        return Err(InternalError::Disabled);
    };
    let presented = bearer_token(req).unwrap_or_default();
    // Digests of equal length are compared, so neither the token's length
    // nor where it first differs shows in the timing; a blank token never
    // gets here (settings refuse it).
    let digest = |s: &str| sha2::Sha256::digest(s.as_bytes());
    if !presented.is_empty() && bool::from(digest(presented).ct_eq(&digest(expected.expose_secret()))) {
        Ok(())
    } else {
        Err(InternalError::Unauthorized)
    }
}

/// `POST /internal/notifications` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotifyRequest {
    /// The user: UUID or login id.
    #[schema(required = true, example = "parkh")]
    user_id: Option<String>,
    /// The text, 1 to 1,000 characters.
    #[schema(required = true, example = "공지사항이 있습니다.")]
    message: Option<String>,
}

/// `POST /internal/apps` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateAppRequest {
    /// A human-readable name, 1 to 100 characters.
    #[schema(required = true, example = "Chat")]
    name: Option<String>,
}

/// `{"success": true, "message"}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = InternalMessage)]
pub struct Message {
    /// `true` on success, `false` on failure.
    success: bool,
    /// What happened.
    message: String,
}

/// A registered application, with its secret (shown once).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedAppResponse {
    /// The `App-Id` clients send.
    app_id: String,
    /// The name.
    name: String,
    /// The HS256 secret the app's backend signs its users' tokens with.
    secret: String,
}

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventView {
    /// When, `2025-12-08T11:00:00.000Z`.
    at: String,
    /// `login_success`, `login_failure`, `logout`, `token_reuse`, …
    kind: String,
    /// The user's numeric id, when known.
    user_id: Option<i64>,
    /// The session, when one is involved.
    session_id: Option<String>,
    /// The client IP.
    ip: Option<String>,
    /// The client's user agent.
    user_agent: Option<String>,
}

/// `{"success": true, "events": […]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditResponse {
    /// Always `true`.
    success: bool,
    /// Newest first.
    events: Vec<AuditEventView>,
}

/// `POST /internal/notifications` `{userId, message}`: pushes `NOTIFICATION`
/// to every socket of the user (UUID or login id), on every instance.
pub async fn notify(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, InternalError> {
    authorize(&state, &req)?;
    let body: NotifyRequest = read_typed(payload, state.max_body_bytes).await?;
    let invalid = || InternalError::Invalid("userId와 message를 입력해주세요.");
    let user = body
        .user_id
        .as_deref()
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(invalid)?;
    let message = body.message.as_deref().ok_or_else(invalid)?;
    state.auth.notify(user, message).await?;
    Ok(HttpResponse::Ok().json(Message {
        success: true,
        message: "알림을 전송했습니다.".into(),
    }))
}

/// `POST /internal/apps` `{name}`: registers a `chat` application and
/// answers 201 `{"appId","name","secret"}`. The secret is shown here once
/// and never logged.
pub async fn create_app(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, InternalError> {
    authorize(&state, &req)?;
    let body: CreateAppRequest = read_typed(payload, state.max_body_bytes).await?;
    let name = body
        .name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .ok_or(InternalError::Invalid("name을 입력해주세요."))?;
    let created = state.auth.create_app(name).await?;
    Ok(HttpResponse::Created().json(app_json(&created)))
}

/// `{"appId","name","secret"}`: the answer of `POST /internal/apps` and of
/// `auth-server apps create`.
pub fn app_json(created: &CreatedApp) -> Value {
    serde_json::to_value(CreatedAppResponse {
        app_id: created.app.id.as_str().to_owned(),
        name: created.app.name.clone(),
        secret: created.secret.clone(),
    })
    .unwrap_or(Value::Null)
}

/// `GET /internal/audit?user=<numeric id>&limit=<1..1000, default 100>`:
/// the latest audit events, newest first, of one user or of everyone.
pub async fn audit(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, InternalError> {
    authorize(&state, &req)?;
    let query = web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
        .map_err(|_| InternalError::Invalid("잘못된 요청 형식입니다."))?;
    let user = match query.get("user").map(|u| u.trim()).filter(|u| !u.is_empty()) {
        None => None,
        Some(raw) => Some(auth_domain::user::UserId::new(
            raw.parse::<i64>()
                .map_err(|_| InternalError::Invalid("user는 숫자여야 합니다."))?,
        )),
    };
    let limit = match query.get("limit").map(|l| l.trim()) {
        None | Some("") => 100,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or(InternalError::Invalid("limit은 1~1000 사이의 숫자여야 합니다."))?,
    };
    let events = state.auth.audit_trail(user, limit).await?;
    let events = events
        .iter()
        .map(|e| AuditEventView {
            at: crate::contracts::iso_millis(e.at),
            kind: e.kind.as_str().to_owned(),
            user_id: e.user_id.map(auth_domain::user::UserId::get),
            session_id: e.session_id.map(|s| s.to_string()),
            ip: e.ip.map(|ip| ip.to_string()),
            user_agent: e.user_agent.clone(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(AuditResponse {
        success: true,
        events,
    }))
}

fn failure(message: &str) -> Value {
    json!({"success": false, "message": message})
}

/// The answers every internal route can give.
fn admin_errors(op: Op) -> Op {
    op.bearer("adminToken")
        .reply::<Message>(
            401,
            "No or a wrong admin token.",
            failure("관리자 인증이 필요합니다."),
        )
        .reply::<Message>(
            403,
            "`AUTH_ADMIN_TOKEN` is not set: the API is off.",
            failure("관리자 API가 비활성화되어 있습니다."),
        )
        .reply::<Message>(503, "The service cannot answer now.", failure(UNAVAILABLE))
}

/// The internal API's route table.
pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: Method::Post,
            path: "/internal/notifications",
            id: "internal.notify",
            to: || web::post().to(notify),
            rate_limit: None,
            doc: || {
                admin_errors(
                    Op::new("internal", "internal.notify", "Push NOTIFICATION to a user's sockets")
                        .describe("Every socket of the user, on every instance, gets `{\"type\":\"NOTIFICATION\",\"message\",\"timestamp\"}`.")
                        .body::<NotifyRequest>(json!({"userId": "parkh", "message": "공지사항이 있습니다."}))
                        .reply::<Message>(200, "Sent.", json!({"success": true, "message": "알림을 전송했습니다."}))
                        .reply::<Message>(400, "Missing fields, or a message outside 1–1000 characters.", failure("userId와 message를 입력해주세요."))
                        .reply::<Message>(404, "No such user.", failure("존재하지 않는 사용자입니다."))
                        .reply::<Message>(413, "Body over `AUTH_MAX_BODY_BYTES`.", failure(TOO_LARGE)),
                )
            },
        },
        Route {
            method: Method::Post,
            path: "/internal/apps",
            id: "internal.create_app",
            to: || web::post().to(create_app),
            rate_limit: None,
            doc: || {
                admin_errors(
                    Op::new("internal", "internal.create_app", "Register a chat application")
                        .body::<CreateAppRequest>(json!({"name": "Chat"}))
                        .reply::<CreatedAppResponse>(
                            201,
                            "Registered; the secret is shown this once.",
                            json!({"appId": "app_0123456789abcdef01234567", "name": "Chat", "secret": "…64 hex…"}),
                        )
                        .reply::<Message>(400, "Missing or invalid name.", failure("name을 입력해주세요."))
                        .reply::<Message>(413, "Body over `AUTH_MAX_BODY_BYTES`.", failure(TOO_LARGE)),
                )
            },
        },
        Route {
            method: Method::Get,
            path: "/internal/audit",
            id: "internal.audit",
            to: || web::get().to(audit),
            rate_limit: None,
            doc: || {
                admin_errors(
                    Op::new("internal", "internal.audit", "Read the audit trail")
                        .query_param("user", "Only this user's events (numeric id).", json!({"type": "integer"}))
                        .query_param("limit", "How many, 1–1000 (default 100).", json!({"type": "integer", "minimum": 1, "maximum": 1000}))
                        .reply::<AuditResponse>(
                            200,
                            "Newest first.",
                            json!({"success": true, "events": [{"at": "2025-12-08T11:00:00.000Z", "kind": "login_success", "userId": 1, "sessionId": "0192f0c1-7c1e-7a55-9d8e-3f5b2a1c4d6e", "ip": "203.0.113.7", "userAgent": "curl/8"}]}),
                        )
                        .reply::<Message>(400, "`user` or `limit` out of range.", failure("limit은 1~1000 사이의 숫자여야 합니다.")),
                )
            },
        },
    ]
}
