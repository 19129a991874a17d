//! `chat` applications: register one, list them, delete one, rotate its
//! secret (`/internal/apps`, `/internal/apps/{appId}`,
//! `/internal/apps/{appId}/secret`). A secret is shown once, in the answer
//! that created it, and never logged.
// Same early-return pattern as the contract modules (see `contracts`).
#![allow(clippy::result_large_err)]

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::views::{APP_DELETED, AppListResponse, CreatedAppResponse, Message};
use super::{InternalError, failure, parse_app_id, segment, sorted};
use crate::body::read_typed;
use crate::contracts::envelope::TOO_LARGE;
use crate::openapi::Op;
use crate::routes::{Access, Method, Route};
use crate::state::AppState;

/// `POST /internal/apps` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateAppRequest {
    /// A human-readable name, 1 to 100 characters.
    #[schema(required = true, example = "Chat")]
    name: Option<String>,
}

/// `POST /internal/apps` `{name}`: registers a `chat` application and
/// answers 201 `{"appId","name","secret"}`. The secret is shown here once
/// and never logged.
pub async fn create_app(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, InternalError> {
    let body: CreateAppRequest = read_typed(payload, state.max_body_bytes).await?;
    let name = body
        .name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .ok_or(InternalError::Invalid("name을 입력해주세요."))?;
    let created = state
        .auth
        .apps()
        .create_app(name, &state.caller("internal", &req))
        .await?;
    Ok(sorted(StatusCode::CREATED, &CreatedAppResponse::from(&created)))
}

/// `GET /internal/apps`.
pub async fn apps_list(state: web::Data<AppState>) -> Result<HttpResponse, InternalError> {
    let apps = state.auth.apps().list_apps().await?;
    Ok(sorted(StatusCode::OK, &AppListResponse::from(apps.as_slice())))
}

/// `DELETE /internal/apps/{appId}`.
pub async fn app_delete(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, InternalError> {
    let id = parse_app_id(segment(&req, "appId"))?;
    state
        .auth
        .apps()
        .delete_app(&id, &state.caller("internal", &req))
        .await?;
    Ok(sorted(StatusCode::OK, &Message::done(APP_DELETED)))
}

/// `POST /internal/apps/{appId}/secret`.
pub async fn app_rotate_secret(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, InternalError> {
    let id = parse_app_id(segment(&req, "appId"))?;
    let created = state
        .auth
        .apps()
        .rotate_app_secret(&id, &state.caller("internal", &req))
        .await?;
    Ok(sorted(StatusCode::OK, &CreatedAppResponse::from(&created)))
}

/// The path parameter and answers of a route under
/// `/internal/apps/{appId}`.
fn app_path(op: Op) -> Op {
    op.path_param("appId", "The application id.", "app_0123456789abcdef01234567")
        .reply::<Message>(
            400,
            "Not a possible application id.",
            failure("appId는 영문, 숫자, _, - 1~64자여야 합니다."),
        )
        .reply::<Message>(404, "No such application.", failure("존재하지 않는 앱입니다."))
}

/// The applications' routes.
pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: Method::Post,
            path: "/internal/apps",
            id: "internal.create_app",
            to: || web::post().to(create_app),
            rate_limit: None,
            access: Access::Admin,
            doc: || {
                Op::new("internal", "internal.create_app", "Register a chat application")
                    .body::<CreateAppRequest>(json!({"name": "Chat"}))
                    .reply::<CreatedAppResponse>(
                        201,
                        "Registered; the secret is shown this once.",
                        json!({"appId": "app_0123456789abcdef01234567", "name": "Chat", "secret": "…64 hex…"}),
                    )
                    .reply::<Message>(400, "Missing or invalid name.", failure("name을 입력해주세요."))
                    .reply::<Message>(413, "Body over `AUTH_MAX_BODY_BYTES`.", failure(TOO_LARGE))
            },
        },
        Route {
            method: Method::Get,
            path: "/internal/apps",
            id: "internal.apps_list",
            to: || web::get().to(apps_list),
            rate_limit: None,
            access: Access::Admin,
            doc: || {
                Op::new("internal", "internal.apps_list", "List chat applications")
                    .describe("Every registered application, oldest first, without secrets.")
                    .reply::<AppListResponse>(
                        200,
                        "The applications.",
                        json!({"success": true, "apps": [{"appId": "app_0123456789abcdef01234567", "name": "Chat", "createdAt": "2025-12-01T09:00:00.000Z", "secretVersion": 0}]}),
                    )
            },
        },
        Route {
            method: Method::Delete,
            path: "/internal/apps/{appId}",
            id: "internal.app_delete",
            to: || web::delete().to(app_delete),
            rate_limit: None,
            access: Access::Admin,
            doc: || {
                app_path(
                    Op::new("internal", "internal.app_delete", "Delete a chat application")
                        .describe("The application and its users' profiles are deleted; its tokens stop verifying at once.")
                        .reply::<Message>(200, "Deleted.", json!({"success": true, "message": APP_DELETED})),
                )
            },
        },
        Route {
            method: Method::Post,
            path: "/internal/apps/{appId}/secret",
            id: "internal.app_rotate_secret",
            to: || web::post().to(app_rotate_secret),
            rate_limit: None,
            access: Access::Admin,
            doc: || {
                app_path(
                    Op::new("internal", "internal.app_rotate_secret", "Rotate an application's secret")
                        .describe("A new secret, shown this once; tokens signed with the old secret stop verifying at once (chat logins and sockets answer as for any invalid token). No body.")
                        .reply::<CreatedAppResponse>(
                            200,
                            "The new secret.",
                            json!({"appId": "app_0123456789abcdef01234567", "name": "Chat", "secret": "…64 hex…"}),
                        ),
                )
            },
        },
    ]
}
