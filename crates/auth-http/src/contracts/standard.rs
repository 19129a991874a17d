//! The `standard` contract (seed 004): username login, `reissue-token` with
//! rotation, logout of the current member. Errors: `{"status", "reason"}`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use auth_domain::identity::login::{Identifier, LoginError};
use auth_domain::sessions::token::TokenPair;
use auth_domain::sessions::tokens::{LogoutError, ReissueError};

use crate::body::{Body, BodyError, ContractBody};
use crate::contracts::bearer_token;
use crate::contracts::envelope::{
    Common, ContractError, Envelope, Reply, TOO_LARGE, render, required, response_error,
};
use crate::openapi::Op;
use crate::routes::{Access, Method, Route};
use crate::state::AppState;

/// Contract name, as stored on sessions it creates.
pub const NAME: &str = "standard";

/// `POST /api/auth/login` body.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = StandardLoginRequest)]
pub struct LoginRequest {
    /// 회원 아이디.
    #[schema(required = true, example = "user")]
    username: Option<String>,
    /// 회원 비밀번호.
    #[schema(required = true, example = "password")]
    password: Option<String>,
}

/// `POST /api/auth/reissue-token` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = StandardReissueRequest)]
pub struct ReissueRequest {
    /// The access token of the session (may be expired; its signature is
    /// still checked).
    #[schema(required = true)]
    access_token: Option<String>,
    /// The refresh token; spent by this call.
    #[schema(required = true)]
    refresh_token: Option<String>,
}

impl ContractBody for LoginRequest {
    type Error = StandardError;
}
impl ContractBody for ReissueRequest {
    type Error = StandardError;
}

/// A token pair.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = StandardTokens)]
pub struct Tokens {
    /// 액세스 토큰 (30분 만료기한).
    access_token: String,
    /// 리프레시 토큰 (1주일 만료기한).
    refresh_token: String,
    /// The access token's expiry in epoch milliseconds: exactly its `exp`
    /// claim × 1000.
    access_token_expires_in: i64,
}

impl From<&TokenPair> for Tokens {
    fn from(pair: &TokenPair) -> Self {
        Self {
            access_token: pair.access.token.clone(),
            refresh_token: pair.refresh.token.clone(),
            // From the claim, not the (sub-second) expiry instant: a client
            // that refreshes at this moment must find the token expired,
            // never 999 ms early.
            access_token_expires_in: pair.access.claims.exp.saturating_mul(1000),
        }
    }
}

/// The error envelope.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = StandardErrorBody)]
pub struct ErrorBody {
    /// The HTTP status.
    status: u16,
    /// What went wrong.
    reason: String,
}

/// `{"status", "reason"}`.
#[derive(Debug)]
pub struct StandardEnvelope;

impl Envelope for StandardEnvelope {
    const NAME: &'static str = NAME;

    fn body(reply: &Reply) -> Value {
        json!({"status": reply.status.as_u16(), "reason": reply.message})
    }

    fn invalid(problem: &Common) -> Reply {
        match problem {
            Common::Body(BodyError::TooLarge) => Reply::new(StatusCode::PAYLOAD_TOO_LARGE, TOO_LARGE),
            Common::Body(BodyError::WrongType(field)) => {
                Reply::new(StatusCode::BAD_REQUEST, format!("{field} : must be a string"))
            }
            Common::Blank(field) => {
                Reply::new(StatusCode::BAD_REQUEST, format!("{field} : must not be blank"))
            }
            _ => Reply::new(StatusCode::BAD_REQUEST, "요청 본문을 읽을 수 없습니다."),
        }
    }
}

/// Everything a `standard` request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StandardError {
    /// The right password of a user with a second factor: the login's
    /// second step is pending.
    #[error("second factor required")]
    SecondFactor(auth_domain::factors::Challenge),
    /// Shared failures (body, blank field, 429, 503).
    #[error(transparent)]
    Common(#[from] Common),
    /// Wrong username or password.
    #[error("bad credentials")]
    BadCredentials,
    /// The right password of an account an administrator disabled.
    #[error("account disabled")]
    Disabled,
    /// The access token of a reissue is not ours.
    #[error("invalid access token")]
    InvalidAccessToken,
    /// The refresh token of a reissue is not ours, or expired.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// The two tokens belong to different sessions.
    #[error("session mismatch")]
    SessionMismatch,
    /// A spent refresh token again: the session was revoked.
    #[error("refresh token reused")]
    Reused,
    /// No bearer token on logout.
    #[error("unauthenticated")]
    Unauthenticated,
}

impl From<BodyError> for StandardError {
    fn from(e: BodyError) -> Self {
        Self::Common(Common::Body(e))
    }
}

impl From<LoginError> for StandardError {
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

impl From<ReissueError> for StandardError {
    fn from(e: ReissueError) -> Self {
        match e {
            ReissueError::InvalidAccessToken => Self::InvalidAccessToken,
            ReissueError::InvalidRefreshToken => Self::InvalidRefreshToken,
            ReissueError::SessionMismatch => Self::SessionMismatch,
            ReissueError::Reused => Self::Reused,
            ReissueError::Internal(e) => Common::Unavailable(e).into(),
        }
    }
}

impl From<LogoutError> for StandardError {
    fn from(e: LogoutError) -> Self {
        match e {
            LogoutError::InvalidToken => Self::InvalidAccessToken,
            LogoutError::Internal(e) => Common::Unavailable(e).into(),
        }
    }
}

impl ContractError for StandardError {
    type Envelope = StandardEnvelope;

    fn reply(&self) -> Reply {
        let unauthorized = |m: &'static str| Reply::new(StatusCode::UNAUTHORIZED, m);
        match self {
            Self::SecondFactor(c) => Reply::second_factor(c),
            Self::Common(c) => StandardEnvelope::common(c),
            Self::BadCredentials => unauthorized("잘못된 자격증명입니다."),
            Self::Disabled => Reply::new(StatusCode::FORBIDDEN, crate::contracts::ACCOUNT_DISABLED),
            Self::InvalidAccessToken => unauthorized("유효하지 않은 액세스 토큰입니다."),
            Self::InvalidRefreshToken => unauthorized("유효하지 않은 리프레시 토큰입니다."),
            Self::SessionMismatch => unauthorized("액세스 토큰과 리프레시 토큰의 세션이 일치하지 않습니다."),
            Self::Reused => {
                unauthorized("이미 사용된 리프레시 토큰입니다. 보안을 위해 세션이 만료되었습니다.")
            }
            Self::Unauthenticated => unauthorized("인증이 필요합니다."),
        }
    }

    fn outage(&self) -> Option<&auth_domain::PortError> {
        match self {
            Self::Common(Common::Unavailable(e)) => Some(e),
            _ => None,
        }
    }
}

response_error!(StandardError);

/// A body problem in this contract's envelope (the dispatcher's answer for
/// bodies it cannot attribute to `picsel`).
pub(crate) fn body_error(e: BodyError) -> HttpResponse {
    crate::contracts::envelope::respond(&StandardError::from(e))
}

/// `POST /api/auth/login` with a `username` body.
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body<LoginRequest>,
) -> Result<HttpResponse, StandardError> {
    login_with(&state, &req, body).await
}

/// The login once the body is parsed (shared with the login dispatcher).
///
/// # Errors
/// [`StandardError`].
pub async fn login_with(
    state: &AppState,
    req: &HttpRequest,
    body: LoginRequest,
) -> Result<HttpResponse, StandardError> {
    let username = required(&body.username, "username")?;
    let password = required(&body.password, "password")?;
    let caller = state.caller(NAME, req);
    let login = state
        .auth
        .accounts()
        .login(Identifier::LoginId(username.to_owned()), password, &caller)
        .await;
    crate::metrics::login(NAME, &login);
    Ok(login_reply(&login?))
}

/// The answer of a successful login (also after its second step).
pub(crate) fn login_reply(login: &auth_domain::identity::login::Login) -> HttpResponse {
    HttpResponse::Ok().json(Tokens::from(&login.tokens))
}

/// `POST /api/auth/reissue-token`.
pub async fn reissue(
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body<ReissueRequest>,
) -> Result<HttpResponse, StandardError> {
    let access = required(&body.access_token, "accessToken")?;
    let refresh = required(&body.refresh_token, "refreshToken")?;
    let pair = state
        .auth
        .sessions()
        .reissue(access, refresh, &state.caller(NAME, &req))
        .await;
    crate::metrics::reissue(NAME, &pair);
    let pair = pair.inspect_err(|e| {
        if matches!(e, ReissueError::Reused) {
            tracing::warn!(
                contract = NAME,
                "spent refresh token presented again; session revoked"
            );
        }
    })?;
    Ok(HttpResponse::Ok().json(Tokens::from(&pair)))
}

/// `POST /api/auth/logout` authenticated by `Authorization: Bearer`.
pub async fn logout(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, StandardError> {
    logout_with(&state, &req).await
}

/// The logout (shared with the logout dispatcher).
///
/// # Errors
/// [`StandardError`].
pub async fn logout_with(state: &AppState, req: &HttpRequest) -> Result<HttpResponse, StandardError> {
    let token = bearer_token(req).ok_or(StandardError::Unauthenticated)?;
    state
        .auth
        .sessions()
        .logout_with_access(token, &state.caller(NAME, req))
        .await?;
    Ok(HttpResponse::Ok().finish())
}

/// The 429 of a rate-limited route of this contract.
fn too_many(wait: chrono::TimeDelta) -> HttpResponse {
    render::<StandardEnvelope>(&StandardEnvelope::common(&Common::RateLimited(wait)))
}

fn error_example(status: u16, reason: &str) -> Value {
    json!({"status": status, "reason": reason})
}

/// The common failures of every route here, documented once.
fn common_errors(op: Op) -> Op {
    op.reply::<ErrorBody>(
        400,
        "Unreadable body, or a field of the wrong type.",
        error_example(400, "요청 본문을 읽을 수 없습니다."),
    )
    .reply::<ErrorBody>(
        413,
        "Body over `AUTH_MAX_BODY_BYTES`.",
        error_example(413, TOO_LARGE),
    )
    .reply::<ErrorBody>(
        503,
        "The service cannot answer now (database, hashing queue full).",
        error_example(503, crate::contracts::envelope::UNAVAILABLE),
    )
}

fn tokens_example() -> Value {
    json!({
        "accessToken": "eyJhbGciOiJIUzI1NiJ9...",
        "refreshToken": "eyJhbGciOiJIUzI1NiJ9...",
        "accessTokenExpiresIn": 1_719_581_967_000_i64,
    })
}

/// This contract's route table.
pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: Method::Post,
            path: "/api/auth/login",
            id: "standard.login",
            to: || web::post().to(login),
            rate_limit: None,
            access: Access::Public,
            doc: || {
                common_errors(
                    Op::new("standard", "standard.login", "Log in with username and password")
                        .body::<LoginRequest>(json!({"username": "user", "password": "password"}))
                        .reply::<Tokens>(200, "Logged in: a new session's tokens.", tokens_example())
                        .reply::<ErrorBody>(
                            400,
                            "A field is blank.",
                            error_example(400, "username : must not be blank"),
                        )
                        .reply::<ErrorBody>(
                            401,
                            "Wrong username or password.",
                            error_example(401, "잘못된 자격증명입니다."),
                        )
                        .reply::<ErrorBody>(
                            401,
                            "A user with a second factor: no session yet; `mfa.mfaToken` finishes the login at `POST /api/mfa/verify` (docs/mfa.md).",
                            json!({"status": 401, "reason": crate::contracts::envelope::SECOND_FACTOR_REQUIRED, "mfa": json!({"mfaToken": "3f27…", "methods": ["totp", "recovery"], "expiresIn": 300})}),
                        )
                        .reply::<ErrorBody>(
                            403,
                            "The right password of an account an administrator disabled.",
                            error_example(403, crate::contracts::ACCOUNT_DISABLED),
                        )
                        .reply::<ErrorBody>(
                            429,
                            "Too many failed logins for this account or client.",
                            error_example(429, crate::contracts::envelope::TOO_MANY_ATTEMPTS),
                        )
                        .retry_after(429),
                )
            },
        },
        Route {
            method: Method::Post,
            path: "/api/auth/reissue-token",
            id: "standard.reissue",
            to: || web::post().to(reissue),
            rate_limit: Some(too_many),
            access: Access::Public,
            doc: || {
                common_errors(
                    Op::new("standard", "standard.reissue", "Rotate the token pair")
                        .describe(
                            "Spends the refresh token and returns a new pair. Presenting a spent refresh \
                             token again revokes the whole session (reuse detection).",
                        )
                        .body::<ReissueRequest>(json!({"accessToken": "eyJ...", "refreshToken": "eyJ..."}))
                        .reply::<Tokens>(200, "The new pair.", tokens_example())
                        .reply::<ErrorBody>(
                            400,
                            "A field is blank.",
                            error_example(400, "accessToken : must not be blank"),
                        )
                        .reply::<ErrorBody>(
                            401,
                            "Invalid or mismatched tokens, or a reused refresh token.",
                            error_example(401, "유효하지 않은 리프레시 토큰입니다."),
                        )
                        .reply::<ErrorBody>(
                            429,
                            "Over the per-client request limit.",
                            error_example(429, crate::contracts::envelope::TOO_MANY_REQUESTS),
                        )
                        .retry_after(429),
                )
            },
        },
        Route {
            method: Method::Post,
            path: "/api/auth/logout",
            id: "standard.logout",
            to: || web::post().to(logout),
            rate_limit: None,
            access: Access::Public,
            doc: || {
                common_errors(
                    Op::new("standard", "standard.logout", "Log out the current member")
                        .describe("Revokes the session of the bearer access token; its sockets get `LOGOUT`.")
                        .bearer("accessToken")
                        .empty(200, "Logged out.")
                        .reply::<ErrorBody>(
                            401,
                            "No or an invalid access token.",
                            error_example(401, "유효하지 않은 액세스 토큰입니다."),
                        ),
                )
            },
        },
    ]
}
