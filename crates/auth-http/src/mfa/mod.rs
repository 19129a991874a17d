//! Second factors over the API (`/api/mfa/…`, `/api/passkeys/…`): a
//! service endpoint family, like `/api/auth/me`, served at fixed paths
//! whatever the contracts' prefixes (see `docs/mfa.md`).
//!
//! Enrolment is authenticated by the user's own access token (its session
//! must be live). `POST /api/mfa/verify` and passkey sign-in answer exactly
//! what the contract that started the login answers on success; their
//! failures, like every other answer here, use this family's envelope
//! `{"status", "message"}`.
#![allow(clippy::result_large_err)]

pub(crate) mod handlers;
mod routes;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use auth_domain::factors::{FactorError, StepError};

use crate::body::{BodyError, ContractBody};
use crate::contracts::envelope::{Common, ContractError, Envelope, Reply, TOO_LARGE, render, response_error};

pub use routes::routes;

/// `{"status", "message"}`.
#[derive(Debug)]
pub struct MfaEnvelope;

impl Envelope for MfaEnvelope {
    const NAME: &'static str = "mfa";

    fn body(reply: &Reply) -> Value {
        json!({"status": reply.status.as_u16(), "message": reply.message})
    }

    fn invalid(problem: &Common) -> Reply {
        match problem {
            Common::Body(BodyError::TooLarge) => Reply::new(StatusCode::PAYLOAD_TOO_LARGE, TOO_LARGE),
            Common::Body(BodyError::WrongType(field)) => Reply::new(
                StatusCode::BAD_REQUEST,
                format!("{field} 값의 형식이 올바르지 않습니다."),
            ),
            Common::Blank(field) => Reply::new(StatusCode::BAD_REQUEST, format!("{field} 값이 필요합니다.")),
            _ => Reply::new(StatusCode::BAD_REQUEST, "요청 본문을 읽을 수 없습니다."),
        }
    }
}

/// The error body.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = MfaErrorBody)]
pub struct ErrorBody {
    /// The HTTP status.
    status: u16,
    /// What went wrong.
    message: String,
}

/// Everything a second-factor request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    /// Shared failures (body, blank field, 429, 503).
    #[error(transparent)]
    Common(#[from] Common),
    /// No live session behind the bearer token.
    #[error("unauthenticated")]
    Unauthenticated,
    /// An enrolment refusal.
    #[error(transparent)]
    Factor(FactorError),
    /// A second-step refusal.
    #[error(transparent)]
    Step(StepError),
    /// `contract` is not one of the four login contracts.
    #[error("unknown contract")]
    UnknownContract,
    /// A passkey id that is not a UUID.
    #[error("unknown passkey")]
    UnknownPasskey,
    /// The body names more or fewer than one proof.
    #[error("one proof expected")]
    OneProof,
}

impl From<BodyError> for MfaError {
    fn from(e: BodyError) -> Self {
        Self::Common(Common::Body(e))
    }
}

impl From<FactorError> for MfaError {
    fn from(e: FactorError) -> Self {
        match e {
            FactorError::Throttled { retry_after } => Common::Throttled(retry_after).into(),
            FactorError::Internal(e) => Common::Unavailable(e).into(),
            FactorError::Unauthenticated => Self::Unauthenticated,
            e => Self::Factor(e),
        }
    }
}

impl From<StepError> for MfaError {
    fn from(e: StepError) -> Self {
        match e {
            StepError::Throttled { retry_after } => Common::Throttled(retry_after).into(),
            StepError::Internal(e) => Common::Unavailable(e).into(),
            e => Self::Step(e),
        }
    }
}

impl ContractError for MfaError {
    type Envelope = MfaEnvelope;

    fn reply(&self) -> Reply {
        let bad = |m: &'static str| Reply::new(StatusCode::BAD_REQUEST, m);
        let unauthorized = |m: &'static str| Reply::new(StatusCode::UNAUTHORIZED, m);
        match self {
            Self::Common(c) => MfaEnvelope::common(c),
            Self::Unauthenticated => unauthorized("인증이 필요합니다."),
            Self::UnknownContract => bad("contract는 standard, session, picsel, account 중 하나여야 합니다."),
            Self::UnknownPasskey | Self::Factor(FactorError::UnknownPasskey) => {
                Reply::new(StatusCode::NOT_FOUND, "패스키를 찾을 수 없습니다.")
            }
            Self::OneProof => bad("totpCode, recoveryCode, credential 중 하나만 보내야 합니다."),
            Self::Factor(e) => match e {
                FactorError::NotEnrolled => bad("등록된 추가 인증 수단이 없습니다."),
                FactorError::AlreadyEnrolled => {
                    Reply::new(StatusCode::CONFLICT, "이미 등록된 인증 앱이 있습니다.")
                }
                FactorError::NothingPending => bad("진행 중인 인증 앱 등록이 없습니다."),
                FactorError::MalformedCode => bad("인증 코드 형식이 올바르지 않습니다."),
                FactorError::WrongCode => bad("인증 코드가 올바르지 않습니다."),
                FactorError::InvalidName => bad("패스키 이름은 1~64자여야 합니다."),
                FactorError::MalformedCredential => bad("자격 증명 형식이 올바르지 않습니다."),
                FactorError::CredentialRefused(_) => bad("패스키를 확인할 수 없습니다."),
                FactorError::PasskeysOff => bad("이 서버에는 패스키가 설정되어 있지 않습니다."),
                // Mapped before: kept total for the compiler.
                FactorError::UnknownPasskey
                | FactorError::Unauthenticated
                | FactorError::Throttled { .. }
                | FactorError::Internal(_) => MfaEnvelope::unavailable(),
            },
            Self::Step(e) => match e {
                StepError::InvalidToken => unauthorized("추가 인증 토큰이 유효하지 않거나 만료되었습니다."),
                StepError::MalformedCode => bad("인증 코드 형식이 올바르지 않습니다."),
                StepError::Wrong => unauthorized("추가 인증에 실패했습니다."),
                StepError::MethodUnavailable => bad("사용할 수 없는 인증 방법입니다."),
                StepError::MalformedCredential => bad("자격 증명 형식이 올바르지 않습니다."),
                StepError::UnknownCeremony => bad("패스키 인증 요청이 없거나 만료되었습니다."),
                StepError::Disabled => Reply::new(StatusCode::FORBIDDEN, crate::contracts::ACCOUNT_DISABLED),
                StepError::Throttled { .. } | StepError::Internal(_) => MfaEnvelope::unavailable(),
            },
        }
    }

    fn outage(&self) -> Option<&auth_domain::PortError> {
        match self {
            Self::Common(Common::Unavailable(e)) => Some(e),
            _ => None,
        }
    }
}

response_error!(MfaError);

/// The 429 of a rate-limited route of this family.
fn too_many(wait: chrono::TimeDelta) -> HttpResponse {
    render::<MfaEnvelope>(&MfaEnvelope::common(&Common::RateLimited(wait)))
}

/// `{"code"}`: a TOTP code (confirm) or a current second factor (a TOTP
/// code or a recovery code: removal, new recovery codes).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = MfaCodeRequest)]
pub struct CodeRequest {
    /// The code.
    #[schema(required = true, example = "123456")]
    code: Option<String>,
}

/// `{"name", "credential"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = MfaRegisterFinishRequest)]
pub struct RegisterFinishRequest {
    /// The passkey's name, as the user will see it (1–64 characters).
    #[schema(required = true, example = "내 휴대폰")]
    name: Option<String>,
    /// The `PublicKeyCredential` (WebAuthn JSON, as `toJSON()` gives it).
    #[schema(required = true, value_type = Object)]
    credential: Option<Value>,
}

/// `{"mfaToken", …}` and one proof.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = MfaVerifyRequest)]
pub struct VerifyRequest {
    /// The login's `mfa.mfaToken`.
    #[schema(required = true)]
    mfa_token: Option<String>,
    /// A 6-digit TOTP code.
    totp_code: Option<String>,
    /// A recovery code.
    recovery_code: Option<String>,
    /// A passkey assertion answering `POST /api/mfa/webauthn/challenge`.
    #[schema(value_type = Object)]
    credential: Option<Value>,
}

/// `{"mfaToken"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = MfaChallengeRequest)]
pub struct ChallengeRequest {
    /// The login's `mfa.mfaToken`.
    #[schema(required = true)]
    mfa_token: Option<String>,
}

/// `{"credential"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = PasskeyLoginFinishRequest)]
pub struct CredentialRequest {
    /// The `PublicKeyCredential` assertion (WebAuthn JSON).
    #[schema(required = true, value_type = Object)]
    credential: Option<Value>,
}

impl ContractBody for CodeRequest {
    type Error = MfaError;
}
impl ContractBody for RegisterFinishRequest {
    type Error = MfaError;
}
impl ContractBody for VerifyRequest {
    type Error = MfaError;
}
impl ContractBody for ChallengeRequest {
    type Error = MfaError;
}
impl ContractBody for CredentialRequest {
    type Error = MfaError;
}

/// `GET /api/mfa`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = MfaStatusResponse)]
pub struct StatusResponse {
    /// Whether a TOTP authenticator is on.
    totp: bool,
    /// The passkeys.
    passkeys: Vec<PasskeyView>,
    /// Unspent recovery codes.
    recovery_codes_left: u32,
}

/// One passkey.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = MfaPasskey)]
pub struct PasskeyView {
    /// Its id (`DELETE /api/mfa/webauthn/{id}`).
    id: uuid::Uuid,
    /// Its name.
    name: String,
    /// Registration time (RFC 3339).
    created_at: String,
    /// Last use, if any.
    last_used_at: Option<String>,
}

/// `POST /api/mfa/totp/enroll`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = MfaTotpEnrollResponse)]
pub struct EnrollResponse {
    /// The secret, base32 (for typing into an app).
    secret: String,
    /// The `otpauth://totp/…` URI.
    otpauth_uri: String,
    /// The URI as a QR code (an SVG document).
    qr_svg: String,
}

/// Recovery codes, shown once.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = MfaRecoveryCodes)]
pub struct RecoveryCodesResponse {
    /// Ten single-use codes.
    recovery_codes: Vec<String>,
}
