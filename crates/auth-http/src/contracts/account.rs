//! The `account` contract (seed 003): sign-up (behind an emailed code),
//! sign-in, withdrawal, id and email availability, code send and check,
//! password reset. Envelope: `{"data": …, "error": null | "message"}`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use auth_domain::password::PolicyViolation;
use auth_domain::service::{
    AccountRef, Identifier, LoginError, ResetError, SendCodeError, SignUp, SignUpError, WithdrawError,
};
use auth_domain::verification::CodePurpose;

use crate::body::{Body, BodyError, ContractBody, int_or_string};
use crate::contracts::envelope::{
    Common, ContractError, Envelope, Reply, TOO_MANY_ATTEMPTS, TOO_MANY_REQUESTS, non_blank, render,
    required, response_error,
};
use crate::openapi::Op;
use crate::routes::{Access, Method, Route};
use crate::state::AppState;

/// Contract name, as stored on sessions it creates.
pub const NAME: &str = "account";

const UNKNOWN_ID: &str = "존재 하지 않는 아이디";
const WRONG_PASSWORD: &str = "비밀번호 불일치";
const NOT_VERIFIED: &str = "인증 되지 않은 이메일";
const DENIED: &str = "올바르지 않은 접근 권한";
const UNAVAILABLE: &str = "일시적인 오류, 잠시 후 다시 시도";

/// `{"data": null, "error": "<message>"}`.
#[derive(Debug)]
pub struct AccountEnvelope;

impl Envelope for AccountEnvelope {
    const NAME: &'static str = NAME;

    fn body(reply: &Reply) -> Value {
        json!({"data": null, "error": reply.message})
    }

    fn invalid(problem: &Common) -> Reply {
        match problem {
            Common::Body(BodyError::TooLarge) => {
                Reply::new(StatusCode::PAYLOAD_TOO_LARGE, "요청 본문이 너무 큼")
            }
            Common::Body(BodyError::WrongType(field)) => {
                Reply::new(StatusCode::BAD_REQUEST, format!("올바르지 않은 값: {field}"))
            }
            Common::Blank(field) => Reply::new(StatusCode::BAD_REQUEST, format!("필수 값 누락: {field}")),
            _ => Reply::new(StatusCode::BAD_REQUEST, "올바르지 않은 요청 형식"),
        }
    }

    fn unavailable() -> Reply {
        Reply::new(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE)
    }
}

/// Everything an `account` request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Shared failures (body, blank field, 429, 503).
    #[error(transparent)]
    Common(#[from] Common),
    /// `type` is not `SIGN_UP` or `FORGET_PASSWORD`.
    #[error("invalid purpose")]
    InvalidPurpose,
    /// The id or email is taken (`이미 존재 하는 값`).
    #[error("duplicate")]
    Duplicate,
    /// Sign-up without a checked `SIGN_UP` code for this email and authId.
    #[error("email not verified")]
    EmailNotVerified,
    /// The login id breaks the format.
    #[error("invalid login id")]
    InvalidLoginId,
    /// The email is not an address.
    #[error("invalid email")]
    InvalidEmail,
    /// The name is blank or too long.
    #[error("invalid name")]
    InvalidName,
    /// The password breaks the policy (its bounds, for the message).
    #[error("weak password")]
    WeakPassword {
        /// The shortest password allowed.
        min: usize,
        /// The longest.
        max: usize,
    },
    /// No account has this id.
    #[error("unknown id")]
    UnknownId,
    /// The password does not match.
    #[error("wrong password")]
    WrongPassword,
    /// The right password of an account an administrator disabled.
    #[error("account disabled")]
    Disabled,
    /// `SIGN_UP` to a registered email.
    #[error("email taken")]
    EmailTaken,
    /// A code was sent to this email less than the cooldown ago.
    #[error("cooldown")]
    Cooldown(chrono::TimeDelta),
    /// The mail could not be handed over.
    #[error("mail unavailable")]
    MailUnavailable(auth_domain::PortError),
    /// Reset refused (wrong code, unknown account, …), deliberately vague.
    #[error("denied")]
    Denied,
}

impl From<BodyError> for AccountError {
    fn from(e: BodyError) -> Self {
        Self::Common(Common::Body(e))
    }
}

impl From<auth_domain::PortError> for AccountError {
    fn from(e: auth_domain::PortError) -> Self {
        Self::Common(Common::Unavailable(e))
    }
}

impl ContractError for AccountError {
    type Envelope = AccountEnvelope;

    fn reply(&self) -> Reply {
        let bad = |m: &'static str| Reply::new(StatusCode::BAD_REQUEST, m);
        match self {
            Self::Common(c) => AccountEnvelope::common(c),
            Self::InvalidPurpose => bad("올바르지 않은 인증 타입 (SIGN_UP, FORGET_PASSWORD)"),
            Self::Duplicate => bad("이미 존재 하는 값"),
            Self::EmailNotVerified => bad(NOT_VERIFIED),
            Self::InvalidLoginId => bad("올바르지 않은 아이디 형식 (영문, 숫자 3~20자)"),
            Self::InvalidEmail => bad("올바르지 않은 이메일 형식"),
            Self::InvalidName => bad("올바르지 않은 이름 (1~50자)"),
            Self::WeakPassword { min, max } => Reply::new(
                StatusCode::BAD_REQUEST,
                format!("비밀번호는 {min}자 이상 {max}자 이하"),
            ),
            Self::UnknownId => bad(UNKNOWN_ID),
            Self::WrongPassword => bad(WRONG_PASSWORD),
            Self::Disabled => Reply::new(StatusCode::FORBIDDEN, crate::contracts::ACCOUNT_DISABLED),
            Self::EmailTaken => bad("이미 존재 하는 이메일"),
            Self::Cooldown(wait) => {
                // Whole seconds, at least 1, in the message and the header.
                let seconds = wait.num_seconds().max(1);
                Reply::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("인증 번호 재전송은 {seconds}초 후에 가능"),
                )
                .retry_after(chrono::TimeDelta::seconds(seconds))
            }
            Self::MailUnavailable(_) => Reply::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "인증 번호 전송 실패, 잠시 후 다시 시도",
            ),
            Self::Denied => bad(DENIED),
        }
    }

    fn outage(&self) -> Option<&auth_domain::PortError> {
        match self {
            Self::Common(Common::Unavailable(e)) | Self::MailUnavailable(e) => Some(e),
            _ => None,
        }
    }
}

response_error!(AccountError);

impl AccountError {
    fn weak(state: &AppState, violation: &PolicyViolation) -> Self {
        let policy = state.auth.policy().password;
        match violation {
            PolicyViolation::TooShort(_) | PolicyViolation::TooLong(_) => Self::WeakPassword {
                min: policy.min_len(),
                max: policy.max_len(),
            },
        }
    }

    fn from_login(e: LoginError) -> Self {
        match e {
            LoginError::UnknownUser => Self::UnknownId,
            LoginError::WrongPassword => Self::WrongPassword,
            LoginError::Disabled => Self::Disabled,
            LoginError::Throttled { retry_after } => Common::Throttled(retry_after).into(),
            LoginError::Internal(e) => e.into(),
        }
    }
}

fn purpose(raw: Option<&str>) -> Result<CodePurpose, AccountError> {
    raw.and_then(CodePurpose::parse)
        .ok_or(AccountError::InvalidPurpose)
}

fn ok(data: impl Serialize) -> HttpResponse {
    HttpResponse::Ok().json(json!({"data": data, "error": null}))
}

/// `POST /api/auth/sign-up` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignUpRequest {
    /// 사용자 아이디: letters and digits, 3–20.
    #[schema(required = true, example = "phj123")]
    auth_id: Option<String>,
    /// Password (the configured policy: 8–64 characters by default).
    #[schema(required = true, example = "password1")]
    password: Option<String>,
    /// Display name, 1–50 characters.
    #[schema(required = true, example = "parkh")]
    name: Option<String>,
    /// Email, verified by a `SIGN_UP` code bound to this `authId`.
    #[schema(required = true, example = "hyeonj1998@naver.com")]
    email: Option<String>,
}

/// `POST /api/auth/sign-in` and `POST /api/auth/withdrawal` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialsRequest {
    /// 사용자 아이디.
    #[schema(required = true, example = "parkh")]
    auth_id: Option<String>,
    /// Password.
    #[schema(required = true, example = "password")]
    password: Option<String>,
}

/// `POST /api/auth/send/auth-key` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendCodeRequest {
    /// 사용자 아이디: required for `FORGET_PASSWORD`; for `SIGN_UP` it binds
    /// the code to the account being created.
    #[schema(example = "parkh")]
    auth_id: Option<String>,
    /// Where the code goes.
    #[schema(required = true, example = "hyeonj1998@naver.com")]
    email: Option<String>,
    /// `SIGN_UP` or `FORGET_PASSWORD`.
    #[serde(rename = "type")]
    #[schema(required = true, example = "SIGN_UP")]
    kind: Option<String>,
}

/// `GET /api/auth/check/auth-code` body (the same fields are accepted as
/// query parameters; the body wins).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckCodeRequest {
    /// 사용자 아이디 (binds a `SIGN_UP` code sent without one).
    #[schema(example = "parkh")]
    auth_id: Option<String>,
    /// The email the code was sent to.
    #[schema(required = true, example = "hyeonj1998@naver.com")]
    email: Option<String>,
    /// The code from the mail.
    #[schema(required = true, example = "e09d93")]
    auth_code: Option<String>,
    /// `SIGN_UP` or `FORGET_PASSWORD`.
    #[serde(rename = "type")]
    #[schema(required = true, example = "SIGN_UP")]
    kind: Option<String>,
}

/// `POST /api/auth/reset/password` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetRequest {
    /// The numeric user id (a number, or a string of digits); `authId` is
    /// accepted instead.
    #[serde(default, deserialize_with = "int_or_string")]
    #[schema(value_type = Option<i64>, example = 1)]
    user_id: Option<i64>,
    /// 사용자 아이디, instead of `userId`.
    auth_id: Option<String>,
    /// The `FORGET_PASSWORD` code from the mail.
    #[schema(required = true, example = "ad6045")]
    auth_code: Option<String>,
    /// The new password (the configured policy).
    #[schema(required = true, example = "new-password-1")]
    new_password: Option<String>,
}

impl ContractBody for SignUpRequest {
    type Error = AccountError;
}
impl ContractBody for CredentialsRequest {
    type Error = AccountError;
}
impl ContractBody for SendCodeRequest {
    type Error = AccountError;
}
impl ContractBody for CheckCodeRequest {
    type Error = AccountError;
}
impl ContractBody for ResetRequest {
    type Error = AccountError;
}

/// `{"id", "name"}` of a new account.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignUpData {
    /// The numeric user id.
    id: i64,
    /// The display name.
    name: String,
}

/// A sign-in's user and access token.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignInData {
    /// The numeric user id.
    id: i64,
    /// The display name.
    name: String,
    /// 사용자 아이디.
    auth_id: Option<String>,
    /// An access token of the new session.
    token: String,
}

/// `{"status": true}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusData {
    /// Always `true`.
    status: bool,
}

/// `{"usable": bool}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsableData {
    /// Whether it can be used.
    usable: bool,
}

/// `{"state": true}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StateData {
    /// Always `true` (a send that matches no account looks the same).
    state: bool,
}

/// `{"userId"}` of a reset.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetData {
    /// The numeric user id.
    user_id: i64,
}

/// `{"data": …, "error": null}`, generic over the data.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AccountSignUpResponse)]
pub struct SignUpResponse {
    /// The data.
    data: SignUpData,
    /// `null`.
    error: Option<String>,
}

/// A sign-in's answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AccountSignInResponse)]
pub struct SignInResponse {
    /// The data.
    data: SignInData,
    /// `null`.
    error: Option<String>,
}

/// A withdrawal's answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AccountStatusResponse)]
pub struct StatusResponse {
    /// The data.
    data: StatusData,
    /// `null`.
    error: Option<String>,
}

/// An availability or code check's answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AccountUsableResponse)]
pub struct UsableResponse {
    /// The data.
    data: UsableData,
    /// `null`.
    error: Option<String>,
}

/// A code send's answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AccountStateResponse)]
pub struct StateResponse {
    /// The data.
    data: StateData,
    /// `null`.
    error: Option<String>,
}

/// A reset's answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AccountResetResponse)]
pub struct ResetResponse {
    /// The data.
    data: ResetData,
    /// `null`.
    error: Option<String>,
}

/// The error envelope.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AccountErrorBody)]
pub struct ErrorBody {
    /// Always `null`.
    data: Option<Value>,
    /// The message.
    error: String,
}

/// `POST /api/auth/sign-up`.
pub async fn sign_up(
    state: web::Data<AppState>,
    Body(body): Body<SignUpRequest>,
) -> Result<HttpResponse, AccountError> {
    let request = SignUp {
        login_id: required(&body.auth_id, "authId")?.to_owned(),
        password: required(&body.password, "password")?.to_owned(),
        name: required(&body.name, "name")?.to_owned(),
        email: required(&body.email, "email")?.to_owned(),
    };
    let user = state
        .auth
        .accounts()
        .sign_up(request)
        .await
        .map_err(|e| match e {
            SignUpError::Duplicate(_) => AccountError::Duplicate,
            SignUpError::EmailNotVerified => AccountError::EmailNotVerified,
            SignUpError::InvalidLoginId => AccountError::InvalidLoginId,
            SignUpError::InvalidEmail => AccountError::InvalidEmail,
            SignUpError::InvalidName => AccountError::InvalidName,
            SignUpError::WeakPassword(v) => AccountError::weak(&state, &v),
            SignUpError::Internal(e) => e.into(),
        })?;
    Ok(ok(SignUpData {
        id: user.id.get(),
        name: user.name.as_str().to_owned(),
    }))
}

/// `POST /api/auth/sign-in`: `token` is an access token of a new session.
pub async fn sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body<CredentialsRequest>,
) -> Result<HttpResponse, AccountError> {
    let auth_id = required(&body.auth_id, "authId")?;
    let password = required(&body.password, "password")?;
    let caller = state.caller(NAME, &req);
    let login = state
        .auth
        .accounts()
        .login(Identifier::LoginId(auth_id.to_owned()), password, &caller)
        .await;
    crate::metrics::login(NAME, &login);
    let login = login.map_err(AccountError::from_login)?;
    Ok(ok(SignInData {
        id: login.user.id.get(),
        name: login.user.name.as_str().to_owned(),
        auth_id: login.user.login_id.as_ref().map(|l| l.as_str().to_owned()),
        token: login.tokens.access.token,
    }))
}

/// `POST /api/auth/withdrawal`.
pub async fn withdrawal(
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body<CredentialsRequest>,
) -> Result<HttpResponse, AccountError> {
    let auth_id = required(&body.auth_id, "authId")?;
    let password = required(&body.password, "password")?;
    state
        .auth
        .accounts()
        // As before the explicit caller: the withdrawal's audit event has
        // the client's IP and no user agent.
        .withdraw(
            auth_id,
            password,
            &auth_domain::Caller::new(NAME).with_ip(state.client_ip(&req)),
        )
        .await
        .map_err(|e| match e {
            WithdrawError::UnknownUser => AccountError::UnknownId,
            WithdrawError::WrongPassword => AccountError::WrongPassword,
            WithdrawError::Throttled { retry_after } => Common::Throttled(retry_after).into(),
            WithdrawError::Disabled => AccountError::Disabled,
            WithdrawError::Internal(e) => e.into(),
        })?;
    Ok(ok(StatusData { status: true }))
}

/// `GET /api/auth/check/auth-id/{authId}`.
pub async fn check_auth_id(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AccountError> {
    let usable = state.auth.accounts().login_id_available(&path).await?;
    Ok(ok(UsableData { usable }))
}

/// `GET /api/auth/check/email/{email}`.
pub async fn check_email(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AccountError> {
    let usable = state.auth.accounts().email_available(&path).await?;
    Ok(ok(UsableData { usable }))
}

/// `POST /api/auth/send/auth-key` `{authId, email, type}`.
pub async fn send_code(
    state: web::Data<AppState>,
    Body(body): Body<SendCodeRequest>,
) -> Result<HttpResponse, AccountError> {
    let email = required(&body.email, "email")?;
    let purpose = purpose(body.kind.as_deref())?;
    let auth_id = match purpose {
        CodePurpose::SignUp => non_blank(&body.auth_id),
        CodePurpose::ForgetPassword => Some(required(&body.auth_id, "authId")?),
    };
    let sent = state.auth.verification().send_code(auth_id, email, purpose).await;
    if sent.is_ok() {
        crate::metrics::code_sent(purpose);
    }
    sent.map_err(|e| match e {
        SendCodeError::InvalidEmail => AccountError::InvalidEmail,
        SendCodeError::EmailTaken => AccountError::EmailTaken,
        SendCodeError::Cooldown(wait) => AccountError::Cooldown(wait),
        SendCodeError::MailUnavailable(e) => AccountError::MailUnavailable(e),
        SendCodeError::Internal(e) => e.into(),
    })?;
    Ok(ok(StateData { state: true }))
}

/// `GET /api/auth/check/auth-code`: the document sends a JSON body with the
/// GET; the same fields are accepted as query parameters (body wins).
pub async fn check_code(
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body<CheckCodeRequest>,
) -> Result<HttpResponse, AccountError> {
    let query: CheckCodeRequest = web::Query::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|_| AccountError::Common(Common::Body(BodyError::NotObject)))?;
    let pick = |mine: &Option<String>, theirs: &Option<String>| {
        non_blank(mine).or_else(|| non_blank(theirs)).map(str::to_owned)
    };
    let auth_id = pick(&body.auth_id, &query.auth_id);
    let email = pick(&body.email, &query.email).ok_or(AccountError::Common(Common::Blank("email")))?;
    let code =
        pick(&body.auth_code, &query.auth_code).ok_or(AccountError::Common(Common::Blank("authCode")))?;
    let purpose = purpose(pick(&body.kind, &query.kind).as_deref())?;
    let usable = state
        .auth
        .verification()
        .check_code(auth_id.as_deref(), &email, &code, purpose)
        .await;
    crate::metrics::code_checked(purpose, &usable);
    Ok(ok(UsableData { usable: usable? }))
}

/// `POST /api/auth/reset/password` `{userId, authCode, newPassword}`
/// (`authId` instead of the numeric `userId` is accepted too).
pub async fn reset_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body<ResetRequest>,
) -> Result<HttpResponse, AccountError> {
    let account = match (body.user_id, non_blank(&body.auth_id)) {
        (Some(id), _) => AccountRef::Id(id),
        (None, Some(auth_id)) => AccountRef::LoginId(auth_id.to_owned()),
        (None, None) => return Err(Common::Blank("userId").into()),
    };
    let code = required(&body.auth_code, "authCode")?;
    let new_password = required(&body.new_password, "newPassword")?;
    let reset = state
        .auth
        .verification()
        .reset_password(account, code, new_password, &state.caller(NAME, &req))
        .await;
    // A weak new password is refused before the code is looked at.
    if !matches!(reset, Err(ResetError::WeakPassword(_))) {
        let checked = match &reset {
            Ok(_) => Ok(true),
            Err(ResetError::Denied) => Ok(false),
            Err(_) => Err(()),
        };
        crate::metrics::code_checked(CodePurpose::ForgetPassword, &checked);
    }
    let id = reset.map_err(|e| match e {
        ResetError::Denied => AccountError::Denied,
        ResetError::WeakPassword(v) => AccountError::weak(&state, &v),
        ResetError::Internal(e) => e.into(),
    })?;
    Ok(ok(ResetData { user_id: id.get() }))
}

fn too_many_requests(wait: chrono::TimeDelta) -> HttpResponse {
    render::<AccountEnvelope>(&AccountEnvelope::common(&Common::RateLimited(wait)))
}

fn failure(message: &str) -> Value {
    json!({"data": null, "error": message})
}

fn success(data: Value) -> Value {
    json!({"data": data, "error": null})
}

/// The failures every route here can answer.
fn common_errors(op: Op) -> Op {
    op.reply::<ErrorBody>(
        400,
        "A missing, blank or wrong-typed field, or an unreadable body.",
        failure("필수 값 누락: authId"),
    )
    .reply::<ErrorBody>(
        413,
        "Body over `AUTH_MAX_BODY_BYTES`.",
        failure("요청 본문이 너무 큼"),
    )
    .reply::<ErrorBody>(503, "The service cannot answer now.", failure(UNAVAILABLE))
}

fn limited(op: Op, message: &str) -> Op {
    op.reply::<ErrorBody>(
        429,
        "Over a limit (`Retry-After` says for how long).",
        failure(message),
    )
    .retry_after(429)
}

/// This contract's route table.
pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: Method::Post,
            path: "/api/auth/sign-up",
            id: "account.sign_up",
            to: || web::post().to(sign_up),
            rate_limit: Some(too_many_requests),
            access: Access::Public,
            doc: || {
                limited(
                    common_errors(
                        Op::new("account", "account.sign_up", "회원 가입")
                            .describe("Needs a `SIGN_UP` code checked for this email and `authId` within 10 minutes (`AUTH_SIGNUP_REQUIRE_EMAIL_CODE`); the code is spent.")
                            .body::<SignUpRequest>(json!({"authId": "phj123", "password": "password1", "name": "parkh", "email": "hyeonj1998@naver.com"}))
                            .reply::<SignUpResponse>(200, "회원 가입에 성공 한 경우.", success(json!({"id": 1, "name": "parkh"})))
                            .reply::<ErrorBody>(400, "이미 존재 하는 값, 인증 되지 않은 이메일, or an invalid field.", failure("이미 존재 하는 값")),
                    ),
                    TOO_MANY_REQUESTS,
                )
            },
        },
        Route {
            method: Method::Post,
            path: "/api/auth/sign-in",
            id: "account.sign_in",
            to: || web::post().to(sign_in),
            rate_limit: None,
            access: Access::Public,
            doc: || {
                limited(
                    common_errors(
                        Op::new("account", "account.sign_in", "로그인")
                            .body::<CredentialsRequest>(json!({"authId": "parkh", "password": "password"}))
                            .reply::<SignInResponse>(
                                200,
                                "로그인에 성공한 경우.",
                                success(
                                    json!({"id": 1, "name": "parkh", "authId": "phj123", "token": "eyJ..."}),
                                ),
                            )
                            .reply::<ErrorBody>(
                                400,
                                "존재 하지 않는 아이디, or 비밀번호 불일치.",
                                failure(UNKNOWN_ID),
                            )
                            .reply::<ErrorBody>(
                                403,
                                "The right password of an account an administrator disabled.",
                                failure(crate::contracts::ACCOUNT_DISABLED),
                            ),
                    ),
                    TOO_MANY_ATTEMPTS,
                )
            },
        },
        Route {
            method: Method::Post,
            path: "/api/auth/withdrawal",
            id: "account.withdrawal",
            to: || web::post().to(withdrawal),
            rate_limit: None,
            access: Access::Public,
            doc: || {
                limited(
                    common_errors(
                        Op::new("account", "account.withdrawal", "회원 탈퇴")
                            .describe("Deletes the account's personal data and revokes every session; live sockets get `LOGOUT`.")
                            .body::<CredentialsRequest>(json!({"authId": "parkh", "password": "password"}))
                            .reply::<StatusResponse>(200, "정상적으로 회원 탈퇴 된 경우.", success(json!({"status": true})))
                            .reply::<ErrorBody>(400, "존재 하지 않는 아이디, or 비밀번호 불일치.", failure(WRONG_PASSWORD))
                            .reply::<ErrorBody>(
                                403,
                                "The right password of an account an administrator disabled: the account stays.",
                                failure(crate::contracts::ACCOUNT_DISABLED),
                            ),
                    ),
                    TOO_MANY_ATTEMPTS,
                )
            },
        },
        Route {
            method: Method::Get,
            path: "/api/auth/check/auth-id/{authId}",
            id: "account.check_auth_id",
            to: || web::get().to(check_auth_id),
            rate_limit: Some(too_many_requests),
            access: Access::Public,
            doc: || {
                limited(
                    Op::new(
                        "account",
                        "account.check_auth_id",
                        "사용자 ID 사용 가능 여부 확인",
                    )
                    .path_param("authId", "The wanted id.", "parkh")
                    .reply::<UsableResponse>(
                        200,
                        "Whether the id is well-formed and free.",
                        success(json!({"usable": true})),
                    )
                    .reply::<ErrorBody>(
                        503,
                        "The service cannot answer now.",
                        failure(UNAVAILABLE),
                    ),
                    TOO_MANY_REQUESTS,
                )
            },
        },
        Route {
            method: Method::Get,
            path: "/api/auth/check/email/{email}",
            id: "account.check_email",
            to: || web::get().to(check_email),
            rate_limit: Some(too_many_requests),
            access: Access::Public,
            doc: || {
                limited(
                    Op::new(
                        "account",
                        "account.check_email",
                        "사용자 Email 사용 가능 여부 확인",
                    )
                    .path_param("email", "The email.", "hyeonj1998@naver.com")
                    .reply::<UsableResponse>(
                        200,
                        "Whether the email is well-formed and free.",
                        success(json!({"usable": false})),
                    )
                    .reply::<ErrorBody>(
                        503,
                        "The service cannot answer now.",
                        failure(UNAVAILABLE),
                    ),
                    TOO_MANY_REQUESTS,
                )
            },
        },
        Route {
            method: Method::Post,
            path: "/api/auth/send/auth-key",
            id: "account.send_code",
            to: || web::post().to(send_code),
            rate_limit: Some(too_many_requests),
            access: Access::Public,
            doc: || {
                limited(
                    common_errors(
                        Op::new("account", "account.send_code", "인증 번호 전송")
                            .describe("Mails a 6-character code, valid 10 minutes. A `FORGET_PASSWORD` send whose `authId` and email match no account answers the same and mails nothing. 429 within the resend cooldown.")
                            .body::<SendCodeRequest>(json!({"authId": "parkh", "email": "hyeonj1998@naver.com", "type": "SIGN_UP"}))
                            .reply::<StateResponse>(200, "정상적으로 인증번호가 전송 된 경우.", success(json!({"state": true})))
                            .reply::<ErrorBody>(400, "이미 존재하는 이메일로 회원 가입 요청, or an invalid field.", failure("이미 존재 하는 이메일"))
                            .reply::<ErrorBody>(503, "The mail could not be sent (no code is left behind).", failure("인증 번호 전송 실패, 잠시 후 다시 시도")),
                    ),
                    "인증 번호 재전송은 60초 후에 가능",
                )
            },
        },
        Route {
            method: Method::Get,
            path: "/api/auth/check/auth-code",
            id: "account.check_code",
            to: || web::get().to(check_code),
            rate_limit: Some(too_many_requests),
            access: Access::Public,
            doc: || {
                limited(
                    common_errors(
                        Op::new("account", "account.check_code", "인증 번호 확인")
                            .describe("The document sends a JSON body with this GET; the same fields are accepted as query parameters.")
                            .query_param("authId", "사용자 아이디.", json!({"type": "string"}))
                            .query_param("email", "The email.", json!({"type": "string"}))
                            .query_param("authCode", "The code.", json!({"type": "string"}))
                            .query_param("type", "`SIGN_UP` or `FORGET_PASSWORD`.", json!({"type": "string"}))
                            .body::<CheckCodeRequest>(json!({"authId": "parkh", "email": "hyeonj1998@naver.com", "authCode": "e09d93", "type": "SIGN_UP"}))
                            .reply::<UsableResponse>(200, "Whether the code is right (and, for SIGN_UP, now opens the sign-up).", success(json!({"usable": true}))),
                    ),
                    TOO_MANY_REQUESTS,
                )
            },
        },
        Route {
            method: Method::Post,
            path: "/api/auth/reset/password",
            id: "account.reset_password",
            to: || web::post().to(reset_password),
            rate_limit: None,
            access: Access::Public,
            doc: || {
                common_errors(
                    Op::new(
                        "account",
                        "account.reset_password",
                        "비밀번호 찾기 (비밀번호 변경)",
                    )
                    .describe("Consumes the `FORGET_PASSWORD` code and revokes every session of the user.")
                    .body::<ResetRequest>(
                        json!({"userId": 1, "authCode": "ad6045", "newPassword": "new-password-1"}),
                    )
                    .reply::<ResetResponse>(200, "정상적으로 변경 됐을 경우.", success(json!({"userId": 1})))
                    .reply::<ErrorBody>(
                        400,
                        "인증 번호가 틀렸을 경우 (올바르지 않은 접근 권한), or a weak password.",
                        failure(DENIED),
                    ),
                )
            },
        },
    ]
}
