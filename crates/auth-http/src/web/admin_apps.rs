//! `/admin/apps`: the `chat` applications: the list, registering one,
//! rotating a secret, deleting one. The use cases and audit events of
//! `/internal/apps` ([`auth_domain::chat::use_cases::Apps`]); a secret is
//! shown once, on the page that answers the registration or rotation.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;

use auth_domain::admin::AdminError;
use auth_domain::chat::use_cases::CreateAppError;
use auth_domain::chat::{AppId, CreatedApp, MAX_APP_NAME_CHARS};

use super::account::when;
use super::admin::admin_refused;
use super::signin::{page_doc, route};
use super::{Area, Ctx, back, enter, post_form, posted};
use crate::routes::{Method, Route};
use crate::state::AppState;

/// The confirmation lines of the list.
const DONE: &[(&str, &str, &str)] = &[(
    "deleted",
    "앱을 삭제했습니다. 발급된 토큰은 더 이상 검증되지 않습니다.",
    "The application was deleted; its tokens no longer verify.",
)];

/// `GET /admin/apps`.
pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let ctx = match enter(&state, &req, Area::Admin).await {
        Ok(c) => c,
        Err(answer) => return answer,
    };
    let apps = match state.auth.apps().list_apps().await {
        Ok(a) => a,
        Err(e) => return admin_refused(&ctx, &e.into()),
    };
    let done = ctx.done_line(&req, DONE);
    let body = html! {
        (done)
        section aria-labelledby="apps" {
            h2 #apps { (ctx.t("등록된 앱", "Registered applications")) " (" (apps.len()) ")" }
            @if apps.is_empty() {
                p { (ctx.t("등록된 앱이 없습니다.", "No application is registered.")) }
            } @else {
                div.scroll { table {
                    thead { tr {
                        th scope="col" { (ctx.t("앱 ID", "App id")) }
                        th scope="col" { (ctx.t("이름", "Name")) }
                        th scope="col" { (ctx.t("등록일", "Registered")) }
                        th scope="col" { (ctx.t("시크릿 버전", "Secret version")) }
                        th scope="col" { span.visually-hidden { (ctx.t("작업", "Actions")) } }
                    } }
                    tbody {
                        @for a in &apps {
                            tr {
                                td { code { (a.id.as_str()) } }
                                td { (a.name) }
                                td { (when(a.created_at)) }
                                td { (a.secret_version) }
                                td {
                                    (post_form(&ctx, &format!("/admin/apps/{}/secret", a.id), html! {}, ctx.t("시크릿 교체", "Rotate secret"), "inline"))
                                    " "
                                    (post_form(&ctx, &format!("/admin/apps/{}/delete", a.id), html! {}, ctx.t("삭제", "Delete"), "inline danger"))
                                }
                            }
                        }
                    }
                } }
                p { (ctx.t(
                    "시크릿을 교체하거나 앱을 삭제하면 이전 시크릿으로 서명한 토큰은 즉시 검증되지 않고 그 앱의 소켓은 닫힙니다.",
                    "Rotating the secret or deleting the application stops the tokens signed with the old secret at once and closes its sockets.",
                )) }
            }
        }
        section aria-labelledby="new-app" {
            h2 #new-app { (ctx.t("앱 등록", "Register an application")) }
            (post_form(&ctx, "/admin/apps", html! {
                label for="app-name" { (ctx.t("이름", "Name")) }
                input #app-name type="text" name="name" maxlength=(MAX_APP_NAME_CHARS) required;
            }, ctx.t("등록", "Register"), "stack"))
        }
    };
    ctx.page(StatusCode::OK, ctx.t("앱", "Applications"), body)
}

/// The page that shows an application's secret, once.
fn secret_page(ctx: &Ctx, title: &str, created: &CreatedApp) -> HttpResponse {
    let body = html! {
        p.message role="status" { (ctx.t(
            "아래 시크릿을 앱의 백엔드에 저장하세요. 이 화면을 떠나면 다시 볼 수 없습니다.",
            "Store this secret in the application's backend. It is not shown again.",
        )) }
        dl.facts {
            dt { (ctx.t("앱 ID", "App id")) } dd { code #app-id { (created.app.id.as_str()) } }
            dt { (ctx.t("이름", "Name")) } dd { (created.app.name) }
            dt { (ctx.t("시크릿 버전", "Secret version")) } dd { (created.app.secret_version) }
        }
        h2 { (ctx.t("시크릿", "Secret")) }
        p.secret #app-secret { (created.secret) }
        p { a href=(ctx.href("/admin/apps")) { (ctx.t("앱 목록으로", "Back to the applications")) } }
    };
    ctx.page(StatusCode::OK, title, body)
}

/// `POST /admin/apps` `name`: registers an application and shows its
/// secret once.
pub async fn create(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let (ctx, form) = match posted(&state, &req, Area::Admin, payload).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let caller = state.caller("console", &req);
    match state
        .auth
        .apps()
        .create_app(form.get("name").unwrap_or(""), &caller)
        .await
    {
        Ok(created) => secret_page(
            &ctx,
            ctx.t("앱을 등록했습니다", "Application registered"),
            &created,
        ),
        Err(CreateAppError::InvalidName) => ctx.message(
            StatusCode::BAD_REQUEST,
            ctx.t("앱을 등록하지 못했습니다", "The application was not registered"),
            ctx.t(
                "이름: 1~100자, 제어 문자 없이 입력해주세요.",
                "Name: 1 to 100 characters, without control characters.",
            ),
        ),
        Err(CreateAppError::Internal(e)) => admin_refused(&ctx, &e.into()),
    }
}

/// `POST /admin/apps/{id}/{action}`: `secret` (a new secret, shown once)
/// or `delete`.
pub async fn act(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let ctx = match posted(&state, &req, Area::Admin, payload).await {
        Ok((ctx, _)) => ctx,
        Err(answer) => return answer,
    };
    let Some(id) = req.match_info().get("id").and_then(|id| AppId::parse(id).ok()) else {
        return admin_refused(&ctx, &AdminError::UnknownApp);
    };
    let caller = state.caller("console", &req);
    let apps = state.auth.apps();
    match req.match_info().get("action").unwrap_or_default() {
        "secret" => match apps.rotate_app_secret(&id, &caller).await {
            Ok(created) => secret_page(&ctx, ctx.t("새 시크릿", "New secret"), &created),
            Err(e) => admin_refused(&ctx, &e),
        },
        "delete" => match apps.delete_app(&id, &caller).await {
            Ok(()) => back(&state, "/admin/apps", "deleted"),
            Err(e) => admin_refused(&ctx, &e),
        },
        _ => ctx.message(
            StatusCode::NOT_FOUND,
            ctx.t("처리하지 못했습니다", "Nothing was changed"),
            ctx.t("알 수 없는 작업입니다.", "No such action."),
        ),
    }
}

/// The applications' routes.
pub fn routes() -> Vec<Route> {
    vec![
        route(
            Method::Get,
            "/admin/apps",
            "console.apps",
            || web::get().to(list),
            || {
                page_doc(
                    "console.apps",
                    "Chat applications",
                    "The registered applications (as `GET /internal/apps`) and the form to register one.",
                )
            },
        ),
        route(
            Method::Post,
            "/admin/apps",
            "console.app_create",
            || web::post().to(create),
            || {
                page_doc(
                    "console.app_create",
                    "Register a chat application",
                    "Form fields `csrf`, `name` (1 to 100 characters). The answer page shows the secret once. Same use case and audit event as `POST /internal/apps`.",
                )
            },
        ),
        route(
            Method::Post,
            "/admin/apps/{id}/{action}",
            "console.app_action",
            || web::post().to(act),
            || {
                page_doc(
                    "console.app_action",
                    "Rotate an application's secret, or delete it",
                    "`secret`: a new secret, shown once on the answer page (as `POST /internal/apps/{appId}/secret`); `delete`: as `DELETE /internal/apps/{appId}`, then back to the list. Form field `csrf`.",
                )
                .path_param("id", "The application id.", "app_0123456789abcdef01234567")
                .path_param("action", "`secret` or `delete`.", "secret")
            },
        ),
    ]
}
