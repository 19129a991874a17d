//! The route table of the second factors, with its documentation.

use actix_web::web;
use serde_json::{Value, json};

use super::handlers as h;
use super::{
    ChallengeRequest, CodeRequest, CredentialRequest, EnrollResponse, ErrorBody, RecoveryCodesResponse,
    RegisterFinishRequest, StatusResponse, VerifyRequest, too_many,
};
use crate::openapi::Op;
use crate::routes::{Access, Method, Route};

fn error(status: u16, message: &str) -> Value {
    json!({"status": status, "message": message})
}

/// An operation of the family, with the answers every one of them shares:
/// the bearer-authenticated ones 401, the ones with a body 400 and 413,
/// the rate-limited ones 429, all 503.
fn op(id: &str, summary: &str, bearer: bool, body: bool, limited: bool) -> Op {
    let mut op = Op::new("mfa", id, summary);
    if bearer {
        op = op.bearer("accessToken").reply::<ErrorBody>(
            401,
            "No live session behind the access token.",
            error(401, "인증이 필요합니다."),
        );
    }
    if body {
        op = op
            .reply::<ErrorBody>(
                400,
                "A malformed body or a refused value; the message says which.",
                error(400, "code 값이 필요합니다."),
            )
            .reply::<ErrorBody>(
                413,
                "Body over `AUTH_MAX_BODY_BYTES`.",
                error(413, "요청 본문이 너무 큽니다."),
            );
    }
    if limited {
        op = op
            .reply::<ErrorBody>(
                429,
                "Over the per-IP rate limit, or too many wrong codes.",
                error(429, "요청이 너무 많습니다. 잠시 후 다시 시도해 주세요."),
            )
            .retry_after(429);
    }
    op.reply::<ErrorBody>(
        503,
        "The service cannot answer now.",
        error(503, "일시적으로 서비스를 이용할 수 없습니다."),
    )
}

fn options_schema() -> Value {
    json!({"type": "object", "required": ["publicKey"], "properties": {"publicKey": {"type": "object"}}})
}

/// Every route of `/api/mfa` and `/api/passkeys`.
#[allow(clippy::too_many_lines)]
pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: Method::Get,
            path: "/api/mfa",
            id: "mfa.status",
            to: || web::get().to(h::status),
            rate_limit: None,
            access: Access::Public,
            doc: || {
                op("mfa.status", "The signed-in user's second factors", true, false, false).reply::<StatusResponse>(
                    200,
                    "The factors.",
                    json!({"totp": true, "passkeys": [{"id": "0193e3a4-8c1f-7d2e-9a41-6f2b8c0d1e23", "name": "내 휴대폰", "createdAt": "2026-12-08T09:00:00.000Z", "lastUsedAt": null}], "recoveryCodesLeft": 10}),
                )
            },
        },
        Route {
            method: Method::Post,
            path: "/api/mfa/totp/enroll",
            id: "mfa.totp_enroll",
            to: || web::post().to(h::totp_enroll),
            rate_limit: Some(too_many),
            access: Access::Public,
            doc: || {
                op("mfa.totp_enroll", "Start a TOTP enrolment", true, false, true)
                    .describe("A new 160-bit secret (RFC 6238: SHA-1, 6 digits, 30 s), replacing a pending one. Not on until confirmed.")
                    .reply::<EnrollResponse>(200, "The secret, its URI and a QR code.", json!({"secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "otpauthUri": "otpauth://totp/auth.example.com:kim?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=auth.example.com&algorithm=SHA1&digits=6&period=30", "qrSvg": "<svg …>"}))
                    .reply::<ErrorBody>(409, "An authenticator is already on.", error(409, "이미 등록된 인증 앱이 있습니다."))
            },
        },
        Route {
            method: Method::Post,
            path: "/api/mfa/totp/confirm",
            id: "mfa.totp_confirm",
            to: || web::post().to(h::totp_confirm),
            rate_limit: Some(too_many),
            access: Access::Public,
            doc: || {
                op(
                    "mfa.totp_confirm",
                    "Turn TOTP on with its first code",
                    true,
                    true,
                    true,
                )
                .body::<CodeRequest>(json!({"code": "123456"}))
                .reply::<RecoveryCodesResponse>(
                    200,
                    "On. The user's first factor also answers `recoveryCodes` (shown once).",
                    json!({"totp": true, "recoveryCodes": ["abcd-efgh-ijkl-mnop"]}),
                )
                .reply::<ErrorBody>(
                    409,
                    "An authenticator is already on.",
                    error(409, "이미 등록된 인증 앱이 있습니다."),
                )
            },
        },
        Route {
            method: Method::Delete,
            path: "/api/mfa/totp",
            id: "mfa.totp_delete",
            to: || web::delete().to(h::totp_delete),
            rate_limit: Some(too_many),
            access: Access::Public,
            doc: || {
                op("mfa.totp_delete", "Turn TOTP off", true, true, true)
                    .describe("Needs a current second factor in `code` (a TOTP code or a recovery code). With no factor left, the recovery codes go too.")
                    .body::<CodeRequest>(json!({"code": "123456"}))
                    .reply::<Value>(200, "Off.", json!({"totp": false}))
            },
        },
        Route {
            method: Method::Post,
            path: "/api/mfa/recovery-codes",
            id: "mfa.recovery_codes",
            to: || web::post().to(h::recovery_codes),
            rate_limit: Some(too_many),
            access: Access::Public,
            doc: || {
                op(
                    "mfa.recovery_codes",
                    "A new set of recovery codes",
                    true,
                    true,
                    true,
                )
                .describe("Needs a current second factor in `code`. The old set stops working.")
                .body::<CodeRequest>(json!({"code": "123456"}))
                .reply::<RecoveryCodesResponse>(
                    200,
                    "Ten codes, shown once.",
                    json!({"recoveryCodes": ["abcd-efgh-ijkl-mnop"]}),
                )
            },
        },
        Route {
            method: Method::Post,
            path: "/api/mfa/webauthn/register/start",
            id: "mfa.webauthn_register_start",
            to: || web::post().to(h::register_start),
            rate_limit: Some(too_many),
            access: Access::Public,
            doc: || {
                op(
                    "mfa.webauthn_register_start",
                    "Start registering a passkey",
                    true,
                    false,
                    true,
                )
                .raw(
                    200,
                    "`PublicKeyCredentialCreationOptions` (WebAuthn JSON, base64url).",
                    "application/json",
                    options_schema(),
                )
            },
        },
        Route {
            method: Method::Post,
            path: "/api/mfa/webauthn/register/finish",
            id: "mfa.webauthn_register_finish",
            to: || web::post().to(h::register_finish),
            rate_limit: Some(too_many),
            access: Access::Public,
            doc: || {
                op("mfa.webauthn_register_finish", "Finish registering a passkey", true, true, true)
                    .body::<RegisterFinishRequest>(json!({"name": "내 휴대폰", "credential": {"id": "…", "rawId": "…", "type": "public-key", "response": {}}}))
                    .reply::<Value>(200, "Registered (with `recoveryCodes` when it is the first factor).", json!({"id": "0193e3a4-8c1f-7d2e-9a41-6f2b8c0d1e23"}))
            },
        },
        Route {
            method: Method::Delete,
            path: "/api/mfa/webauthn/{id}",
            id: "mfa.webauthn_delete",
            to: || web::delete().to(h::passkey_delete),
            rate_limit: None,
            access: Access::Public,
            doc: || {
                op("mfa.webauthn_delete", "Remove a passkey", true, false, false)
                    .path_param("id", "The passkey's id.", "0193e3a4-8c1f-7d2e-9a41-6f2b8c0d1e23")
                    .empty(204, "Removed.")
                    .reply::<ErrorBody>(
                        404,
                        "No passkey of this user has this id.",
                        error(404, "패스키를 찾을 수 없습니다."),
                    )
            },
        },
        Route {
            method: Method::Post,
            path: "/api/mfa/webauthn/challenge",
            id: "mfa.webauthn_challenge",
            to: || web::post().to(h::passkey_challenge),
            rate_limit: Some(too_many),
            access: Access::Public,
            doc: || {
                op(
                    "mfa.webauthn_challenge",
                    "A passkey challenge for a login's second step",
                    false,
                    true,
                    true,
                )
                .body::<ChallengeRequest>(json!({"mfaToken": "…"}))
                .raw(
                    200,
                    "`PublicKeyCredentialRequestOptions` for the user's passkeys.",
                    "application/json",
                    options_schema(),
                )
                .reply::<ErrorBody>(
                    401,
                    "The `mfaToken` is unknown, expired or spent.",
                    error(401, "추가 인증 토큰이 유효하지 않거나 만료되었습니다."),
                )
            },
        },
        Route {
            method: Method::Post,
            path: "/api/mfa/verify",
            id: "mfa.verify",
            to: || web::post().to(h::verify),
            rate_limit: Some(too_many),
            access: Access::Public,
            doc: || {
                op("mfa.verify", "Finish a login with a second factor", false, true, true)
                    .describe("`mfaToken` and exactly one of `totpCode`, `recoveryCode`, `credential`. Success answers exactly what the login of the contract that started it answers on success (status, body and headers). A token allows 5 checks and lives 5 minutes.")
                    .body::<VerifyRequest>(json!({"mfaToken": "…", "totpCode": "123456"}))
                    .raw(200, "The contract's login success.", "application/json", json!({"type": "object"}))
                    .reply::<ErrorBody>(401, "A wrong second factor, or an unknown, expired, spent or exhausted `mfaToken`.", error(401, "추가 인증에 실패했습니다."))
                    .reply::<ErrorBody>(403, "The account was disabled meanwhile.", error(403, crate::contracts::ACCOUNT_DISABLED))
            },
        },
        Route {
            method: Method::Post,
            path: "/api/passkeys/login/start",
            id: "mfa.passkey_login_start",
            to: || web::post().to(h::passkey_login_start),
            rate_limit: Some(too_many),
            access: Access::Public,
            doc: || {
                op("mfa.passkey_login_start", "Start a passwordless passkey sign-in", false, false, true)
                    .raw(200, "`PublicKeyCredentialRequestOptions` for any discoverable credential (user verification required).", "application/json", options_schema())
                    .reply::<ErrorBody>(400, "Passkeys are off: the public URL's host cannot be a relying party (see `AUTH_WEBAUTHN_RP_ID`).", error(400, "사용할 수 없는 인증 방법입니다."))
            },
        },
        Route {
            method: Method::Post,
            path: "/api/passkeys/login/finish",
            id: "mfa.passkey_login_finish",
            to: || web::post().to(h::passkey_login_finish),
            rate_limit: Some(too_many),
            access: Access::Public,
            doc: || {
                op(
                    "mfa.passkey_login_finish",
                    "Finish a passwordless passkey sign-in",
                    false,
                    true,
                    true,
                )
                .query_param(
                    "contract",
                    "Whose login success to answer: `standard`, `session`, `picsel` or `account`.",
                    json!({"type": "string", "enum": ["standard", "session", "picsel", "account"]}),
                )
                .body::<CredentialRequest>(
                    json!({"credential": {"id": "…", "rawId": "…", "type": "public-key", "response": {}}}),
                )
                .raw(
                    200,
                    "The contract's login success.",
                    "application/json",
                    json!({"type": "object"}),
                )
                .reply::<ErrorBody>(
                    401,
                    "The assertion is refused (unknown credential, wrong signature, counter gone backwards).",
                    error(401, "추가 인증에 실패했습니다."),
                )
                .reply::<ErrorBody>(
                    403,
                    "The account is disabled.",
                    error(403, crate::contracts::ACCOUNT_DISABLED),
                )
            },
        },
    ]
}
