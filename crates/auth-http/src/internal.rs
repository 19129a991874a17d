//! The internal admin API, for other backend services: authenticated by
//! `Authorization: Bearer <AUTH_ADMIN_TOKEN>`, disabled (403) when no token
//! is configured. Envelope: `{"success", "message"}` like the `session`
//! contract whose `NOTIFICATION` it feeds.
// Same early-return pattern as the contract modules (see `contracts`).
#![allow(clippy::result_large_err)]

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::ExposeSecret;
use serde_json::json;
use sha2::Digest;
use subtle::ConstantTimeEq;

use auth_domain::chat::CreatedApp;
use auth_domain::service::{CreateAppError, NotifyError};

use crate::body::{BodyError, read_json};
use crate::contracts::{bearer_token, log_internal};
use crate::state::AppState;

fn answer(status: StatusCode, success: bool, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({"success": success, "message": message}))
}

/// A body that cannot be used: 413 when too large, else 400.
fn body_error(e: BodyError) -> HttpResponse {
    match e {
        BodyError::TooLarge => answer(StatusCode::PAYLOAD_TOO_LARGE, false, "요청 본문이 너무 큽니다."),
        _ => answer(StatusCode::BAD_REQUEST, false, "잘못된 요청 형식입니다."),
    }
}

/// Checks the admin bearer token in constant time; `Err` is the answer.
pub(crate) fn authorize(state: &AppState, req: &HttpRequest) -> Result<(), HttpResponse> {
    let Some(expected) = &state.admin_token else {
        return Err(answer(
            StatusCode::FORBIDDEN,
            false,
            "관리자 API가 비활성화되어 있습니다.",
        ));
    };
    let presented = bearer_token(req).unwrap_or_default();
    // Digests of equal length are compared, so neither the token's length
    // nor where it first differs shows in the timing; a blank token never
    // gets here (settings refuse it).
    let digest = |s: &str| sha2::Sha256::digest(s.as_bytes());
    if !presented.is_empty() && bool::from(digest(presented).ct_eq(&digest(expected.expose_secret()))) {
        Ok(())
    } else {
        Err(answer(
            StatusCode::UNAUTHORIZED,
            false,
            "관리자 인증이 필요합니다.",
        ))
    }
}

/// `POST /internal/notifications` `{userId, message}`: pushes `NOTIFICATION`
/// to every socket of the user (UUID or login id), on every instance.
pub async fn notify(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    if let Err(refused) = authorize(&state, &req) {
        return refused;
    }
    let body = match read_json(payload, state.max_body_bytes).await {
        Ok(b) => b,
        Err(e) => return body_error(e),
    };
    let (user, message) = match (body.non_blank("userId"), body.str("message")) {
        (Ok(Some(u)), Ok(Some(m))) => (u, m),
        _ => return answer(StatusCode::BAD_REQUEST, false, "userId와 message를 입력해주세요."),
    };
    match state.auth.notify(user, message).await {
        Ok(()) => answer(StatusCode::OK, true, "알림을 전송했습니다."),
        Err(NotifyError::UnknownUser) => answer(StatusCode::NOT_FOUND, false, "존재하지 않는 사용자입니다."),
        Err(NotifyError::InvalidMessage) => {
            answer(StatusCode::BAD_REQUEST, false, "message는 1~1000자여야 합니다.")
        }
        Err(NotifyError::Internal(e)) => {
            log_internal("internal", &e);
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                false,
                "일시적으로 서비스를 이용할 수 없습니다.",
            )
        }
    }
}

/// `POST /internal/apps` `{name}`: registers a `chat` application and
/// answers 201 `{"appId","name","secret"}`. The secret is shown here once
/// and never logged.
pub async fn create_app(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    if let Err(refused) = authorize(&state, &req) {
        return refused;
    }
    let body = match read_json(payload, state.max_body_bytes).await {
        Ok(b) => b,
        Err(e) => return body_error(e),
    };
    let Ok(Some(name)) = body.non_blank("name") else {
        return answer(StatusCode::BAD_REQUEST, false, "name을 입력해주세요.");
    };
    match state.auth.create_app(name).await {
        Ok(created) => HttpResponse::Created().json(app_json(&created)),
        Err(CreateAppError::InvalidName) => {
            answer(StatusCode::BAD_REQUEST, false, "name은 1~100자여야 합니다.")
        }
        Err(CreateAppError::Internal(e)) => {
            log_internal("internal", &e);
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                false,
                "일시적으로 서비스를 이용할 수 없습니다.",
            )
        }
    }
}

/// `{"appId","name","secret"}`: the answer of `POST /internal/apps` and of
/// `auth-server apps create`.
pub fn app_json(created: &CreatedApp) -> serde_json::Value {
    json!({
        "appId": created.app.id.as_str(),
        "name": created.app.name,
        "secret": created.secret,
    })
}

/// `GET /internal/audit?user=<numeric id>&limit=<1..1000, default 100>`:
/// the latest audit events, newest first, of one user or of everyone.
/// Answers `{"success": true, "events": [{at, kind, userId, sessionId, ip,
/// userAgent}]}`.
pub async fn audit(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    if let Err(refused) = authorize(&state, &req) {
        return refused;
    }
    let Ok(query) = web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
    else {
        return answer(StatusCode::BAD_REQUEST, false, "잘못된 요청 형식입니다.");
    };
    let user = match query.get("user").map(|u| u.trim()).filter(|u| !u.is_empty()) {
        None => None,
        Some(raw) => match raw.parse::<i64>() {
            Ok(id) => Some(auth_domain::user::UserId::new(id)),
            Err(_) => return answer(StatusCode::BAD_REQUEST, false, "user는 숫자여야 합니다."),
        },
    };
    let limit = match query.get("limit").map(|l| l.trim()) {
        None | Some("") => 100,
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                return answer(
                    StatusCode::BAD_REQUEST,
                    false,
                    "limit은 1~1000 사이의 숫자여야 합니다.",
                );
            }
        },
    };
    match state.auth.audit_trail(user, limit).await {
        Ok(events) => {
            let events: Vec<_> = events
                .iter()
                .map(|e| {
                    json!({
                        "at": crate::contracts::iso_millis(e.at),
                        "kind": e.kind.as_str(),
                        "userId": e.user_id.map(auth_domain::user::UserId::get),
                        "sessionId": e.session_id.map(|s| s.to_string()),
                        "ip": e.ip.map(|ip| ip.to_string()),
                        "userAgent": e.user_agent,
                    })
                })
                .collect();
            HttpResponse::Ok().json(json!({"success": true, "events": events}))
        }
        Err(e) => {
            log_internal("internal", &e);
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                false,
                "일시적으로 서비스를 이용할 수 없습니다.",
            )
        }
    }
}
