//! The `session` contract (seed 001), HTTP part: `/api/login` and
//! `/api/token/refresh`. Envelope: `{"success", "message", …}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::json;

use auth_domain::service::{Identifier, LoginError, RefreshError};

use crate::body::{BodyError, read_json};
use crate::contracts::log_internal;
use crate::state::AppState;

/// Contract name, as stored on sessions it creates.
pub const NAME: &str = "session";

/// The document's failure message for wrong credentials.
pub const INVALID_CREDENTIALS: &str = "유효하지 않은 아이디 또는 비밀번호입니다!";
/// The document's failure message for a bad refresh token.
pub const INVALID_REFRESH: &str = "유효하지 않은 갱신 토큰입니다.";

fn failure(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({"success": false, "message": message}))
}

fn body_error(e: BodyError) -> HttpResponse {
    match e {
        BodyError::TooLarge => failure(StatusCode::PAYLOAD_TOO_LARGE, "요청 본문이 너무 큽니다."),
        _ => failure(StatusCode::BAD_REQUEST, "잘못된 요청 형식입니다."),
    }
}

fn unavailable(e: &auth_domain::PortError) -> HttpResponse {
    log_internal(NAME, e);
    failure(
        StatusCode::SERVICE_UNAVAILABLE,
        "일시적으로 서비스를 이용할 수 없습니다.",
    )
}

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
    req: actix_web::HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let body = match read_json(payload, state.max_body_bytes).await {
        Ok(body) => body,
        Err(e) => return body_error(e),
    };
    let (user_id, password) = match (body.non_blank("userId"), body.non_blank("password")) {
        (Ok(Some(u)), Ok(Some(p))) => (u, p),
        (Err(e), _) | (_, Err(e)) => return body_error(e),
        _ => return failure(StatusCode::BAD_REQUEST, "아이디와 비밀번호를 입력해주세요."),
    };
    if !valid_user_id(user_id) {
        return failure(
            StatusCode::BAD_REQUEST,
            "아이디는 영문 소문자와 숫자 3~20자여야 합니다.",
        );
    }
    if !valid_password(password) {
        return failure(
            StatusCode::BAD_REQUEST,
            "비밀번호는 영문자, 숫자, 특수문자 6~30자여야 합니다.",
        );
    }
    let meta = state.client_meta(NAME, &req);
    match state
        .auth
        .login(Identifier::LoginId(user_id.to_owned()), password, meta)
        .await
    {
        Ok(login) => HttpResponse::Ok().json(json!({
            "success": true,
            "message": "로그인 성공",
            "accessToken": login.tokens.access.token,
            "refreshToken": login.tokens.refresh.token,
        })),
        Err(LoginError::UnknownUser | LoginError::WrongPassword) => {
            failure(StatusCode::UNAUTHORIZED, INVALID_CREDENTIALS)
        }
        Err(LoginError::Throttled { retry_after }) => crate::contracts::with_retry_after(
            failure(StatusCode::TOO_MANY_REQUESTS, crate::contracts::TOO_MANY_ATTEMPTS),
            retry_after,
        ),
        Err(LoginError::Internal(e)) => unavailable(&e),
    }
}

/// `POST /api/token/refresh`: a new access token; the refresh token stays.
pub async fn refresh(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    if let Err(wait) = state.rate_limit(&req) {
        return crate::contracts::with_retry_after(
            failure(StatusCode::TOO_MANY_REQUESTS, crate::contracts::TOO_MANY_REQUESTS),
            wait,
        );
    }
    let body = match read_json(payload, state.max_body_bytes).await {
        Ok(body) => body,
        Err(e) => return body_error(e),
    };
    let token = match body.non_blank("refreshToken") {
        Ok(Some(t)) => t,
        Ok(None) => return failure(StatusCode::BAD_REQUEST, "갱신 토큰을 입력해주세요."),
        Err(e) => return body_error(e),
    };
    match state.auth_for(NAME, &req).refresh(token).await {
        Ok(access) => HttpResponse::Ok().json(json!({
            "success": true,
            "message": "토큰 갱신 성공",
            "accessToken": access.token,
        })),
        Err(RefreshError::Invalid | RefreshError::Reused) => {
            failure(StatusCode::UNAUTHORIZED, INVALID_REFRESH)
        }
        Err(RefreshError::Internal(e)) => unavailable(&e),
    }
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
