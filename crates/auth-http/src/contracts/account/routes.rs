//! The `account` contract's route table: each route's method, path,
//! operation id, handler, rate limit and OpenAPI description.

use crate::contracts::envelope::{Common, Envelope, TOO_MANY_ATTEMPTS, TOO_MANY_REQUESTS, render};
use crate::openapi::Op;
use crate::routes::{Access, Method, Route};
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::*;

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
                                401,
                                "A user with a second factor: no session yet; `mfa.mfaToken` finishes the login at `POST /api/mfa/verify` (docs/mfa.md).",
                                json!({"data": null, "error": crate::contracts::envelope::SECOND_FACTOR_REQUIRED, "mfa": json!({"mfaToken": "3f27…", "methods": ["totp", "recovery"], "expiresIn": 300})}),
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
