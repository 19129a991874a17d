//! The `picsel` contract (seed 002), email part: login, refresh, logout
//! (social login is in [`super::picsel_social`], rendered with the helpers
//! here). Every error uses the common envelope
//! `{statusCode, message, errorType, error: {code, message, details}}`,
//! with `statusCode` equal to the HTTP status.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use auth_domain::identity::login::{Identifier, Login, LoginError};
use auth_domain::identity::user::Email;
use auth_domain::sessions::tokens::{LogoutError, RefreshError};

use crate::body::{Body, BodyError, ContractBody};
use crate::contracts::envelope::{Common, ContractError, Envelope, Reply, required, response_error};
use crate::contracts::iso_millis;
use crate::state::AppState;

/// Contract name, as stored on sessions it creates.
pub const NAME: &str = "picsel";

/// The document's message for wrong credentials.
pub const INVALID_CREDENTIALS: &str = "이메일 또는 비밀번호가 올바르지 않습니다";
const INVALID_REFRESH: &str = "유효하지 않은 리프레시 토큰입니다";

/// The common error envelope (also used by the social part).
pub fn error(
    status: StatusCode,
    error_type: &str,
    code: &str,
    message: &str,
    details: Value,
) -> HttpResponse {
    HttpResponse::build(status).json(json!({
        "statusCode": status.as_u16(),
        "message": message,
        "errorType": error_type,
        "error": {"code": code, "message": message, "details": details},
    }))
}

/// NestJS's exception name for a status, as the document's `errorType`.
pub(crate) fn error_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "BadRequestException",
        401 => "UnauthorizedException",
        403 => "ForbiddenException",
        404 => "NotFoundException",
        409 => "ConflictException",
        413 => "PayloadTooLargeException",
        429 => "TooManyRequestsException",
        502 => "BadGatewayException",
        _ => "ServiceUnavailableException",
    }
}

/// `{statusCode, message, errorType, error: {code, message, details}}`.
#[derive(Debug)]
pub struct PicselEnvelope;

impl Envelope for PicselEnvelope {
    const NAME: &'static str = NAME;

    fn body(reply: &Reply) -> Value {
        let message = &reply.message;
        let mut details = reply.details.clone();
        if let Some(wait) = reply.retry_after {
            details = json!({"retryAfter": crate::contracts::retry_after_secs(wait)});
        }
        json!({
            "statusCode": reply.status.as_u16(),
            "message": message,
            "errorType": error_type(reply.status),
            "error": {"code": reply.code, "message": message, "details": details},
        })
    }

    fn invalid(problem: &Common) -> Reply {
        match problem {
            Common::Body(BodyError::TooLarge) => {
                Reply::new(StatusCode::PAYLOAD_TOO_LARGE, "요청 본문이 너무 큽니다").code("PAYLOAD_TOO_LARGE")
            }
            Common::Body(BodyError::WrongType(field)) => {
                validation(field, format!("{field}은(는) 문자열이어야 합니다"))
            }
            Common::Blank("email") => validation("email", "이메일을 입력해주세요".into()),
            Common::Blank("password") => validation("password", "비밀번호를 입력해주세요".into()),
            Common::Blank(field) => validation(field, format!("{field}을 입력해주세요")),
            _ => Reply::new(StatusCode::BAD_REQUEST, "요청 본문이 올바른 JSON 객체가 아닙니다")
                .code("INVALID_BODY"),
        }
    }

    fn unavailable() -> Reply {
        // The document writes its own messages without a final period.
        Reply::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "일시적으로 서비스를 이용할 수 없습니다",
        )
        .code("SERVICE_UNAVAILABLE")
    }
}

fn validation(field: &str, message: String) -> Reply {
    Reply::new(StatusCode::BAD_REQUEST, message)
        .code("VALIDATION_ERROR")
        .details(json!({"field": field}))
}

/// Everything the email part of `picsel` can fail with.
#[derive(Debug, thiserror::Error)]
pub enum PicselError {
    /// The right password of a user with a second factor: the login's
    /// second step is pending.
    #[error("second factor required")]
    SecondFactor(auth_domain::factors::Challenge),
    /// Shared failures (body, blank field, 429, 503).
    #[error(transparent)]
    Common(#[from] Common),
    /// `email` is not an address.
    #[error("malformed email")]
    MalformedEmail,
    /// Wrong email or password.
    #[error("bad credentials")]
    BadCredentials,
    /// The right password of an account an administrator disabled.
    #[error("account disabled")]
    Disabled,
    /// The refresh token is unusable.
    #[error("invalid refresh token")]
    InvalidRefresh,
}

impl From<BodyError> for PicselError {
    fn from(e: BodyError) -> Self {
        Self::Common(Common::Body(e))
    }
}

impl From<LoginError> for PicselError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::UnknownUser | LoginError::WrongPassword => Self::BadCredentials,
            LoginError::Disabled => Self::Disabled,
            LoginError::SecondFactor(c) => Self::SecondFactor(c),
            LoginError::Throttled { retry_after } => Common::Throttled(retry_after).into(),
            LoginError::Internal(e) => Common::Unavailable(e).into(),
        }
    }
}

impl From<RefreshError> for PicselError {
    fn from(e: RefreshError) -> Self {
        match e {
            RefreshError::Invalid | RefreshError::Reused => Self::InvalidRefresh,
            RefreshError::Internal(e) => Common::Unavailable(e).into(),
        }
    }
}

impl From<LogoutError> for PicselError {
    fn from(e: LogoutError) -> Self {
        match e {
            LogoutError::InvalidToken => Self::InvalidRefresh,
            LogoutError::Internal(e) => Common::Unavailable(e).into(),
        }
    }
}

impl ContractError for PicselError {
    type Envelope = PicselEnvelope;

    fn reply(&self) -> Reply {
        match self {
            Self::SecondFactor(c) => Reply::second_factor(c),
            Self::Common(c) => PicselEnvelope::common(c),
            Self::MalformedEmail => validation("email", "올바른 이메일 형식이 아닙니다".into()),
            Self::Disabled => {
                Reply::new(StatusCode::FORBIDDEN, crate::contracts::ACCOUNT_DISABLED).code("ACCOUNT_DISABLED")
            }
            Self::BadCredentials => {
                Reply::new(StatusCode::UNAUTHORIZED, INVALID_CREDENTIALS).code("INVALID_CREDENTIALS")
            }
            Self::InvalidRefresh => {
                Reply::new(StatusCode::UNAUTHORIZED, INVALID_REFRESH).code("INVALID_REFRESH_TOKEN")
            }
        }
    }

    fn outage(&self) -> Option<&auth_domain::PortError> {
        match self {
            Self::Common(Common::Unavailable(e)) => Some(e),
            _ => None,
        }
    }
}

response_error!(PicselError);

/// A body problem in this envelope.
pub(crate) fn body_error(e: BodyError) -> HttpResponse {
    crate::contracts::envelope::respond(&PicselError::from(e))
}

/// `POST /api/auth/login` (email) body.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = PicselLoginRequest)]
pub struct LoginRequest {
    /// The account's email.
    #[schema(required = true, example = "user@example.com")]
    email: Option<String>,
    /// The password.
    #[schema(required = true, example = "Password123!")]
    password: Option<String>,
}

/// `POST /api/auth/refresh` and `POST /api/auth/logout` body.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = PicselRefreshTokenRequest)]
pub struct RefreshTokenRequest {
    /// The refresh token.
    #[schema(required = true)]
    refresh_token: Option<String>,
}

impl ContractBody for LoginRequest {
    type Error = PicselError;
}
impl ContractBody for RefreshTokenRequest {
    type Error = PicselError;
}

/// The user of a login.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PicselUser)]
pub struct UserView {
    /// The user's UUID (the tokens' `sub`).
    uuid: uuid::Uuid,
    /// Email.
    email: String,
    /// Display name.
    name: String,
    /// Profile image URL, if any.
    profile_image: Option<String>,
}

/// A login's tokens and user.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PicselLoginData)]
pub struct LoginData {
    /// Access token (JWT).
    access_token: String,
    /// Refresh token (JWT).
    refresh_token: String,
    /// Issue time, `2025-12-08T11:00:00.000Z`.
    issued_at: String,
    /// Who logged in.
    user: UserView,
}

/// `{"message": "로그인 성공", "data": …}` (email and social login).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PicselLoginResponse)]
pub struct LoginResponse {
    /// `로그인 성공`.
    message: &'static str,
    /// Tokens and user.
    data: LoginData,
}

/// A refresh's new access token.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PicselRefreshData)]
pub struct RefreshData {
    /// The new access token.
    access_token: String,
    /// Its issue time.
    issued_at: String,
}

/// `{"message": "토큰 재발급 성공", "data": …}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PicselRefreshResponse)]
pub struct RefreshResponse {
    /// `토큰 재발급 성공`.
    message: &'static str,
    /// The new access token.
    data: RefreshData,
}

/// `{"message": "로그아웃 성공"}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PicselMessage)]
pub struct MessageResponse {
    /// The message.
    message: &'static str,
}

/// The `error` member of the envelope.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PicselErrorDetail)]
pub struct ErrorDetail {
    /// A stable code (`VALIDATION_ERROR`, `INVALID_CREDENTIALS`, …).
    code: String,
    /// 상세 에러 메시지.
    message: String,
    /// Details (`{"field": …}`, `{"retryAfter": …}`), or `null`.
    details: Option<serde_json::Map<String, Value>>,
}

/// The common error envelope.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PicselErrorBody)]
pub struct ErrorBody {
    /// The HTTP status.
    status_code: u16,
    /// 에러 메시지.
    message: String,
    /// The exception name (`BadRequestException`, …).
    error_type: String,
    /// Code, message, details.
    error: ErrorDetail,
}

/// The body of a successful login, email or social.
pub(crate) fn login_success(login: &Login) -> Value {
    serde_json::to_value(LoginResponse {
        message: "로그인 성공",
        data: LoginData {
            access_token: login.tokens.access.token.clone(),
            refresh_token: login.tokens.refresh.token.clone(),
            issued_at: iso_millis(login.tokens.access.issued_at),
            user: UserView {
                uuid: login.user.uuid,
                email: login.user.email.as_str().to_owned(),
                name: login.user.name.as_str().to_owned(),
                profile_image: login.user.profile_image.clone(),
            },
        },
    })
    .unwrap_or(Value::Null)
}

/// `POST /api/auth/login` with an `email` body.
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body<LoginRequest>,
) -> Result<HttpResponse, PicselError> {
    login_with(&state, &req, body).await
}

/// The login once the body is parsed (shared with the login dispatcher).
///
/// # Errors
/// [`PicselError`].
pub async fn login_with(
    state: &AppState,
    req: &HttpRequest,
    body: LoginRequest,
) -> Result<HttpResponse, PicselError> {
    let email = required(&body.email, "email")?;
    if Email::parse(email).is_err() {
        return Err(PicselError::MalformedEmail);
    }
    let password = required(&body.password, "password")?;
    let caller = state.caller(NAME, req);
    let login = state
        .auth
        .accounts()
        .login(Identifier::Email(email.to_owned()), password, &caller)
        .await;
    crate::metrics::login(NAME, &login);
    Ok(HttpResponse::Ok().json(login_success(&login?)))
}

/// `POST /api/auth/refresh`: a new access token; the refresh token stays.
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body<RefreshTokenRequest>,
) -> Result<HttpResponse, PicselError> {
    let token = required(&body.refresh_token, "refresh_token")?;
    let access = state
        .auth
        .sessions()
        .refresh(token, &state.caller(NAME, &req))
        .await;
    crate::metrics::refresh(NAME, &access);
    let access = access?;
    Ok(HttpResponse::Ok().json(RefreshResponse {
        message: "토큰 재발급 성공",
        data: RefreshData {
            access_token: access.token,
            issued_at: iso_millis(access.issued_at),
        },
    }))
}

/// `POST /api/auth/logout` with a `refresh_token` body.
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body<RefreshTokenRequest>,
) -> Result<HttpResponse, PicselError> {
    logout_with(&state, &req, body).await
}

/// The logout once the body is parsed (shared with the logout dispatcher).
///
/// # Errors
/// [`PicselError`].
pub async fn logout_with(
    state: &AppState,
    req: &HttpRequest,
    body: RefreshTokenRequest,
) -> Result<HttpResponse, PicselError> {
    let token = required(&body.refresh_token, "refresh_token")?;
    state
        .auth
        .sessions()
        .logout_with_refresh(token, &state.caller(NAME, req))
        .await?;
    Ok(HttpResponse::Ok().json(MessageResponse {
        message: "로그아웃 성공",
    }))
}

mod routes;
pub use routes::routes;
pub(crate) use routes::*;
