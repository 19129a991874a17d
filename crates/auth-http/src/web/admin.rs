//! `/admin/users`: finding users, a user's page (profile, linked
//! providers, password scheme, factors, role, disabled flag, sessions) and
//! its actions. Each action is the use case of its `/internal` twin
//! ([`auth_domain::admin::UserAdmin`], [`auth_domain::admin::SessionAdmin`]),
//! with the same audit event.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;

use auth_domain::admin::{AdminError, MAX_USER_PAGE};
use auth_domain::identity::user::UserId;
use auth_domain::sessions::session::SessionId;

use super::account::when;
use super::layout::{url_param, urlencode};
use super::signin::{page_doc, route};
use super::{Area, Ctx, back, enter, post_form, posted};
use crate::admin::views::{decode_cursor, encode_cursor};
use crate::routes::{Method, Route};
use crate::state::AppState;

/// A refusal of an admin use case, as a page.
pub(crate) fn admin_refused(ctx: &Ctx, e: &AdminError) -> HttpResponse {
    let (status, ko, en) = match e {
        AdminError::UnknownUser => (
            StatusCode::NOT_FOUND,
            "존재하지 않는 사용자입니다.",
            "No such user.",
        ),
        AdminError::UnknownSession => (
            StatusCode::NOT_FOUND,
            "존재하지 않는 세션입니다.",
            "No such session.",
        ),
        AdminError::UnknownApp => (
            StatusCode::NOT_FOUND,
            "존재하지 않는 앱입니다.",
            "No such application.",
        ),
        AdminError::InvalidQuery => (
            StatusCode::BAD_REQUEST,
            "검색어는 200자 이하이고 제어 문자가 없어야 합니다.",
            "The search is at most 200 characters, without control characters.",
        ),
        AdminError::Internal(err) => {
            tracing::error!(error = %err, "console: admin use case failed");
            return ctx.unavailable();
        }
    };
    ctx.message(
        status,
        ctx.t("처리하지 못했습니다", "Nothing was changed"),
        ctx.t(ko, en),
    )
}

/// `GET /admin/users?query=&cursor=`.
pub async fn users(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let ctx = match enter(&state, &req, Area::Admin).await {
        Ok(c) => c,
        Err(answer) => return answer,
    };
    let q = req.query_string();
    let query = url_param(q, "query").unwrap_or_default();
    let after = url_param(q, "cursor").and_then(|c| decode_cursor(&c));
    let page = match state
        .auth
        .user_admin()
        .search_users(
            Some(query.as_str()).filter(|s| !s.trim().is_empty()),
            after,
            50.min(MAX_USER_PAGE),
        )
        .await
    {
        Ok(p) => p,
        Err(e) => return admin_refused(&ctx, &e),
    };
    let body = html! {
        form.stack method="get" action=(ctx.href("/admin/users")) role="search" {
            label for="query" { (ctx.t("아이디, 이메일 또는 이름", "Username, email or name")) }
            input #query type="search" name="query" value=(query);
            button type="submit" { (ctx.t("검색", "Search")) }
        }
        div.scroll { table {
            thead { tr {
                th scope="col" { "ID" }
                th scope="col" { (ctx.t("아이디", "Username")) }
                th scope="col" { (ctx.t("이메일", "Email")) }
                th scope="col" { (ctx.t("이름", "Name")) }
                th scope="col" { (ctx.t("상태", "State")) }
            } }
            tbody {
                @for u in &page.users {
                    tr {
                        td { a href=(ctx.href(&format!("/admin/users/{}", u.id))) { (u.id) } }
                        td { (u.login_id.as_ref().map_or("-", |l| l.as_str())) }
                        td { (u.email.as_str()) }
                        td { (u.name) }
                        td { @if u.disabled_at.is_some() { span.badge.off { (ctx.t("비활성", "Disabled")) } } @else { (ctx.t("활성", "Enabled")) } }
                    }
                }
            }
        } }
        @if page.users.is_empty() { p { (ctx.t("찾은 사용자가 없습니다.", "No user found.")) } }
        @if let Some(next) = page.next_after {
            p { a href=(ctx.href(&format!("/admin/users?query={}&cursor={}", urlencode(&query), encode_cursor(next)))) { (ctx.t("다음 페이지", "Next page")) } }
        }
    };
    ctx.page(StatusCode::OK, ctx.t("사용자", "Users"), body)
}

fn user_id(req: &HttpRequest) -> Option<UserId> {
    req.match_info().get("id")?.parse::<i64>().ok().map(UserId::new)
}

/// `GET /admin/users/{id}`.
pub async fn user(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let ctx = match enter(&state, &req, Area::Admin).await {
        Ok(c) => c,
        Err(answer) => return answer,
    };
    let Some(id) = user_id(&req) else {
        return admin_refused(&ctx, &AdminError::UnknownUser);
    };
    let view = match state.auth.user_admin().user_view(id).await {
        Ok(Some(v)) => v,
        Ok(None) => return admin_refused(&ctx, &AdminError::UnknownUser),
        Err(e) => return admin_refused(&ctx, &e.into()),
    };
    let sessions = match state.auth.session_admin().user_sessions(id).await {
        Ok(s) => s,
        Err(e) => return admin_refused(&ctx, &e),
    };
    let u = &view.user;
    let base = format!("/admin/users/{}", u.id);
    let yes_no = |b: bool| {
        if b {
            ctx.t("예", "Yes")
        } else {
            ctx.t("아니요", "No")
        }
    };
    let done = ctx.done_line(&req, DONE);
    let body = html! {
        (done)
        section aria-labelledby="profile" {
            h2 #profile { (ctx.t("프로필", "Profile")) }
            dl.facts {
                dt { "ID" } dd { (u.id) }
                dt { "UUID" } dd { (u.uuid) }
                dt { (ctx.t("아이디", "Username")) } dd { (u.login_id.as_ref().map_or("-", |l| l.as_str())) }
                dt { (ctx.t("이메일", "Email")) } dd { (u.email.as_str()) }
                dt { (ctx.t("이름", "Name")) } dd { (u.name) }
                dt { (ctx.t("가입일", "Joined")) } dd { (when(u.created_at)) }
                dt { (ctx.t("연결된 소셜 계정", "Linked providers")) }
                dd { @if view.providers.is_empty() { "-" } @else { @for (i, p) in view.providers.iter().enumerate() { @if i > 0 { ", " } (p.as_str()) } } }
                dt { (ctx.t("비밀번호 방식", "Password scheme")) } dd { (view.password_scheme.as_str()) }
                dt { (ctx.t("2단계 인증", "Second factors")) }
                dd {
                    @match &view.factors {
                        Some(f) => {
                            "TOTP: " (yes_no(f.totp)) " · " (ctx.t("패스키", "Passkeys")) ": " (f.passkeys)
                            " · " (ctx.t("복구 코드", "Recovery codes")) ": " (f.recovery_codes_left)
                        }
                        None => "-",
                    }
                }
                dt { (ctx.t("관리자", "Admin")) } dd #admin-role { (yes_no(view.admin)) }
                dt { (ctx.t("비활성화", "Disabled")) }
                dd #disabled { @match u.disabled_at { Some(t) => { span.badge.off { (ctx.t("비활성", "Disabled")) } " " (when(t)) } None => (yes_no(false)) } }
            }
            div.actions {
                @if u.disabled_at.is_some() {
                    (post_form(&ctx, &format!("{base}/enable"), html! {}, ctx.t("활성화", "Enable"), "inline"))
                } @else {
                    (post_form(&ctx, &format!("{base}/disable"), html! {}, ctx.t("비활성화", "Disable"), "inline danger"))
                }
                " "
                (post_form(&ctx, &format!("{base}/reset-mfa"), html! {}, ctx.t("2단계 인증 초기화", "Reset second factors"), "inline danger"))
                " "
                @if view.admin {
                    (post_form(&ctx, &format!("{base}/revoke-admin"), html! {}, ctx.t("관리자 권한 회수", "Revoke admin"), "inline danger"))
                } @else {
                    (post_form(&ctx, &format!("{base}/grant-admin"), html! {}, ctx.t("관리자 권한 부여", "Grant admin"), "inline"))
                }
            }
        }
        section aria-labelledby="sessions" {
            h2 #sessions { (ctx.t("세션", "Sessions")) " (" (sessions.len()) ")" }
            div.scroll { table {
                thead { tr {
                    th scope="col" { (ctx.t("경로", "Via")) }
                    th scope="col" { "IP" }
                    th scope="col" { (ctx.t("기기", "User agent")) }
                    th scope="col" { (ctx.t("시작", "Created")) }
                    th scope="col" { (ctx.t("마지막 갱신", "Last refreshed")) }
                    th scope="col" { (ctx.t("소켓 연결", "Socket now")) }
                    th scope="col" { span.visually-hidden { (ctx.t("작업", "Actions")) } }
                } }
                tbody {
                    @for s in &sessions {
                        tr {
                            td { (s.client) }
                            td { (s.ip.map_or_else(|| "-".to_owned(), |ip| ip.to_string())) }
                            td { (s.user_agent.as_deref().unwrap_or("-")) }
                            td { (when(s.created_at)) }
                            td { (s.last_refreshed_at.map_or_else(|| "-".to_owned(), when)) }
                            td { @let n = state.sockets.sockets_of(s.id); @if n > 0 { span.badge { (ctx.t("연결됨", "Connected")) " " (n) } } @else { "-" } }
                            td { (post_form(&ctx, &format!("{base}/sessions/revoke"), html! {
                                input type="hidden" name="sid" value=(s.id.to_string());
                            }, ctx.t("종료", "Revoke"), "inline danger")) }
                        }
                    }
                }
            } }
            @if !sessions.is_empty() {
                (post_form(&ctx, &format!("{base}/sessions/revoke-all"), html! {}, ctx.t("모든 세션 종료", "Revoke every session"), "inline danger"))
            }
            p { a href=(ctx.href(&format!("/admin/audit?user={}", u.id))) { (ctx.t("이 사용자의 감사 기록", "This user's audit trail")) } }
        }
    };
    ctx.page(
        StatusCode::OK,
        &format!("{} · {}", ctx.t("사용자", "User"), u.name),
        body,
    )
}

/// The confirmation lines after a user page's actions.
const DONE: &[(&str, &str, &str)] = &[
    (
        "disabled",
        "계정을 비활성화하고 세션을 모두 종료했습니다.",
        "The account is disabled and its sessions ended.",
    ),
    ("enabled", "계정을 활성화했습니다.", "The account is enabled."),
    (
        "mfa-reset",
        "2단계 인증을 초기화했습니다.",
        "The second factors were removed.",
    ),
    (
        "granted",
        "관리자 권한을 부여했습니다.",
        "The admin role was granted.",
    ),
    (
        "revoked-admin",
        "관리자 권한을 회수했습니다.",
        "The admin role was revoked.",
    ),
    ("session", "세션을 종료했습니다.", "The session was revoked."),
    (
        "sessions",
        "모든 세션을 종료했습니다.",
        "Every session was revoked.",
    ),
];

/// `POST /admin/users/{id}/{action}`: `disable`, `enable`, `reset-mfa`,
/// `grant-admin`, `revoke-admin`, `sessions/revoke` (`sid`),
/// `sessions/revoke-all`.
pub async fn act(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let (ctx, form) = match posted(&state, &req, Area::Admin, payload).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let Some(id) = user_id(&req) else {
        return admin_refused(&ctx, &AdminError::UnknownUser);
    };
    let action = match req.match_info().get("action").unwrap_or_default() {
        "revoke" if req.path().contains("/sessions/") => "sessions/revoke",
        "revoke-all" if req.path().contains("/sessions/") => "sessions/revoke-all",
        other => other,
    };
    let caller = state.caller("console", &req);
    let users = state.auth.user_admin();
    let sessions = state.auth.session_admin();
    let done = match action {
        "disable" => users.disable_user(id, &caller).await.map(|_| "disabled"),
        "enable" => users.enable_user(id, &caller).await.map(|_| "enabled"),
        "reset-mfa" => users.reset_second_factors(id, &caller).await.map(|_| "mfa-reset"),
        "grant-admin" => users.grant_admin(id, &caller).await.map(|_| "granted"),
        "revoke-admin" => users.revoke_admin(id, &caller).await.map(|_| "revoked-admin"),
        "sessions/revoke-all" => sessions
            .revoke_user_sessions(id, &caller)
            .await
            .map(|_| "sessions"),
        "sessions/revoke" => {
            let Some(sid) = form
                .get("sid")
                .and_then(|s| uuid::Uuid::parse_str(s.trim()).ok())
                .map(SessionId::from_uuid)
            else {
                return admin_refused(&ctx, &AdminError::UnknownSession);
            };
            // The session must be this user's: a forged id of another
            // user's session changes nothing.
            match sessions.user_sessions(id).await {
                Ok(list) if list.iter().any(|s| s.id == sid) => {}
                Ok(_) => return admin_refused(&ctx, &AdminError::UnknownSession),
                Err(e) => return admin_refused(&ctx, &e),
            }
            sessions.revoke_session(sid, &caller).await.map(|_| "session")
        }
        _ => return admin_refused(&ctx, &AdminError::UnknownUser),
    };
    match done {
        Ok(done) => back(&state, &format!("/admin/users/{id}"), done),
        Err(e) => admin_refused(&ctx, &e),
    }
}

/// The users' routes of the console.
pub fn routes() -> Vec<Route> {
    let mut routes = vec![
        route(
            Method::Get,
            "/admin/users",
            "console.users",
            || web::get().to(users),
            || {
                page_doc(
                    "console.users",
                    "Find users",
                    "`query` as `GET /internal/users`; `cursor` for the next page.",
                )
            },
        ),
        route(
            Method::Get,
            "/admin/users/{id}",
            "console.user",
            || web::get().to(user),
            || {
                page_doc(
                    "console.user",
                    "A user's page",
                    "Profile, linked providers, password scheme, factors, role, disabled flag, sessions.",
                )
                .path_param("id", "The numeric user id.", "7")
            },
        ),
        route(
            Method::Post,
            "/admin/users/{id}/{action}",
            "console.user_action",
            || web::post().to(act),
            || {
                page_doc(
                    "console.user_action",
                    "A user action",
                    "`disable`, `enable`, `reset-mfa`, `grant-admin`, `revoke-admin` (form field `csrf`).",
                )
                .path_param("id", "The numeric user id.", "7")
                .path_param("action", "The action.", "disable")
            },
        ),
        route(
            Method::Post,
            "/admin/users/{id}/sessions/{action}",
            "console.user_sessions_action",
            || web::post().to(act),
            || {
                page_doc(
                    "console.user_sessions_action",
                    "Revoke a user's sessions",
                    "`revoke` (form field `sid`) or `revoke-all`; the devices receive `LOGOUT` at once.",
                )
                .path_param("id", "The numeric user id.", "7")
                .path_param("action", "`revoke` or `revoke-all`.", "revoke")
            },
        ),
    ];
    routes.extend(super::admin_more::routes());
    routes
}
