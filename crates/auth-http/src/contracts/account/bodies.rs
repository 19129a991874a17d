//! The `account` contract's bodies: what each route reads and answers, as
//! the document spells them (and as the OpenAPI document shows them).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::AccountError;
use crate::body::{ContractBody, int_or_string};

/// `POST /api/auth/sign-up` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignUpRequest {
    /// 사용자 아이디: letters and digits, 3–20.
    #[schema(required = true, example = "phj123")]
    pub(super) auth_id: Option<String>,
    /// Password (the configured policy: 8–64 characters by default).
    #[schema(required = true, example = "password1")]
    pub(super) password: Option<String>,
    /// Display name, 1–50 characters.
    #[schema(required = true, example = "parkh")]
    pub(super) name: Option<String>,
    /// Email, verified by a `SIGN_UP` code bound to this `authId`.
    #[schema(required = true, example = "hyeonj1998@naver.com")]
    pub(super) email: Option<String>,
}

/// `POST /api/auth/sign-in` and `POST /api/auth/withdrawal` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialsRequest {
    /// 사용자 아이디.
    #[schema(required = true, example = "parkh")]
    pub(super) auth_id: Option<String>,
    /// Password.
    #[schema(required = true, example = "password")]
    pub(super) password: Option<String>,
}

/// `POST /api/auth/send/auth-key` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendCodeRequest {
    /// 사용자 아이디: required for `FORGET_PASSWORD`; for `SIGN_UP` it binds
    /// the code to the account being created.
    #[schema(example = "parkh")]
    pub(super) auth_id: Option<String>,
    /// Where the code goes.
    #[schema(required = true, example = "hyeonj1998@naver.com")]
    pub(super) email: Option<String>,
    /// `SIGN_UP` or `FORGET_PASSWORD`.
    #[serde(rename = "type")]
    #[schema(required = true, example = "SIGN_UP")]
    pub(super) kind: Option<String>,
}

/// `GET /api/auth/check/auth-code` body (the same fields are accepted as
/// query parameters; the body wins).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckCodeRequest {
    /// 사용자 아이디 (binds a `SIGN_UP` code sent without one).
    #[schema(example = "parkh")]
    pub(super) auth_id: Option<String>,
    /// The email the code was sent to.
    #[schema(required = true, example = "hyeonj1998@naver.com")]
    pub(super) email: Option<String>,
    /// The code from the mail.
    #[schema(required = true, example = "e09d93")]
    pub(super) auth_code: Option<String>,
    /// `SIGN_UP` or `FORGET_PASSWORD`.
    #[serde(rename = "type")]
    #[schema(required = true, example = "SIGN_UP")]
    pub(super) kind: Option<String>,
}

/// `POST /api/auth/reset/password` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetRequest {
    /// The numeric user id (a number, or a string of digits); `authId` is
    /// accepted instead.
    #[serde(default, deserialize_with = "int_or_string")]
    #[schema(value_type = Option<i64>, example = 1)]
    pub(super) user_id: Option<i64>,
    /// 사용자 아이디, instead of `userId`.
    pub(super) auth_id: Option<String>,
    /// The `FORGET_PASSWORD` code from the mail.
    #[schema(required = true, example = "ad6045")]
    pub(super) auth_code: Option<String>,
    /// The new password (the configured policy).
    #[schema(required = true, example = "new-password-1")]
    pub(super) new_password: Option<String>,
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
    pub(super) id: i64,
    /// The display name.
    pub(super) name: String,
}

/// A sign-in's user and access token.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignInData {
    /// The numeric user id.
    pub(super) id: i64,
    /// The display name.
    pub(super) name: String,
    /// 사용자 아이디.
    pub(super) auth_id: Option<String>,
    /// An access token of the new session.
    pub(super) token: String,
}

/// `{"status": true}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusData {
    /// Always `true`.
    pub(super) status: bool,
}

/// `{"usable": bool}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsableData {
    /// Whether it can be used.
    pub(super) usable: bool,
}

/// `{"state": true}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StateData {
    /// Always `true` (a send that matches no account looks the same).
    pub(super) state: bool,
}

/// `{"userId"}` of a reset.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetData {
    /// The numeric user id.
    pub(super) user_id: i64,
}

/// `{"data": …, "error": null}`, generic over the data.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AccountSignUpResponse)]
pub struct SignUpResponse {
    /// The data.
    pub(super) data: SignUpData,
    /// `null`.
    pub(super) error: Option<String>,
}

/// A sign-in's answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AccountSignInResponse)]
pub struct SignInResponse {
    /// The data.
    pub(super) data: SignInData,
    /// `null`.
    pub(super) error: Option<String>,
}

/// A withdrawal's answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AccountStatusResponse)]
pub struct StatusResponse {
    /// The data.
    pub(super) data: StatusData,
    /// `null`.
    pub(super) error: Option<String>,
}

/// An availability or code check's answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AccountUsableResponse)]
pub struct UsableResponse {
    /// The data.
    pub(super) data: UsableData,
    /// `null`.
    pub(super) error: Option<String>,
}

/// A code send's answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AccountStateResponse)]
pub struct StateResponse {
    /// The data.
    pub(super) data: StateData,
    /// `null`.
    pub(super) error: Option<String>,
}

/// A reset's answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AccountResetResponse)]
pub struct ResetResponse {
    /// The data.
    pub(super) data: ResetData,
    /// `null`.
    pub(super) error: Option<String>,
}

/// The error envelope.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AccountErrorBody)]
pub struct ErrorBody {
    /// Always `null`.
    pub(super) data: Option<Value>,
    /// The message.
    pub(super) error: String,
}
