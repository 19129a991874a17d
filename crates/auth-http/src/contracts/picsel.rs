//! The `picsel` contract (seed 002), email part: login, refresh, logout
//! (social login is in [`super::picsel_social`], rendered with the helpers
//! here). Every error uses the common envelope
//! `{statusCode, message, errorType, error: {code, message, details}}`,
//! with `statusCode` equal to the HTTP status.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use auth_domain::service::{Identifier, Login, LoginError, LogoutError, RefreshError};
use auth_domain::user::Email;

use crate::body::{BodyError, JsonObject, read_json};
use crate::contracts::{iso_millis, log_internal};
use crate::state::AppState;

/// Contract name, as stored on sessions it creates.
pub const NAME: &str = "picsel";

/// The document's message for wrong credentials.
pub const INVALID_CREDENTIALS: &str = "이메일 또는 비밀번호가 올바르지 않습니다";
const INVALID_REFRESH: &str = "유효하지 않은 리프레시 토큰입니다";

/// The common error envelope.
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

fn validation(field: &str, message: &str) -> HttpResponse {
    error(
        StatusCode::BAD_REQUEST,
        "BadRequestException",
        "VALIDATION_ERROR",
        message,
        json!({"field": field}),
    )
}

fn body_error(e: BodyError) -> HttpResponse {
    match e {
        BodyError::TooLarge => error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLargeException",
            "PAYLOAD_TOO_LARGE",
            "요청 본문이 너무 큽니다",
            Value::Null,
        ),
        BodyError::WrongType(field) => validation(field, &format!("{field}은(는) 문자열이어야 합니다")),
        BodyError::NotJson | BodyError::NotObject | BodyError::Unreadable => error(
            StatusCode::BAD_REQUEST,
            "BadRequestException",
            "INVALID_BODY",
            "요청 본문이 올바른 JSON 객체가 아닙니다",
            Value::Null,
        ),
    }
}

pub(crate) fn unavailable(e: &auth_domain::PortError) -> HttpResponse {
    log_internal(NAME, e);
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "ServiceUnavailableException",
        "SERVICE_UNAVAILABLE",
        "일시적으로 서비스를 이용할 수 없습니다",
        Value::Null,
    )
}

fn invalid_refresh() -> HttpResponse {
    error(
        StatusCode::UNAUTHORIZED,
        "UnauthorizedException",
        "INVALID_REFRESH_TOKEN",
        INVALID_REFRESH,
        Value::Null,
    )
}

fn required<'a>(body: &'a JsonObject, field: &'static str, message: &str) -> Result<&'a str, HttpResponse> {
    match body.non_blank(field) {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(validation(field, message)),
        Err(e) => Err(body_error(e)),
    }
}

/// `POST /api/auth/login` with an `email` body.
pub async fn login(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    match read_json(payload, state.max_body_bytes).await {
        Ok(body) => login_with(&state, &req, &body).await,
        Err(e) => body_error(e),
    }
}

/// The login once the body is parsed (shared with the login dispatcher).
pub async fn login_with(state: &AppState, req: &HttpRequest, body: &JsonObject) -> HttpResponse {
    let email = match required(body, "email", "이메일을 입력해주세요") {
        Ok(e) => e,
        Err(r) => return r,
    };
    if Email::parse(email).is_err() {
        return validation("email", "올바른 이메일 형식이 아닙니다");
    }
    let password = match required(body, "password", "비밀번호를 입력해주세요") {
        Ok(p) => p,
        Err(r) => return r,
    };
    let meta = state.client_meta(NAME, req);
    match state
        .auth
        .login(Identifier::Email(email.to_owned()), password, meta)
        .await
    {
        Ok(login) => HttpResponse::Ok().json(login_success(&login)),
        Err(LoginError::UnknownUser | LoginError::WrongPassword) => error(
            StatusCode::UNAUTHORIZED,
            "UnauthorizedException",
            "INVALID_CREDENTIALS",
            INVALID_CREDENTIALS,
            Value::Null,
        ),
        Err(LoginError::Throttled { retry_after }) => crate::contracts::with_retry_after(
            error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequestsException",
                "TOO_MANY_ATTEMPTS",
                crate::contracts::TOO_MANY_ATTEMPTS,
                json!({"retryAfter": crate::contracts::retry_after_secs(retry_after)}),
            ),
            retry_after,
        ),
        Err(LoginError::Internal(e)) => unavailable(&e),
    }
}

/// The body of a successful login, email or social:
/// `{"message": "로그인 성공", "data": {accessToken, refreshToken, issuedAt,
/// user: {uuid, email, name, profileImage}}}`.
pub(crate) fn login_success(login: &Login) -> Value {
    json!({
        "message": "로그인 성공",
        "data": {
            "accessToken": login.tokens.access.token,
            "refreshToken": login.tokens.refresh.token,
            "issuedAt": iso_millis(login.tokens.access.issued_at),
            "user": {
                "uuid": login.user.uuid,
                "email": login.user.email.as_str(),
                "name": login.user.name,
                "profileImage": login.user.profile_image,
            },
        },
    })
}

/// 429 `TOO_MANY_REQUESTS` with `Retry-After`: the client is over the per-IP
/// limit of the public endpoints.
pub(crate) fn too_many_requests(wait: chrono::TimeDelta) -> HttpResponse {
    crate::contracts::with_retry_after(
        error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequestsException",
            "TOO_MANY_REQUESTS",
            crate::contracts::TOO_MANY_REQUESTS,
            json!({"retryAfter": crate::contracts::retry_after_secs(wait)}),
        ),
        wait,
    )
}

/// `POST /api/auth/refresh`: a new access token; the refresh token stays.
pub async fn refresh(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    if let Err(wait) = state.rate_limit(&req) {
        return too_many_requests(wait);
    }
    let body = match read_json(payload, state.max_body_bytes).await {
        Ok(body) => body,
        Err(e) => return body_error(e),
    };
    let token = match required(&body, "refresh_token", "refresh_token을 입력해주세요") {
        Ok(t) => t,
        Err(r) => return r,
    };
    match state.auth_for(NAME, &req).refresh(token).await {
        Ok(access) => HttpResponse::Ok().json(json!({
            "message": "토큰 재발급 성공",
            "data": {"accessToken": access.token, "issuedAt": iso_millis(access.issued_at)},
        })),
        Err(RefreshError::Invalid | RefreshError::Reused) => invalid_refresh(),
        Err(RefreshError::Internal(e)) => unavailable(&e),
    }
}

/// `POST /api/auth/logout` with a `refresh_token` body.
pub async fn logout(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    match read_json(payload, state.max_body_bytes).await {
        Ok(body) => logout_with(&state, &req, &body).await,
        Err(e) => body_error(e),
    }
}

/// The logout once the body is parsed (shared with the logout dispatcher).
pub async fn logout_with(state: &AppState, req: &HttpRequest, body: &JsonObject) -> HttpResponse {
    let token = match required(body, "refresh_token", "refresh_token을 입력해주세요") {
        Ok(t) => t,
        Err(r) => return r,
    };
    match state.auth_for(NAME, req).logout_with_refresh(token).await {
        Ok(()) => HttpResponse::Ok().json(json!({"message": "로그아웃 성공"})),
        Err(LogoutError::InvalidToken) => invalid_refresh(),
        Err(LogoutError::Internal(e)) => unavailable(&e),
    }
}
