//! The audit trail (`GET /internal/audit`): the latest events, of one user
//! or of everyone.
// Same early-return pattern as the contract modules (see `contracts`).
#![allow(clippy::result_large_err)]

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use auth_domain::identity::user::UserId;

use super::views::{AuditEventView, AuditResponse, Message};
use super::{InternalError, failure, query};
use crate::openapi::Op;
use crate::routes::{Access, Method, Route};
use crate::state::AppState;

/// `GET /internal/audit?user=<numeric id>&limit=<1..1000, default 100>`:
/// the latest audit events, newest first, of one user or of everyone.
pub async fn audit(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, InternalError> {
    let query = query(&req)?;
    let user = match query.get("user").map(|u| u.trim()).filter(|u| !u.is_empty()) {
        None => None,
        Some(raw) => Some(UserId::new(
            raw.parse::<i64>()
                .map_err(|_| InternalError::Invalid("user는 숫자여야 합니다."))?,
        )),
    };
    let limit = match query.get("limit").map(|l| l.trim()) {
        None | Some("") => 100,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or(InternalError::Invalid("limit은 1~1000 사이의 숫자여야 합니다."))?,
    };
    let events = state.auth.audit_trail().recent(user, limit).await?;
    Ok(HttpResponse::Ok().json(AuditResponse {
        success: true,
        events: events.iter().map(AuditEventView::from).collect(),
    }))
}

/// The audit trail's route.
pub fn routes() -> Vec<Route> {
    vec![Route {
        method: Method::Get,
        path: "/internal/audit",
        id: "internal.audit",
        to: || web::get().to(audit),
        rate_limit: None,
        access: Access::Admin,
        doc: || {
            Op::new("internal", "internal.audit", "Read the audit trail")
                .query_param("user", "Only this user's events (numeric id).", json!({"type": "integer"}))
                .query_param("limit", "How many, 1–1000 (default 100).", json!({"type": "integer", "minimum": 1, "maximum": 1000}))
                .reply::<AuditResponse>(
                    200,
                    "Newest first.",
                    json!({"success": true, "events": [{"at": "2025-12-08T11:00:00.000Z", "kind": "login_success", "userId": 1, "sessionId": "0192f0c1-7c1e-7a55-9d8e-3f5b2a1c4d6e", "ip": "203.0.113.7", "userAgent": "curl/8", "target": null}, {"at": "2025-12-08T10:58:00.000Z", "kind": "admin_user_disable", "userId": 7, "sessionId": null, "ip": "10.0.0.5", "userAgent": "curl/8", "target": "user:7"}]}),
                )
                .reply::<Message>(400, "`user` or `limit` out of range.", failure("limit은 1~1000 사이의 숫자여야 합니다."))
        },
    }]
}
