//! Notifications (`POST /internal/notifications`): a `NOTIFICATION` pushed
//! to every socket of a user, on every instance.
// Same early-return pattern as the contract modules (see `contracts`).
#![allow(clippy::result_large_err)]

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::views::Message;
use super::{InternalError, failure};
use crate::body::read_typed;
use crate::contracts::envelope::TOO_LARGE;
use crate::openapi::Op;
use crate::routes::{Access, Method, Route};
use crate::state::AppState;

/// `POST /internal/notifications` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotifyRequest {
    /// The user: UUID or login id.
    #[schema(required = true, example = "parkh")]
    user_id: Option<String>,
    /// The text, 1 to 1,000 characters.
    #[schema(required = true, example = "공지사항이 있습니다.")]
    message: Option<String>,
}

/// `POST /internal/notifications` `{userId, message}`: pushes `NOTIFICATION`
/// to every socket of the user (UUID or login id), on every instance.
pub async fn notify(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, InternalError> {
    let body: NotifyRequest = read_typed(payload, state.max_body_bytes).await?;
    let invalid = || InternalError::Invalid("userId와 message를 입력해주세요.");
    let user = body
        .user_id
        .as_deref()
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(invalid)?;
    let message = body.message.as_deref().ok_or_else(invalid)?;
    state
        .auth
        .sessions()
        .notify(user, message, &state.caller("internal", &req))
        .await?;
    Ok(HttpResponse::Ok().json(Message::done("알림을 전송했습니다.")))
}

/// The notifications' route.
pub fn routes() -> Vec<Route> {
    vec![Route {
        method: Method::Post,
        path: "/internal/notifications",
        id: "internal.notify",
        to: || web::post().to(notify),
        rate_limit: None,
        access: Access::Admin,
        doc: || {
            Op::new("internal", "internal.notify", "Push NOTIFICATION to a user's sockets")
                .describe("Every socket of the user, on every instance, gets `{\"type\":\"NOTIFICATION\",\"message\",\"timestamp\"}`.")
                .body::<NotifyRequest>(json!({"userId": "parkh", "message": "공지사항이 있습니다."}))
                .reply::<Message>(200, "Sent.", json!({"success": true, "message": "알림을 전송했습니다."}))
                .reply::<Message>(400, "Missing fields, or a message outside 1–1000 characters.", failure("userId와 message를 입력해주세요."))
                .reply::<Message>(404, "No such user.", failure("존재하지 않는 사용자입니다."))
                .reply::<Message>(413, "Body over `AUTH_MAX_BODY_BYTES`.", failure(TOO_LARGE))
        },
    }]
}
