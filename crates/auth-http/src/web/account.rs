//! `/account/`: the signed-in user's own page: profile, password change,
//! sessions and devices, and (from [`super::account_factors`]) second
//! factors.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use auth_domain::identity::password_change::ChangePasswordError;
use auth_domain::sessions::session::{Session, SessionId};

use super::signin::{page_doc, route};
use super::{Area, Ctx, back, enter, post_form, posted};
use crate::routes::{Method, Route};
use crate::state::AppState;

/// A time as the pages show it (UTC, to the minute).
pub fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `GET /account/`.
pub async fn page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let ctx = match enter(&state, &req, Area::Account).await {
        Ok(c) => c,
        Err(answer) => return answer,
    };
    let user = ctx.user().clone();
    let sessions = state.auth.sessions().own_sessions(user.id).await;
    let factors = state.auth.factors().status(user.id).await;
    let (sessions, factors) = match (sessions, factors) {
        (Ok(s), Ok(f)) => (s, f),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "account page: cannot read");
            return ctx.unavailable();
        }
    };
    let done = ctx.done_line(&req, DONE);
    let body = html! {
        (done)
        section aria-labelledby="profile" {
            h2 #profile { (ctx.t("프로필", "Profile")) }
            dl.facts {
                dt { (ctx.t("이름", "Name")) } dd { (user.name) }
                dt { (ctx.t("아이디", "Username")) } dd { (user.login_id.as_ref().map_or("-", |l| l.as_str())) }
                dt { (ctx.t("이메일", "Email")) } dd { (user.email.as_str()) }
                dt { (ctx.t("가입일", "Joined")) } dd { (when(user.created_at)) }
            }
        }
        (password_form(&ctx, user.password_hash.is_some()))
        (sessions_table(&ctx, &sessions))
        (super::account_factors::section(&ctx, &factors, state.auth.factors().passkeys_available()))
    };
    ctx.page(StatusCode::OK, ctx.t("내 계정", "My account"), body)
}

/// The confirmation lines after the account page's actions.
const DONE: &[(&str, &str, &str)] = &[
    (
        "password",
        "비밀번호를 변경했습니다.",
        "Your password was changed.",
    ),
    ("session", "세션을 종료했습니다.", "The session was ended."),
    (
        "totp-removed",
        "인증 앱을 해제했습니다.",
        "The authenticator app was removed.",
    ),
    (
        "passkey-removed",
        "패스키를 삭제했습니다.",
        "The passkey was removed.",
    ),
    (
        "totp",
        "인증 앱을 등록했습니다.",
        "The authenticator app is set up.",
    ),
    ("passkey", "패스키를 등록했습니다.", "The passkey was registered."),
];

fn password_form(ctx: &Ctx, has_password: bool) -> Markup {
    html! {
        section aria-labelledby="password" {
            h2 #password { (ctx.t("비밀번호 변경", "Change password")) }
            @if has_password {
                (post_form(ctx, "/account/password", html! {
                    label for="current" { (ctx.t("현재 비밀번호", "Current password")) }
                    input #current type="password" name="current" autocomplete="current-password" required;
                    label for="new" { (ctx.t("새 비밀번호", "New password")) }
                    input #new type="password" name="new" autocomplete="new-password" required;
                    label.check {
                        input type="checkbox" name="others" value="1" checked;
                        " " (ctx.t("다른 모든 세션에서 로그아웃", "Sign out every other session"))
                    }
                }, ctx.t("변경", "Change"), "stack"))
            } @else {
                p { (ctx.t("소셜 로그인 계정에는 비밀번호가 없습니다. 비밀번호 재설정으로 만들 수 있습니다.", "This account signs in with a social provider and has no password; the password reset can set one.")) }
            }
        }
    }
}

fn sessions_table(ctx: &Ctx, sessions: &[Session]) -> Markup {
    let current = ctx.session().session.id;
    html! {
        section aria-labelledby="sessions" {
            h2 #sessions { (ctx.t("로그인된 기기", "Sessions and devices")) }
            div.scroll {
                table {
                    thead { tr {
                        th scope="col" { (ctx.t("기기", "Device")) }
                        th scope="col" { "IP" }
                        th scope="col" { (ctx.t("경로", "Via")) }
                        th scope="col" { (ctx.t("시작", "Started")) }
                        th scope="col" { (ctx.t("마지막 갱신", "Last refreshed")) }
                        th scope="col" { span.visually-hidden { (ctx.t("작업", "Actions")) } }
                    } }
                    tbody {
                        @for s in sessions {
                            tr {
                                td { (s.user_agent.as_deref().unwrap_or("-")) }
                                td { (s.ip.map_or_else(|| "-".to_owned(), |ip| ip.to_string())) }
                                td { (s.client) }
                                td { (super::account::when(s.created_at)) }
                                td { (s.last_refreshed_at.map_or_else(|| "-".to_owned(), super::account::when)) }
                                td {
                                    @if s.id == current {
                                        span.badge { (ctx.t("이 브라우저", "This browser")) }
                                    } @else {
                                        (post_form(ctx, "/account/sessions/revoke", html! {
                                            input type="hidden" name="sid" value=(s.id.to_string());
                                        }, ctx.t("종료", "End"), "inline"))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `POST /account/password` `current`, `new`, `others`.
pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let (ctx, form) = match posted(&state, &req, Area::Account, payload).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let (current, new) = (form.get("current").unwrap_or(""), form.get("new").unwrap_or(""));
    let session = ctx.session();
    let mut keep = vec![session.session.id];
    match state.auth.provider().browser_of(session.session.id).await {
        Ok(Some(browser)) => keep.push(browser),
        Ok(None) => {}
        Err(e) => {
            tracing::error!(error = %e, "password change: cannot read the grant");
            return ctx.unavailable();
        }
    }
    let caller = state.caller("console", &req);
    let result = state
        .auth
        .accounts()
        .change_password(
            &session.user,
            current,
            new,
            form.get("others").is_some(),
            &keep,
            &caller,
        )
        .await;
    let refused = |status, ko, en| {
        ctx.message(
            status,
            ctx.t("비밀번호를 변경하지 못했습니다", "The password was not changed"),
            ctx.t(ko, en),
        )
    };
    match result {
        Ok(_) => back(&state, "/account/", "password"),
        Err(ChangePasswordError::WrongPassword) => refused(
            StatusCode::BAD_REQUEST,
            "현재 비밀번호가 올바르지 않습니다.",
            "The current password is incorrect.",
        ),
        Err(ChangePasswordError::WeakPassword(_)) => refused(
            StatusCode::BAD_REQUEST,
            "새 비밀번호가 정책에 맞지 않습니다 (길이를 확인해주세요).",
            "The new password does not meet the policy (check its length).",
        ),
        Err(ChangePasswordError::Throttled { .. }) => refused(
            StatusCode::TOO_MANY_REQUESTS,
            "시도가 너무 많습니다. 잠시 후 다시 시도해주세요.",
            "Too many attempts. Try again later.",
        ),
        Err(ChangePasswordError::Disabled) => refused(
            StatusCode::FORBIDDEN,
            "비활성화된 계정입니다.",
            "This account is disabled.",
        ),
        Err(ChangePasswordError::Internal(e)) => {
            tracing::error!(error = %e, "password change failed");
            ctx.unavailable()
        }
    }
}

/// `POST /account/sessions/revoke` `sid`: one of the user's own sessions;
/// another user's (or an unknown) id is refused with 404, nothing changed.
pub async fn revoke_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let (ctx, form) = match posted(&state, &req, Area::Account, payload).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let not_found = || {
        ctx.message(
            StatusCode::NOT_FOUND,
            ctx.t("세션을 찾을 수 없습니다", "No such session"),
            ctx.t(
                "이 계정의 진행 중인 세션이 아닙니다. 아무것도 변경되지 않았습니다.",
                "It is not a live session of this account. Nothing was changed.",
            ),
        )
    };
    let Some(sid) = form
        .get("sid")
        .and_then(|s| uuid::Uuid::parse_str(s.trim()).ok())
        .map(SessionId::from_uuid)
    else {
        return not_found();
    };
    let caller = state.caller("console", &req);
    match state
        .auth
        .sessions()
        .end_own_session(ctx.user().id, sid, &caller)
        .await
    {
        Ok(true) => back(&state, "/account/", "session"),
        Ok(false) => not_found(),
        Err(e) => {
            tracing::error!(error = %e, "account: session revoke failed");
            ctx.unavailable()
        }
    }
}

/// The account page's routes.
pub fn routes() -> Vec<Route> {
    vec![
        route(
            Method::Get,
            "/account/",
            "console.account",
            || web::get().to(page),
            || {
                page_doc(
                    "console.account",
                    "The account page",
                    "Profile, password change, sessions and devices, second factors.",
                )
            },
        ),
        route(
            Method::Post,
            "/account/password",
            "console.account_password",
            || web::post().to(change_password),
            || {
                page_doc(
                    "console.account_password",
                    "Change the password",
                    "Form fields `csrf`, `current`, `new`, `others` (sign out every other session).",
                )
            },
        ),
        route(
            Method::Post,
            "/account/sessions/revoke",
            "console.account_session_revoke",
            || web::post().to(revoke_session),
            || {
                page_doc(
                    "console.account_session_revoke",
                    "End one of my sessions",
                    "Form fields `csrf`, `sid` (a session of this account).",
                )
            },
        ),
    ]
}
