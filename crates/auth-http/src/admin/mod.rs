//! The internal admin API, for operators and other backend services, one
//! module per resource: [`users`], [`sessions`], [`apps`], [`keys`],
//! [`audit`], [`import`] (accounts with their password hashes) and
//! [`notifications`]. Each declares its routes in a route table, as the
//! contracts do, every row with the column
//! [`crate::routes::Access::Admin`]: the plan checks
//! `Authorization: Bearer <AUTH_ADMIN_TOKEN>` ([`authorize`]) before the
//! handler runs, and the API is off (403) when no token is configured. The
//! handlers parse, call one use case, and answer one of the typed
//! [`views`], which the `auth-server` commands ([`crate::cli`]) print too.
//!
//! What every resource shares lives here: the `{"success", "message"}`
//! envelope (like the `session` contract's, whose `NOTIFICATION` it
//! feeds), the error type, the admin check, the documented answers of every
//! admin route, and the parsers of ids and queries.
// Same early-return pattern as the contract modules (see `contracts`).
#![allow(clippy::result_large_err)]

pub mod apps;
pub mod audit;
pub mod import;
pub mod keys;
pub mod notifications;
pub mod oauth_clients;
pub mod sessions;
pub mod users;
pub mod views;

use std::collections::HashMap;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::Digest;
use subtle::ConstantTimeEq;

use auth_domain::chat::AppId;
use auth_domain::chat::use_cases::CreateAppError;
use auth_domain::identity::user::UserId;
use auth_domain::sessions::session::SessionId;
use auth_domain::sessions::status::NotifyError;

use crate::body::BodyError;
use crate::contracts::bearer_token;
use crate::contracts::envelope::{
    Common, ContractError, Envelope, Reply, TOO_LARGE, UNAVAILABLE, response_error,
};
use crate::openapi::Op;
use crate::routes::Route;
use crate::state::AppState;

/// `{"success": false, "message"}`, like `session`'s.
#[derive(Debug)]
pub struct InternalEnvelope;

impl Envelope for InternalEnvelope {
    const NAME: &'static str = "internal";

    fn body(reply: &Reply) -> Value {
        failure(&reply.message)
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
    /// The session named does not exist.
    #[error("unknown session")]
    UnknownSession,
    /// The application named does not exist.
    #[error("unknown application")]
    UnknownApp,
    /// A field is wrong; the message (built at run time) names it.
    #[error("rejected: {0}")]
    Rejected(String),
    /// The OAuth client named does not exist.
    #[error("unknown oauth client")]
    UnknownClient,
    /// An import body went over `AUTH_IMPORT_MAX_BYTES` while streaming.
    #[error("import body too large")]
    ImportTooLarge,
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

impl From<auth_domain::admin::AdminError> for InternalError {
    fn from(e: auth_domain::admin::AdminError) -> Self {
        use auth_domain::admin::AdminError as E;
        match e {
            E::UnknownUser => Self::UnknownUser,
            E::UnknownSession => Self::UnknownSession,
            E::UnknownApp => Self::UnknownApp,
            E::InvalidQuery => Self::Invalid("query는 200자 이하이고 제어 문자가 없어야 합니다."),
            E::Internal(e) => e.into(),
        }
    }
}

impl ContractError for InternalError {
    type Envelope = InternalEnvelope;

    fn reply(&self) -> Reply {
        match self {
            Self::Common(c) => InternalEnvelope::common(c),
            Self::Disabled => Reply::new(StatusCode::FORBIDDEN, DISABLED),
            Self::Unauthorized => Reply::new(StatusCode::UNAUTHORIZED, UNAUTHORIZED),
            Self::Invalid(message) => Reply::new(StatusCode::BAD_REQUEST, *message),
            Self::UnknownUser => Reply::new(StatusCode::NOT_FOUND, NO_USER),
            Self::UnknownSession => Reply::new(StatusCode::NOT_FOUND, "존재하지 않는 세션입니다."),
            Self::UnknownApp => Reply::new(StatusCode::NOT_FOUND, NO_APP),
            Self::ImportTooLarge => Reply::new(StatusCode::PAYLOAD_TOO_LARGE, import::IMPORT_TOO_LARGE),
            Self::Rejected(message) => Reply::new(StatusCode::BAD_REQUEST, message.clone()),
            Self::UnknownClient => Reply::new(StatusCode::NOT_FOUND, oauth_clients::NO_CLIENT),
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

/// The answer when no admin token is configured (403).
const DISABLED: &str = "관리자 API가 비활성화되어 있습니다.";
/// The answer to a missing or wrong admin token (401).
const UNAUTHORIZED: &str = "관리자 인증이 필요합니다.";
/// The answer naming a user that does not exist (404).
const NO_USER: &str = "존재하지 않는 사용자입니다.";
/// The answer naming an application that does not exist (404).
const NO_APP: &str = "존재하지 않는 앱입니다.";
/// The answer to a user id that is not a number (400).
const BAD_USER_ID: &str = "id는 숫자여야 합니다.";
/// The answer to an unreadable query string (400).
const BAD_QUERY: &str = "잘못된 요청 형식입니다.";

/// Checks the admin bearer token in constant time: the check of every
/// admin-only route ([`crate::routes::Access::Admin`], run by [`guard`]),
/// and the admin alternative of `POST /oauth2/introspect`
/// ([`crate::oidc`]).
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

/// What [`crate::routes::RoutePlan`] wraps every admin-only route in: the
/// handler runs only for the admin. A refusal is answered as a
/// handler's `Err` would be (the envelope, the error logged with the
/// request), before any of the body is read.
pub(crate) async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse, actix_web::Error> {
    let refused = match req.app_data::<web::Data<AppState>>() {
        Some(state) => authorize(state, req.request()).err(),
        None => Some(InternalError::Disabled),
    };
    match refused {
        Some(error) => Ok(ServiceResponse::from_err(error, req.into_parts().0)),
        None => Ok(next.call(req).await?.map_into_boxed_body()),
    }
}

/// `{"success": false, "message"}`.
pub(crate) fn failure(message: &str) -> Value {
    json!({"success": false, "message": message})
}

/// `view` with `status`, its keys in alphabetical order: the admin API has
/// always rendered these answers through a `serde_json::Value` (and the
/// CLI prints them so), and a client comparing text sees the same bytes.
pub(crate) fn sorted<T: Serialize>(status: StatusCode, view: &T) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::to_value(view).unwrap_or(Value::Null))
}

/// The answers every admin route can give besides its own: added to the
/// operation of every admin-only route by the plan.
pub(crate) fn documented(op: Op) -> Op {
    op.bearer("adminToken")
        .reply::<views::Message>(401, "No or a wrong admin token.", failure(UNAUTHORIZED))
        .reply::<views::Message>(
            403,
            "`AUTH_ADMIN_TOKEN` is not set: the API is off.",
            failure(DISABLED),
        )
        .reply::<views::Message>(503, "The service cannot answer now.", failure(UNAVAILABLE))
}

/// The query string as name → value.
///
/// # Errors
/// [`InternalError::Invalid`] when it cannot be read.
pub(crate) fn query(req: &HttpRequest) -> Result<HashMap<String, String>, InternalError> {
    web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|_| InternalError::Invalid(BAD_QUERY))
}

/// A path segment (empty when absent).
pub(crate) fn segment<'a>(req: &'a HttpRequest, name: &str) -> &'a str {
    req.match_info().get(name).unwrap_or_default()
}

/// A numeric user id as a path segment or argument.
///
/// # Errors
/// [`InternalError::Invalid`] when it is not a number.
pub fn parse_user_id(raw: &str) -> Result<UserId, InternalError> {
    raw.trim()
        .parse::<i64>()
        .map(UserId::new)
        .map_err(|_| InternalError::Invalid(BAD_USER_ID))
}

/// A session id (UUID).
///
/// # Errors
/// [`InternalError::Invalid`] when it is not a UUID.
pub fn parse_session_id(raw: &str) -> Result<SessionId, InternalError> {
    uuid::Uuid::parse_str(raw.trim())
        .map(SessionId::from_uuid)
        .map_err(|_| InternalError::Invalid("sid는 UUID여야 합니다."))
}

/// An application id.
///
/// # Errors
/// [`InternalError::Invalid`] when it cannot be one.
pub fn parse_app_id(raw: &str) -> Result<AppId, InternalError> {
    AppId::parse(raw.trim())
        .map_err(|()| InternalError::Invalid("appId는 영문, 숫자, _, - 1~64자여야 합니다."))
}

/// The admin API's route table: every resource's routes, each
/// admin-only ([`crate::routes::Access::Admin`]).
pub fn routes() -> Vec<Route> {
    [
        users::routes(),
        sessions::routes(),
        apps::routes(),
        keys::routes(),
        audit::routes(),
        import::routes(),
        notifications::routes(),
        oauth_clients::routes(),
    ]
    .concat()
}

/// The path parameter and answers of a route under
/// `/internal/users/{id}`.
pub(crate) fn user_path(op: Op) -> Op {
    op.path_param("id", "The numeric user id.", "7")
        .reply::<views::Message>(400, "The id is not a number.", failure(BAD_USER_ID))
        .reply::<views::Message>(404, "No such user.", failure(NO_USER))
}
