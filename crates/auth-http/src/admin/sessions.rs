//! Sessions: list and revoke a user's (`/internal/users/{id}/sessions`),
//! revoke one (`/internal/sessions/{sid}`). Every revoked session's
//! sockets get `LOGOUT`, on every instance.
// Same early-return pattern as the contract modules (see `contracts`).
#![allow(clippy::result_large_err)]

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::views::{Message, RevokedResponse, SessionListResponse};
use super::{InternalError, failure, parse_session_id, parse_user_id, segment, sorted, user_path};
use crate::openapi::Op;
use crate::routes::{Access, Method, Route};
use crate::state::AppState;

/// `GET /internal/users/{id}/sessions`.
pub async fn user_sessions(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, InternalError> {
    let id = parse_user_id(segment(&req, "id"))?;
    let sessions = state.auth.session_admin().user_sessions(id).await?;
    Ok(sorted(
        StatusCode::OK,
        &SessionListResponse::from(sessions.as_slice()),
    ))
}

/// `DELETE /internal/users/{id}/sessions`.
pub async fn user_sessions_revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, InternalError> {
    let id = parse_user_id(segment(&req, "id"))?;
    let revoked = state
        .auth
        .session_admin()
        .revoke_user_sessions(id, &state.caller("internal", &req))
        .await?;
    Ok(sorted(StatusCode::OK, &RevokedResponse::new(revoked)))
}

/// `DELETE /internal/sessions/{sid}`.
pub async fn session_revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, InternalError> {
    let sid = parse_session_id(segment(&req, "sid"))?;
    let revoked = state
        .auth
        .session_admin()
        .revoke_session(sid, &state.caller("internal", &req))
        .await?;
    Ok(sorted(
        StatusCode::OK,
        &RevokedResponse::new(usize::from(revoked)),
    ))
}

/// The sessions' routes.
pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: Method::Get,
            path: "/internal/users/{id}/sessions",
            id: "internal.user_sessions",
            to: || web::get().to(user_sessions),
            rate_limit: None,
            access: Access::Admin,
            doc: || {
                user_path(
                    Op::new("internal", "internal.user_sessions", "List a user's sessions")
                        .describe("The sessions that can still be used (not revoked, a refresh token unspent and unexpired), oldest first, with the contract, client IP and user agent of the login that opened each, and when a refresh last used it.")
                        .reply::<SessionListResponse>(
                            200,
                            "The sessions.",
                            json!({"success": true, "sessions": [{"id": "0192f0c1-7c1e-7a55-9d8e-3f5b2a1c4d6e", "contract": "standard", "ip": "203.0.113.7", "userAgent": "Mozilla/5.0", "createdAt": "2025-12-08T09:00:00.000Z", "lastRefreshedAt": "2025-12-08T10:30:00.000Z"}]}),
                        ),
                )
            },
        },
        Route {
            method: Method::Delete,
            path: "/internal/users/{id}/sessions",
            id: "internal.user_sessions_revoke",
            to: || web::delete().to(user_sessions_revoke),
            rate_limit: None,
            access: Access::Admin,
            doc: || {
                user_path(
                    Op::new("internal", "internal.user_sessions_revoke", "Revoke every session of a user")
                        .describe("Each live session is revoked and its sockets get `LOGOUT` (`관리자에 의해 로그아웃되었습니다.`), on every instance. `revoked` counts the sessions this call revoked: concurrent calls never count one twice.")
                        .reply::<RevokedResponse>(200, "Revoked.", json!({"success": true, "revoked": 3})),
                )
            },
        },
        Route {
            method: Method::Delete,
            path: "/internal/sessions/{sid}",
            id: "internal.session_revoke",
            to: || web::delete().to(session_revoke),
            rate_limit: None,
            access: Access::Admin,
            doc: || {
                Op::new("internal", "internal.session_revoke", "Revoke one session")
                    .describe("Its sockets get `LOGOUT` (`관리자에 의해 로그아웃되었습니다.`), on every instance. Revoking a revoked session answers 200 with `revoked` 0.")
                    .path_param("sid", "The session id (a UUID, the tokens' `sid`).", "0192f0c1-7c1e-7a55-9d8e-3f5b2a1c4d6e")
                    .reply::<RevokedResponse>(200, "Revoked (1), or already revoked (0).", json!({"success": true, "revoked": 1}))
                    .reply::<Message>(400, "The sid is not a UUID.", failure("sid는 UUID여야 합니다."))
                    .reply::<Message>(404, "No such session.", failure("존재하지 않는 세션입니다."))
            },
        },
    ]
}
