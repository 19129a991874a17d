//! `/admin/keys`: the signing keys (as `auth-server keys list`) and their
//! rotation, the same [`TokenKeys::rotate`] as `POST /internal/keys/rotate`
//! (which records no audit event; neither does this page).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;

use super::signin::{page_doc, route};
use super::{Area, back, enter, post_form, posted};
use crate::admin::keys::KeysSummary;
use crate::routes::{Method, Route};
use crate::startup::{RotateError, TokenKeys};
use crate::state::AppState;

/// The confirmation line after a rotation.
const DONE: &[(&str, &str, &str)] = &[(
    "rotated",
    "새 키를 추가해 JWKS에 공개했습니다. 아래 표의 활성 시각부터 서명합니다.",
    "New keys were added and published in the JWKS; they sign from the activation time in the table.",
)];

/// An ISO-8601 time of the keys' views as the pages show times.
fn shown(iso: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(iso).map_or_else(
        |_| iso.to_owned(),
        |t| super::account::when(t.with_timezone(&chrono::Utc)),
    )
}

/// `GET /admin/keys`.
pub async fn list(state: web::Data<AppState>, keys: web::Data<TokenKeys>, req: HttpRequest) -> HttpResponse {
    let ctx = match enter(&state, &req, Area::Admin).await {
        Ok(c) => c,
        Err(answer) => return answer,
    };
    let summary = KeysSummary::new(&keys);
    let done = ctx.done_line(&req, DONE);
    let body = html! {
        (done)
        section aria-labelledby="keys" {
            h2 #keys { (ctx.t("서명 키", "Signing keys")) " (" (summary.keys.len()) ")" }
            dl.facts {
                dt { (ctx.t("액세스 토큰 키의 출처", "Access-token keys from")) } dd { (summary.source) }
                dt { (ctx.t("액세스 토큰 알고리즘", "Access-token algorithm")) } dd { (summary.algorithm) }
            }
            div.scroll { table {
                thead { tr {
                    th scope="col" { (ctx.t("용도", "Purpose")) }
                    th scope="col" { "kid" }
                    th scope="col" { (ctx.t("알고리즘", "Algorithm")) }
                    th scope="col" { (ctx.t("상태", "State")) }
                    th scope="col" { (ctx.t("생성", "Created")) }
                    th scope="col" { (ctx.t("서명 시작", "Signs from")) }
                    th scope="col" { (ctx.t("폐기", "Retires")) }
                } }
                tbody {
                    @for k in &summary.keys {
                        tr {
                            td { (k.purpose) }
                            td { code { (k.kid) } }
                            td { (k.alg) }
                            td { @if k.state == "retired" { span.badge.off { (k.state) } } @else { span.badge { (k.state) } } }
                            td { (shown(&k.created_at)) }
                            td { (shown(&k.activates_at)) }
                            td { (k.retires_at.as_deref().map_or_else(|| "-".to_owned(), shown)) }
                        }
                    }
                }
            } }
        }
        section aria-labelledby="rotate" {
            h2 #rotate { (ctx.t("키 교체", "Rotate")) }
            p { (ctx.t(
                "액세스 토큰 키 하나(이 서비스가 관리할 때)와 알고리즘별 ID 토큰 키를 추가하고 JWKS에 즉시 공개합니다. 이전 키는 그 토큰이 만료될 때까지 공개됩니다.",
                "Adds an access-token key (when this service manages them) and one ID-token key per algorithm, published in the JWKS at once. The previous keys stay published until their tokens have expired.",
            )) }
            @if let Some(why) = keys.access_not_managed() {
                p.message { (ctx.t("액세스 토큰 키는 교체되지 않습니다: ", "The access-token key does not rotate here: ")) (why) }
            }
            (post_form(&ctx, "/admin/keys/rotate", html! {
                label.check for="activate-now" {
                    input #activate-now type="checkbox" name="activate_now" value="1";
                    " " (ctx.t("즉시 서명에 사용 (사전 공개 기간 없이)", "Sign with the new keys at once (no pre-publication period)"))
                }
            }, ctx.t("키 교체", "Rotate the keys"), "stack"))
        }
    };
    ctx.page(StatusCode::OK, ctx.t("서명 키", "Signing keys"), body)
}

/// `POST /admin/keys/rotate` `activate_now`.
pub async fn rotate(
    state: web::Data<AppState>,
    keys: web::Data<TokenKeys>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let (ctx, form) = match posted(&state, &req, Area::Admin, payload).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    match keys.rotate(form.get("activate_now").is_some()).await {
        Ok(_) => back(&state, "/admin/keys", "rotated"),
        Err(RotateError::Store(e)) => {
            tracing::error!(error = %e, "console: cannot rotate the signing keys");
            ctx.unavailable()
        }
    }
}

/// The keys' routes.
pub fn routes() -> Vec<Route> {
    vec![
        route(
            Method::Get,
            "/admin/keys",
            "console.keys",
            || web::get().to(list),
            || {
                page_doc(
                    "console.keys",
                    "Signing keys",
                    "Every access-token and ID-token key with its purpose, algorithm, state and dates (as `auth-server keys list`), and the rotation form.",
                )
            },
        ),
        route(
            Method::Post,
            "/admin/keys/rotate",
            "console.keys_rotate",
            || web::post().to(rotate),
            || {
                page_doc(
                    "console.keys_rotate",
                    "Rotate the signing keys",
                    "Form fields `csrf`, `activate_now`; the same rotation as `POST /internal/keys/rotate`, then back to the keys.",
                )
            },
        ),
    ]
}
