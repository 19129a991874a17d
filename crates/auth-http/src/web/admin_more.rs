//! The console's other pages: the overview (`/admin/`) here; applications
//! ([`super::admin_apps`]), OAuth clients ([`super::admin_clients`]),
//! signing keys ([`super::admin_keys`]) and the audit trail
//! ([`super::admin_audit`]) in their modules.
//!
//! The overview counts from the same counters as `/metrics`
//! ([`super::admin_stats`]); there is no count of live sessions that is
//! cheap to read (only per user), so it shows this instance's sockets.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use auth_ws::registry::SocketKind;

use super::admin_stats::{self, Minute};
use super::signin::{page_doc, route};
use super::{Area, Ctx, enter};
use crate::routes::{Method, Route};
use crate::state::AppState;

/// How many minutes the overview's table shows.
const MINUTES: usize = 15;

/// `GET /admin/`: the overview.
pub async fn overview(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let ctx = match enter(&state, &req, Area::Admin).await {
        Ok(c) => c,
        Err(answer) => return answer,
    };
    let counted = if state.metrics_enabled {
        admin_stats::start_sampler();
        admin_stats::read_now().map(|now| {
            let now = (chrono::Utc::now(), now);
            let samples = admin_stats::samples();
            let since = samples.first().map_or(now.0, |(t, _)| *t);
            (admin_stats::minutes(&samples, now, MINUTES), since)
        })
    } else {
        None
    };
    let live = match state.auth.session_admin().live_session_count().await {
        Ok(n) => n,
        Err(e) => {
            tracing::error!(error = %e, "console: cannot count the sessions");
            return ctx.unavailable();
        }
    };
    let sessions = state.sockets.len_of(SocketKind::Session);
    let chat = state.sockets.len_of(SocketKind::Chat);
    let last = counted
        .as_ref()
        .and_then(|(m, _)| m.first())
        .and_then(|m| m.counted);
    let number = |n: Option<u64>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
    let body = html! {
        div.stats {
            div.stat { strong #logins-per-minute { (number(last.map(|t| t.logins))) } (ctx.t("지난 1분간 로그인", "Logins, last minute")) }
            div.stat { strong #failures-per-minute { (number(last.map(|t| t.failures))) } (ctx.t("지난 1분간 로그인 실패", "Failed logins, last minute")) }
            div.stat { strong #live-sessions { (live) } (ctx.t("진행 중인 세션 (전체)", "Live sessions (all)")) }
            div.stat { strong #session-sockets { (sessions) } (ctx.t("세션 소켓", "Session sockets")) }
            div.stat { strong #chat-sockets { (chat) } (ctx.t("채팅 소켓", "Chat sockets")) }
            div.stat { strong #open-sockets { (sessions + chat) } (ctx.t("열린 소켓 (이 인스턴스)", "Open sockets (this instance)")) }
        }
        section aria-labelledby="per-minute" {
            h2 #per-minute { (ctx.t("분당 로그인", "Logins per minute")) }
            @match &counted {
                Some((minutes, since)) => (minutes_table(&ctx, minutes, *since)),
                None => p.message role="status" {
                    (ctx.t(
                        "지표 수집이 꺼져 있어 로그인 수를 보여줄 수 없습니다 (AUTH_METRICS_ENABLED=false).",
                        "The counters are off (AUTH_METRICS_ENABLED=false): no login counts to show.",
                    ))
                },
            }
        }
    };
    ctx.page(StatusCode::OK, ctx.t("개요", "Overview"), body)
}

/// The last minutes, newest first, with a bar of each count drawn on the
/// server (no script; SVG attributes, which the CSP allows, not styles).
fn minutes_table(ctx: &Ctx, minutes: &[Minute], since: chrono::DateTime<chrono::Utc>) -> Markup {
    let top = minutes
        .iter()
        .filter_map(|m| m.counted)
        .map(|t| t.logins.max(t.failures))
        .max()
        .unwrap_or(0)
        .max(1);
    let bar = |n: u64, fill: &str| {
        // Whole pixels of 120; the counts are in the cells beside.
        let width = n.saturating_mul(120) / top;
        html! {
            svg.bar width="120" height="10" viewBox="0 0 120 10" aria-hidden="true" focusable="false" {
                rect x="0" y="0" width=(width) height="10" fill=(fill) {}
            }
        }
    };
    html! {
        p {
            (ctx.t(
                "/metrics와 같은 카운터(auth_logins_total: API 계약의 비밀번호 로그인, 이 프로세스)를 10초마다 읽은 값입니다. 2단계 인증으로 이어지는 로그인도 로그인에 셉니다. 실패는 잘못된 자격 증명, 제한, 비활성 계정, 오류입니다. 수집 시작: ",
                "From the same counters as /metrics (auth_logins_total: the API contracts' password logins, this process), read every 10 seconds. Logins going on to a second step count as logins; failures are wrong credentials, throttled attempts, disabled accounts and errors. Collecting since ",
            ))
            (super::account::when(since))
            @if minutes.first().is_some_and(|m| m.counted.is_none()) {
                " " (ctx.t("첫 1분이 지나면 수가 표시됩니다.", "Counts appear once the first minute is collected."))
            }
        }
        div.scroll { table {
            thead { tr {
                th scope="col" { (ctx.t("1분 (끝 시각)", "Minute (ending)")) }
                th scope="col" { (ctx.t("로그인", "Logins")) }
                th scope="col" { span.visually-hidden { (ctx.t("로그인 막대", "Logins bar")) } }
                th scope="col" { (ctx.t("실패", "Failures")) }
                th scope="col" { span.visually-hidden { (ctx.t("실패 막대", "Failures bar")) } }
            } }
            tbody {
                @for m in minutes {
                    tr {
                        td { (m.end.format("%H:%M:%S UTC")) }
                        @match m.counted {
                            Some(t) => {
                                td { (t.logins) }
                                td { (bar(t.logins, "#0b57d0")) }
                                td { (t.failures) }
                                td { (bar(t.failures, "#b3261e")) }
                            }
                            None => {
                                td { "-" } td {} td { "-" } td {}
                            }
                        }
                    }
                }
            }
        } }
    }
}

/// The other pages' routes.
pub fn routes() -> Vec<Route> {
    let mut routes = vec![route(
        Method::Get,
        "/admin/",
        "console.overview",
        || web::get().to(overview),
        || {
            page_doc(
                "console.overview",
                "The console's overview",
                "Logins and failed logins per minute over the last 15 minutes (from the counters of `/metrics`, read every 10 seconds; said to be off when metrics are), and this instance's open sockets.",
            )
        },
    )];
    routes.extend(super::admin_apps::routes());
    routes.extend(super::admin_clients::routes());
    routes.extend(super::admin_keys::routes());
    routes.extend(super::admin_audit::routes());
    routes
}
