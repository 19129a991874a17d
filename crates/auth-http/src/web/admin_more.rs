//! The console's other pages: the overview (`/admin/`), applications,
//! OAuth clients, signing keys and the audit trail.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;

use super::signin::{page_doc, route};
use super::{Area, enter};
use crate::routes::{Method, Route};
use crate::state::AppState;

/// `GET /admin/`: the overview.
pub async fn overview(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let ctx = match enter(&state, &req, Area::Admin).await {
        Ok(c) => c,
        Err(answer) => return answer,
    };
    let body = html! {
        div.stats {
            div.stat { strong #open-sockets { (state.sockets.len()) } (ctx.t("열린 소켓 (이 인스턴스)", "Open sockets (this instance)")) }
        }
    };
    ctx.page(StatusCode::OK, ctx.t("개요", "Overview"), body)
}

/// The other pages' routes.
pub fn routes() -> Vec<Route> {
    vec![route(
        Method::Get,
        "/admin/",
        "console.overview",
        || web::get().to(overview),
        || {
            page_doc(
                "console.overview",
                "The console's overview",
                "Logins and failures per minute, live sessions, open sockets.",
            )
        },
    )]
}
