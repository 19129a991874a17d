//! The `picsel` contract's email part: its route table (method, path,
//! operation id, handler, rate limit and OpenAPI description) and the
//! answers its documentation shares with the social part.

use crate::contracts::envelope::{Common, Envelope, TOO_MANY_ATTEMPTS, TOO_MANY_REQUESTS, render};
use crate::openapi::Op;
use crate::routes::{Access, Method, Route};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::*;

/// The 429 of a rate-limited route of this contract: `TOO_MANY_REQUESTS`
/// with `Retry-After`, the client is over the per-IP limit.
pub(crate) fn too_many_requests(wait: chrono::TimeDelta) -> HttpResponse {
    render::<PicselEnvelope>(&PicselEnvelope::common(&Common::RateLimited(wait)))
}

/// An error body example.
pub(crate) fn error_example(status: u16, code: &str, message: &str, details: Value) -> Value {
    let status_code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    json!({
        "statusCode": status, "message": message, "errorType": error_type(status_code),
        "error": {"code": code, "message": message, "details": details},
    })
}

/// The failures every `picsel` route can answer.
pub(crate) fn common_errors(op: Op) -> Op {
    op.reply::<ErrorBody>(
        400,
        "Unreadable body, or a field of the wrong type.",
        error_example(
            400,
            "INVALID_BODY",
            "요청 본문이 올바른 JSON 객체가 아닙니다",
            Value::Null,
        ),
    )
    .reply::<ErrorBody>(
        413,
        "Body over `AUTH_MAX_BODY_BYTES`.",
        error_example(413, "PAYLOAD_TOO_LARGE", "요청 본문이 너무 큽니다", Value::Null),
    )
    .reply::<ErrorBody>(
        503,
        "The service cannot answer now.",
        error_example(
            503,
            "SERVICE_UNAVAILABLE",
            "일시적으로 서비스를 이용할 수 없습니다",
            Value::Null,
        ),
    )
}

fn login_example() -> Value {
    json!({"message": "로그인 성공", "data": {
        "accessToken": "eyJ...", "refreshToken": "eyJ...", "issuedAt": "2025-12-08T11:00:00.000Z",
        "user": {"uuid": "550e8400-e29b-41d4-a716-446655440000", "email": "test@example.com", "name": "홍길동", "profileImage": null},
    }})
}

/// The email part's route table (the social part has its own).
pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: Method::Post,
            path: "/api/auth/login",
            id: "picsel.login",
            to: || web::post().to(login),
            rate_limit: None,
            access: Access::Public,
            doc: || {
                common_errors(
                    Op::new("picsel", "picsel.login", "일반 로그인 (email)")
                        .body::<LoginRequest>(
                            json!({"email": "user@example.com", "password": "Password123!"}),
                        )
                        .reply::<LoginResponse>(200, "로그인 성공.", login_example())
                        .reply::<ErrorBody>(
                            400,
                            "A blank or malformed field.",
                            error_example(
                                400,
                                "VALIDATION_ERROR",
                                "이메일을 입력해주세요",
                                json!({"field": "email"}),
                            ),
                        )
                        .reply::<ErrorBody>(
                            401,
                            "Wrong email or password.",
                            error_example(401, "INVALID_CREDENTIALS", INVALID_CREDENTIALS, Value::Null),
                        )
                        .reply::<ErrorBody>(401, "A user with a second factor: no session yet; `mfa.mfaToken` finishes the login at `POST /api/mfa/verify` (docs/mfa.md).", {
                            let mut e = error_example(401, "MFA_REQUIRED", crate::contracts::envelope::SECOND_FACTOR_REQUIRED, Value::Null);
                            e["mfa"] = json!({"mfaToken": "3f27…", "methods": ["totp", "recovery"], "expiresIn": 300});
                            e
                        })
                        .reply::<ErrorBody>(
                            403,
                            "The right password of an account an administrator disabled.",
                            error_example(
                                403,
                                "ACCOUNT_DISABLED",
                                crate::contracts::ACCOUNT_DISABLED,
                                Value::Null,
                            ),
                        )
                        .reply::<ErrorBody>(
                            429,
                            "Too many failed logins.",
                            error_example(
                                429,
                                "TOO_MANY_ATTEMPTS",
                                TOO_MANY_ATTEMPTS,
                                json!({"retryAfter": 60}),
                            ),
                        )
                        .retry_after(429),
                )
            },
        },
        Route {
            method: Method::Post,
            path: "/api/auth/refresh",
            id: "picsel.refresh",
            to: || web::post().to(refresh),
            rate_limit: Some(too_many_requests),
            access: Access::Public,
            doc: || {
                common_errors(
                    Op::new("picsel", "picsel.refresh", "토큰 재발급")
                        .body::<RefreshTokenRequest>(json!({"refresh_token": "eyJ..."}))
                        .reply::<RefreshResponse>(
                            200,
                            "토큰 재발급 성공.",
                            json!({"message": "토큰 재발급 성공", "data": {"accessToken": "eyJ...", "issuedAt": "2025-12-08T12:00:00.000Z"}}),
                        )
                        .reply::<ErrorBody>(
                            400,
                            "`refresh_token` is blank.",
                            error_example(400, "VALIDATION_ERROR", "refresh_token을 입력해주세요", json!({"field": "refresh_token"})),
                        )
                        .reply::<ErrorBody>(
                            401,
                            "Invalid, expired or revoked refresh token.",
                            error_example(401, "INVALID_REFRESH_TOKEN", INVALID_REFRESH, Value::Null),
                        )
                        .reply::<ErrorBody>(
                            429,
                            "Over the per-client request limit.",
                            error_example(429, "TOO_MANY_REQUESTS", TOO_MANY_REQUESTS, json!({"retryAfter": 60})),
                        )
                        .retry_after(429),
                )
            },
        },
        Route {
            method: Method::Post,
            path: "/api/auth/logout",
            id: "picsel.logout",
            to: || web::post().to(logout),
            rate_limit: None,
            access: Access::Public,
            doc: || {
                common_errors(
                    Op::new("picsel", "picsel.logout", "로그아웃 (refresh token)")
                        .describe("Revokes the refresh token's session; its sockets get `LOGOUT`.")
                        .body::<RefreshTokenRequest>(json!({"refresh_token": "eyJ..."}))
                        .reply::<MessageResponse>(200, "로그아웃 성공.", json!({"message": "로그아웃 성공"}))
                        .reply::<ErrorBody>(
                            400,
                            "`refresh_token` is blank.",
                            error_example(
                                400,
                                "VALIDATION_ERROR",
                                "refresh_token을 입력해주세요",
                                json!({"field": "refresh_token"}),
                            ),
                        )
                        .reply::<ErrorBody>(
                            401,
                            "Invalid or revoked refresh token.",
                            error_example(401, "INVALID_REFRESH_TOKEN", INVALID_REFRESH, Value::Null),
                        ),
                )
            },
        },
    ]
}
