//! The `account` contract (seed 003): sign-up (behind an emailed code),
//! sign-in, withdrawal, id and email availability, code send and check,
//! password reset. Envelope: `{"data": …, "error": null | "message"}`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde_json::{Value, json};

use auth_domain::identity::account::{SignUp, SignUpError, WithdrawError};
use auth_domain::identity::login::{Identifier, LoginError};
use auth_domain::identity::password::PolicyViolation;
use auth_domain::verification::CodePurpose;
use auth_domain::verification::codes::{AccountRef, ResetError, SendCodeError};

use crate::body::{Body, BodyError};
use crate::contracts::envelope::{
    Common, ContractError, Envelope, Reply, non_blank, required, response_error,
};
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
    /// The right password of a user with a second factor: the login's
    /// second step is pending.
    #[error("second factor required")]
    SecondFactor(auth_domain::factors::Challenge),
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
            Self::SecondFactor(c) => Reply::second_factor(c),
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

// Each use case's error renders through `From`, in one place (the
// repository's tidy test refuses an inline `map_err(|e| match e {..})`).

impl From<PolicyViolation> for AccountError {
    fn from(violation: PolicyViolation) -> Self {
        let (min, max) = violation.bounds();
        Self::WeakPassword { min, max }
    }
}

impl From<LoginError> for AccountError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::UnknownUser => Self::UnknownId,
            LoginError::WrongPassword => Self::WrongPassword,
            LoginError::Disabled => Self::Disabled,
            LoginError::SecondFactor(c) => Self::SecondFactor(c),
            LoginError::Throttled { retry_after } => Common::Throttled(retry_after).into(),
            LoginError::Internal(e) => e.into(),
        }
    }
}

impl From<SignUpError> for AccountError {
    fn from(e: SignUpError) -> Self {
        match e {
            SignUpError::Duplicate(_) => Self::Duplicate,
            SignUpError::EmailNotVerified => Self::EmailNotVerified,
            SignUpError::InvalidLoginId => Self::InvalidLoginId,
            SignUpError::InvalidEmail => Self::InvalidEmail,
            SignUpError::InvalidName => Self::InvalidName,
            SignUpError::WeakPassword(v) => v.into(),
            SignUpError::Internal(e) => e.into(),
        }
    }
}

impl From<WithdrawError> for AccountError {
    fn from(e: WithdrawError) -> Self {
        match e {
            WithdrawError::UnknownUser => Self::UnknownId,
            WithdrawError::WrongPassword => Self::WrongPassword,
            WithdrawError::Throttled { retry_after } => Common::Throttled(retry_after).into(),
            WithdrawError::Disabled => Self::Disabled,
            WithdrawError::Internal(e) => e.into(),
        }
    }
}

impl From<SendCodeError> for AccountError {
    fn from(e: SendCodeError) -> Self {
        match e {
            SendCodeError::InvalidEmail => Self::InvalidEmail,
            SendCodeError::EmailTaken => Self::EmailTaken,
            SendCodeError::Cooldown(wait) => Self::Cooldown(wait),
            SendCodeError::MailUnavailable(e) => Self::MailUnavailable(e),
            SendCodeError::Internal(e) => e.into(),
        }
    }
}

impl From<ResetError> for AccountError {
    fn from(e: ResetError) -> Self {
        match e {
            ResetError::Denied => Self::Denied,
            ResetError::WeakPassword(v) => v.into(),
            ResetError::Internal(e) => e.into(),
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
    let user = state.auth.accounts().sign_up(request).await?;
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
    Ok(login_reply(login?))
}

/// The answer of a successful sign-in (also after its second step).
pub(crate) fn login_reply(login: auth_domain::identity::login::Login) -> HttpResponse {
    ok(SignInData {
        id: login.user.id.get(),
        name: login.user.name.as_str().to_owned(),
        auth_id: login.user.login_id.as_ref().map(|l| l.as_str().to_owned()),
        token: login.tokens.access.token,
    })
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
        .withdraw(auth_id, password, &state.caller(NAME, &req))
        .await?;
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
    sent?;
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
    let id = reset?;
    Ok(ok(ResetData { user_id: id.get() }))
}

mod bodies;
mod routes;
pub use bodies::*;
pub use routes::routes;
