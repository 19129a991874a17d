//! The `session` contract (seed 001), HTTP part: `/api/login` and
//! `/api/token/refresh`. Envelope: `{"success", "message", …}`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use auth_domain::identity::login::{Identifier, LoginError};
use auth_domain::sessions::tokens::RefreshError;

use crate::body::{Body, BodyError, ContractBody};
use crate::contracts::envelope::{
    Common, ContractError, Envelope, Reply, TOO_LARGE, TOO_MANY_ATTEMPTS, TOO_MANY_REQUESTS, UNAVAILABLE,
    render, required, response_error,
};
use crate::openapi::Op;
use crate::routes::{Access, Method, Route};
use crate::state::AppState;

/// Contract name, as stored on sessions it creates.
pub const NAME: &str = "session";

/// The document's failure message for wrong credentials.
pub const INVALID_CREDENTIALS: &str = "유효하지 않은 아이디 또는 비밀번호입니다!";
/// The document's failure message for a bad refresh token.
pub const INVALID_REFRESH: &str = "유효하지 않은 갱신 토큰입니다.";

/// `POST /api/login` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SessionLoginRequest)]
pub struct LoginRequest {
    /// 사용자 ID: 영문소문자 + 숫자, 3-20자.
    #[schema(required = true, example = "user123", pattern = "^[a-z0-9]{3,20}$")]
    user_id: Option<String>,
    /// 비밀번호: 영문자 + 숫자 + 특수문자, 6-30자.
    #[schema(required = true, example = "pass123!")]
    password: Option<String>,
}

/// `POST /api/token/refresh` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SessionRefreshRequest)]
pub struct RefreshRequest {
    /// 갱신 토큰 (JWT).
    #[schema(required = true)]
    refresh_token: Option<String>,
}

impl ContractBody for LoginRequest {
    type Error = SessionError;
}
impl ContractBody for RefreshRequest {
    type Error = SessionError;
}

/// A successful login.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SessionLoginResponse)]
pub struct LoginResponse {
    /// Always `true`.
    success: bool,
    /// `로그인 성공`.
    message: &'static str,
    /// 접근 토큰 (JWT).
    access_token: String,
    /// 갱신 토큰 (JWT).
    refresh_token: String,
}

/// A successful refresh.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SessionRefreshResponse)]
pub struct RefreshResponse {
    /// Always `true`.
    success: bool,
    /// `토큰 갱신 성공`.
    message: &'static str,
    /// 새로 발급된 접근 토큰.
    access_token: String,
}

/// The failure envelope.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SessionFailure)]
pub struct Failure {
    /// Always `false`.
    success: bool,
    /// 실패 메시지.
    message: String,
}

/// `{"success": false, "message"}`.
#[derive(Debug)]
pub struct SessionEnvelope;

impl Envelope for SessionEnvelope {
    const NAME: &'static str = NAME;

    fn body(reply: &Reply) -> Value {
        json!({"success": false, "message": reply.message})
    }

    fn invalid(problem: &Common) -> Reply {
        match problem {
            Common::Body(BodyError::TooLarge) => Reply::new(StatusCode::PAYLOAD_TOO_LARGE, TOO_LARGE),
            Common::Blank("refreshToken") => Reply::new(StatusCode::BAD_REQUEST, "갱신 토큰을 입력해주세요."),
            Common::Blank(_) => Reply::new(StatusCode::BAD_REQUEST, "아이디와 비밀번호를 입력해주세요."),
            _ => Reply::new(StatusCode::BAD_REQUEST, "잘못된 요청 형식입니다."),
        }
    }
}

/// Everything a `session` request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The right password of a user with a second factor: the login's
    /// second step is pending.
    #[error("second factor required")]
    SecondFactor(auth_domain::factors::Challenge),
    /// Shared failures (body, blank field, 429, 503).
    #[error(transparent)]
    Common(#[from] Common),
    /// `userId` breaks the document's format.
    #[error("malformed user id")]
    MalformedUserId,
    /// `password` breaks the document's format.
    #[error("malformed password")]
    MalformedPassword,
    /// Wrong id or password.
    #[error("bad credentials")]
    BadCredentials,
    /// The right password of an account an administrator disabled.
    #[error("account disabled")]
    Disabled,
    /// The refresh token is unusable.
    #[error("invalid refresh token")]
    InvalidRefresh,
}

impl From<BodyError> for SessionError {
    fn from(e: BodyError) -> Self {
        Self::Common(Common::Body(e))
    }
}

impl From<LoginError> for SessionError {
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

impl From<RefreshError> for SessionError {
    fn from(e: RefreshError) -> Self {
        match e {
            RefreshError::Invalid | RefreshError::Reused => Self::InvalidRefresh,
            RefreshError::Internal(e) => Common::Unavailable(e).into(),
        }
    }
}

impl ContractError for SessionError {
    type Envelope = SessionEnvelope;

    fn reply(&self) -> Reply {
        match self {
            Self::SecondFactor(c) => Reply::second_factor(c),
            Self::Common(c) => SessionEnvelope::common(c),
            Self::MalformedUserId => Reply::new(
                StatusCode::BAD_REQUEST,
                "아이디는 영문 소문자와 숫자 3~20자여야 합니다.",
            ),
            Self::MalformedPassword => Reply::new(
                StatusCode::BAD_REQUEST,
                "비밀번호는 영문자, 숫자, 특수문자 6~30자여야 합니다.",
            ),
            Self::BadCredentials => Reply::new(StatusCode::UNAUTHORIZED, INVALID_CREDENTIALS),
            Self::Disabled => Reply::new(StatusCode::FORBIDDEN, crate::contracts::ACCOUNT_DISABLED),
            Self::InvalidRefresh => Reply::new(StatusCode::UNAUTHORIZED, INVALID_REFRESH),
        }
    }

    fn outage(&self) -> Option<&auth_domain::PortError> {
        match self {
            Self::Common(Common::Unavailable(e)) => Some(e),
            _ => None,
        }
    }
}

response_error!(SessionError);

/// The document's rule: lowercase letters and digits, 3–20.
fn valid_user_id(s: &str) -> bool {
    (3..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// The document's rule: 6–30 letters, digits and special characters
/// (printable ASCII without spaces).
fn valid_password(s: &str) -> bool {
    (6..=30).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic())
}

/// `POST /api/login`.
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body<LoginRequest>,
) -> Result<HttpResponse, SessionError> {
    let user_id = required(&body.user_id, "userId")?;
    let password = required(&body.password, "password")?;
    if !valid_user_id(user_id) {
        return Err(SessionError::MalformedUserId);
    }
    if !valid_password(password) {
        return Err(SessionError::MalformedPassword);
    }
    let caller = state.caller(NAME, &req);
    let login = state
        .auth
        .accounts()
        .login(Identifier::LoginId(user_id.to_owned()), password, &caller)
        .await;
    crate::metrics::login(NAME, &login);
    Ok(login_reply(login?))
}

/// The answer of a successful login (also after its second step).
pub(crate) fn login_reply(login: auth_domain::identity::login::Login) -> HttpResponse {
    HttpResponse::Ok().json(LoginResponse {
        success: true,
        message: "로그인 성공",
        access_token: login.tokens.access.token,
        refresh_token: login.tokens.refresh.token,
    })
}

/// `POST /api/token/refresh`: a new access token; the refresh token stays.
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body<RefreshRequest>,
) -> Result<HttpResponse, SessionError> {
    let token = required(&body.refresh_token, "refreshToken")?;
    let access = state
        .auth
        .sessions()
        .refresh(token, &state.caller(NAME, &req))
        .await;
    crate::metrics::refresh(NAME, &access);
    let access = access?;
    Ok(HttpResponse::Ok().json(RefreshResponse {
        success: true,
        message: "토큰 갱신 성공",
        access_token: access.token,
    }))
}

fn too_many(wait: chrono::TimeDelta) -> HttpResponse {
    render::<SessionEnvelope>(&SessionEnvelope::common(&Common::RateLimited(wait)))
}

fn failure(message: &str) -> Value {
    json!({"success": false, "message": message})
}

fn common_errors(op: Op) -> Op {
    op.reply::<Failure>(
        400,
        "Unreadable body, or a field of the wrong type.",
        failure("잘못된 요청 형식입니다."),
    )
    .reply::<Failure>(413, "Body over `AUTH_MAX_BODY_BYTES`.", failure(TOO_LARGE))
    .reply::<Failure>(503, "The service cannot answer now.", failure(UNAVAILABLE))
}

/// This contract's route table.
pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: Method::Post,
            path: "/api/login",
            id: "session.login",
            to: || web::post().to(login),
            rate_limit: None,
            access: Access::Public,
            doc: || {
                common_errors(
                    Op::new("session", "session.login", "로그인 API")
                        .describe(
                            "A new session. With the default `AUTH_SINGLE_SESSION_CONTRACTS=session`, the \
                             user's older `session` sessions end and their sockets get `LOGOUT` \
                             (`새로운 로그인이 확인되었습니다. 자동으로 로그아웃됩니다!`).",
                        )
                        .body::<LoginRequest>(json!({"userId": "user123", "password": "pass123!"}))
                        .reply::<LoginResponse>(
                            200,
                            "로그인 성공.",
                            json!({"success": true, "message": "로그인 성공", "accessToken": "eyJ...", "refreshToken": "eyJ..."}),
                        )
                        .reply::<Failure>(400, "Missing or malformed `userId`/`password`.", failure("아이디와 비밀번호를 입력해주세요."))
                        .reply::<Failure>(401, "Wrong id or password.", failure(INVALID_CREDENTIALS))
                        .reply::<Failure>(401, "A user with a second factor: no session yet; `mfa.mfaToken` finishes the login at `POST /api/mfa/verify` (docs/mfa.md).", json!({"success": false, "message": crate::contracts::envelope::SECOND_FACTOR_REQUIRED, "mfa": json!({"mfaToken": "3f27…", "methods": ["totp", "recovery"], "expiresIn": 300})}))
                        .reply::<Failure>(403, "The right password of an account an administrator disabled.", failure(crate::contracts::ACCOUNT_DISABLED))
                        .reply::<Failure>(429, "Too many failed logins.", failure(TOO_MANY_ATTEMPTS))
                        .retry_after(429),
                )
            },
        },
        Route {
            method: Method::Post,
            path: "/api/token/refresh",
            id: "session.refresh",
            to: || web::post().to(refresh),
            rate_limit: Some(too_many),
            access: Access::Public,
            doc: || {
                common_errors(
                    Op::new("session", "session.refresh", "토큰 갱신 API")
                        .describe("A new access token; the refresh token stays valid until it expires or is revoked.")
                        .body::<RefreshRequest>(json!({"refreshToken": "eyJ..."}))
                        .reply::<RefreshResponse>(
                            200,
                            "토큰 갱신 성공.",
                            json!({"success": true, "message": "토큰 갱신 성공", "accessToken": "eyJ..."}),
                        )
                        .reply::<Failure>(400, "`refreshToken` is blank.", failure("갱신 토큰을 입력해주세요."))
                        .reply::<Failure>(401, "Invalid, expired or revoked refresh token.", failure(INVALID_REFRESH))
                        .reply::<Failure>(429, "Over the per-client request limit.", failure(TOO_MANY_REQUESTS))
                        .retry_after(429),
                )
            },
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_rules() {
        assert!(valid_user_id("user123"));
        assert!(!valid_user_id("User123"));
        assert!(!valid_user_id("ab"));
        assert!(!valid_user_id(&"a".repeat(21)));
        assert!(valid_password("pass123!"));
        assert!(!valid_password("pass 123"));
        assert!(!valid_password("12345"));
        assert!(!valid_password(&"a".repeat(31)));
        assert!(!valid_password("비밀번호123"));
    }
}
