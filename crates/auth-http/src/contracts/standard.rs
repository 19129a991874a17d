//! The `standard` contract (seed 004): username login, `reissue-token` with
//! rotation, logout of the current member. Errors: `{"status", "reason"}`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use auth_domain::service::{Identifier, LoginError, LogoutError, ReissueError};
use auth_domain::token::TokenPair;

use crate::body::{BodyError, JsonObject, read_json};
use crate::contracts::{TOO_MANY_ATTEMPTS, bearer_token, log_internal, with_retry_after};
use crate::state::AppState;

/// Contract name, as stored on sessions it creates.
pub const NAME: &str = "standard";

fn error(status: StatusCode, reason: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(json!({"status": status.as_u16(), "reason": reason.into()}))
}

/// A body problem in this contract's envelope (also used by the dispatcher
/// for bodies it cannot attribute to `picsel`).
pub(crate) fn body_error(e: BodyError) -> HttpResponse {
    match e {
        BodyError::TooLarge => error(StatusCode::PAYLOAD_TOO_LARGE, "요청 본문이 너무 큽니다."),
        BodyError::WrongType(field) => error(StatusCode::BAD_REQUEST, format!("{field} : must be a string")),
        BodyError::NotJson | BodyError::NotObject | BodyError::Unreadable => {
            error(StatusCode::BAD_REQUEST, "요청 본문을 읽을 수 없습니다.")
        }
    }
}

fn unavailable(e: &auth_domain::PortError) -> HttpResponse {
    log_internal(NAME, e);
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "일시적으로 서비스를 이용할 수 없습니다.",
    )
}

/// Reads a required non-blank string field, or answers Spring's
/// `"<field> : must not be blank"`.
fn required<'a>(body: &'a JsonObject, field: &'static str) -> Result<&'a str, HttpResponse> {
    match body.non_blank(field) {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(error(
            StatusCode::BAD_REQUEST,
            format!("{field} : must not be blank"),
        )),
        Err(e) => Err(body_error(e)),
    }
}

fn tokens(pair: &TokenPair) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "accessToken": pair.access.token,
        "refreshToken": pair.refresh.token,
        "accessTokenExpiresIn": pair.access.expires_at.timestamp_millis(),
    }))
}

/// `POST /api/auth/login` with a `username` body.
pub async fn login(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    match read_json(payload, state.max_body_bytes).await {
        Ok(body) => login_with(&state, &req, &body).await,
        Err(e) => body_error(e),
    }
}

/// The login once the body is parsed (shared with the login dispatcher).
pub async fn login_with(state: &AppState, req: &HttpRequest, body: &JsonObject) -> HttpResponse {
    let (username, password) = match (required(body, "username"), required(body, "password")) {
        (Ok(u), Ok(p)) => (u, p),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let meta = state.client_meta(NAME, req);
    match state
        .auth
        .login(Identifier::LoginId(username.to_owned()), password, meta)
        .await
    {
        Ok(login) => tokens(&login.tokens),
        Err(LoginError::UnknownUser | LoginError::WrongPassword) => {
            error(StatusCode::UNAUTHORIZED, "잘못된 자격증명입니다.")
        }
        Err(LoginError::Throttled { retry_after }) => with_retry_after(
            error(StatusCode::TOO_MANY_REQUESTS, TOO_MANY_ATTEMPTS),
            retry_after,
        ),
        Err(LoginError::Internal(e)) => unavailable(&e),
    }
}

/// `POST /api/auth/reissue-token`.
pub async fn reissue(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    if let Err(wait) = state.rate_limit(&req) {
        return with_retry_after(
            error(StatusCode::TOO_MANY_REQUESTS, crate::contracts::TOO_MANY_REQUESTS),
            wait,
        );
    }
    let body = match read_json(payload, state.max_body_bytes).await {
        Ok(body) => body,
        Err(e) => return body_error(e),
    };
    let (access, refresh) = match (required(&body, "accessToken"), required(&body, "refreshToken")) {
        (Ok(a), Ok(r)) => (a, r),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    match state.auth_for(NAME, &req).reissue(access, refresh).await {
        Ok(pair) => tokens(&pair),
        Err(ReissueError::InvalidAccessToken) => {
            error(StatusCode::UNAUTHORIZED, "유효하지 않은 액세스 토큰입니다.")
        }
        Err(ReissueError::InvalidRefreshToken) => {
            error(StatusCode::UNAUTHORIZED, "유효하지 않은 리프레시 토큰입니다.")
        }
        Err(ReissueError::SessionMismatch) => error(
            StatusCode::UNAUTHORIZED,
            "액세스 토큰과 리프레시 토큰의 세션이 일치하지 않습니다.",
        ),
        Err(ReissueError::Reused) => {
            tracing::warn!(
                contract = NAME,
                "spent refresh token presented again; session revoked"
            );
            error(
                StatusCode::UNAUTHORIZED,
                "이미 사용된 리프레시 토큰입니다. 보안을 위해 세션이 만료되었습니다.",
            )
        }
        Err(ReissueError::Internal(e)) => unavailable(&e),
    }
}

/// `POST /api/auth/logout` authenticated by `Authorization: Bearer`.
pub async fn logout(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    logout_with(&state, &req).await
}

/// The logout (shared with the logout dispatcher).
pub async fn logout_with(state: &AppState, req: &HttpRequest) -> HttpResponse {
    let Some(token) = bearer_token(req) else {
        return error(StatusCode::UNAUTHORIZED, "인증이 필요합니다.");
    };
    match state.auth_for(NAME, req).logout_with_access(token).await {
        Ok(()) => HttpResponse::Ok().finish(),
        Err(LogoutError::InvalidToken) => error(StatusCode::UNAUTHORIZED, "유효하지 않은 액세스 토큰입니다."),
        Err(LogoutError::Internal(e)) => unavailable(&e),
    }
}
