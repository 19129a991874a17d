//! The console (`/admin/`) and the account pages (`/account/`): HTML
//! rendered on the server with maud (every interpolated value escaped),
//! one stylesheet and one small script embedded in the binary, the hosted
//! pages' strict Content-Security-Policy, and a CSRF token in every form.
//!
//! A browser signs in through the hosted sign-in page as the built-in
//! first-party client `auth-console` ([`auth_domain::oidc::console`]):
//! [`signin`] runs the code flow with PKCE and keeps the console's access
//! token in an `HttpOnly` cookie, which every page checks
//! ([`auth_domain::oidc::provider::Provider::web_session`]); a revoked
//! session stops the pages at once.
//!
//! Every action calls the same use case as its `/internal` or `/api` twin
//! (one implementation, one audit event); only the rendering differs.
//! Korean by default, English by `Accept-Language` or the language switch.
// Handlers answer early with a ready page or redirect.
#![allow(clippy::result_large_err)]

pub mod account;
pub mod account_factors;
pub mod admin;
pub mod admin_apps;
pub mod admin_audit;
pub mod admin_clients;
pub mod admin_keys;
pub mod admin_more;
pub mod admin_stats;
mod layout;
pub mod signin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use auth_domain::oidc::console::WebSession;

pub use layout::Ctx;

use crate::body::read_bytes;
use crate::provider::pages::Lang;
use crate::provider::{Form, base_path, csrf_ok};
use crate::state::AppState;

/// The console's stylesheet, after the hosted pages' one.
pub const CONSOLE_CSS: &str = include_str!("console.css");
/// Where it is served.
pub const CONSOLE_CSS_PATH: &str = "/assets/console.css";
/// The account page's script (passkey registration), the only one.
pub const CONSOLE_JS: &str = include_str!("console.js");
/// Where it is served.
pub const CONSOLE_JS_PATH: &str = "/assets/console.js";

/// The name of the pages' session cookie (`__Host-` over https).
pub fn web_cookie_name(state: &AppState) -> &'static str {
    if state.oauth_cookie.secure {
        "__Host-auth_web"
    } else {
        "auth_web"
    }
}

/// The language cookie the switch sets.
const LANG_COOKIE: &str = "auth_lang";

/// The page language: the switch's cookie, else `Accept-Language`.
pub fn lang_of(req: &HttpRequest) -> Lang {
    match req.cookie(LANG_COOKIE).as_ref().map(Cookie::value) {
        Some("en") => Lang::En,
        Some("ko") => Lang::Ko,
        _ => Lang::of(req),
    }
}

/// A cookie of the pages: `HttpOnly`, `SameSite=Lax`, `Path=/`, `Secure`
/// over https; `max_age` seconds, or removed when `None`.
pub(crate) fn cookie(
    state: &AppState,
    name: &'static str,
    value: String,
    max_age: Option<i64>,
) -> Cookie<'static> {
    let mut c = Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.oauth_cookie.secure)
        .finish();
    match max_age {
        Some(s) => c.set_max_age(actix_web::cookie::time::Duration::seconds(s)),
        None => c.make_removal(),
    }
    c
}

/// The signed-in browser behind the session cookie, if any.
pub async fn web_session(
    state: &AppState,
    req: &HttpRequest,
) -> Result<Option<WebSession>, auth_domain::PortError> {
    match req.cookie(web_cookie_name(state)) {
        Some(c) if !c.value().is_empty() && c.value().len() < 4096 => {
            state.auth.provider().web_session(c.value()).await
        }
        _ => Ok(None),
    }
}

/// Which pages: whose sign-in rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// `/account/`: any enabled account.
    Account,
    /// `/admin/`: accounts with the admin role, with a second factor when
    /// `AUTH_ADMIN_REQUIRE_MFA`.
    Admin,
}

/// The page context of a signed-in request, or the answer to give
/// instead: to the sign-in for a page (`GET`), a clear 401 page for a form
/// (nothing is done), 403 for a non-admin at `/admin/`, the enrolment
/// page for an admin without a second factor.
pub async fn enter(state: &AppState, req: &HttpRequest, area: Area) -> Result<Ctx, HttpResponse> {
    let mut ctx = Ctx::anonymous(state, req);
    let session = match web_session(state, req).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "console: cannot read the session");
            return Err(ctx.unavailable());
        }
    };
    let Some(session) = session else {
        return Err(if req.method() == actix_web::http::Method::GET {
            signin::to_sign_in(state, req, false)
        } else {
            ctx.message(
                StatusCode::UNAUTHORIZED,
                ctx.t("세션이 만료되었습니다", "Your session has expired"),
                ctx.t(
                    "다시 로그인한 뒤 시도해주세요. 아무것도 변경되지 않았습니다.",
                    "Sign in again and retry. Nothing was changed.",
                ),
            )
        });
    };
    let admin = match state.auth.user_admin().is_admin(session.user.id).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "console: cannot read the role");
            return Err(ctx.unavailable());
        }
    };
    ctx.session = Some(session);
    ctx.admin = admin;
    if area == Area::Admin {
        if !admin {
            return Err(ctx.message(
                StatusCode::FORBIDDEN,
                ctx.t("권한이 없습니다", "Not allowed"),
                ctx.t(
                    "관리자 권한이 있는 계정만 콘솔에 들어올 수 있습니다.",
                    "Only accounts with the admin role may enter the console.",
                ),
            ));
        }
        if state.admin_require_mfa && !ctx.session().has_second_factor() {
            let enrolled = match state.auth.factors().status(ctx.user().id).await {
                Ok(s) => s.enrolled(),
                Err(e) => {
                    tracing::error!(error = %e, "console: cannot read the factors");
                    return Err(ctx.unavailable());
                }
            };
            if enrolled && req.method() == actix_web::http::Method::GET {
                // Signed in with the password alone: sign in again, with
                // the second step.
                return Err(signin::to_sign_in(state, req, true));
            }
            return Err(ctx.enrol_first(enrolled));
        }
    }
    Ok(ctx)
}

/// A form post of a signed-in page: the body, read within the limit, with
/// its CSRF token checked; else a 403 page (nothing is done).
pub async fn form(
    state: &AppState,
    req: &HttpRequest,
    ctx: &Ctx,
    payload: web::Payload,
) -> Result<Form, HttpResponse> {
    let bytes = read_bytes(payload, state.max_body_bytes).await.map_err(|_| {
        ctx.message(
            StatusCode::BAD_REQUEST,
            ctx.t("잘못된 요청", "Bad request"),
            "invalid_request",
        )
    })?;
    let form = std::str::from_utf8(&bytes)
        .ok()
        .and_then(Form::parse)
        .ok_or_else(|| {
            ctx.message(
                StatusCode::BAD_REQUEST,
                ctx.t("잘못된 요청", "Bad request"),
                ctx.t("양식을 읽을 수 없습니다.", "The form cannot be read."),
            )
        })?;
    if !csrf_ok(state, req, &form) {
        return Err(ctx.message(
            StatusCode::FORBIDDEN,
            ctx.t("페이지가 만료되었습니다", "This page has expired"),
            ctx.t(
                "페이지를 새로 고친 뒤 다시 시도해주세요. 아무것도 변경되지 않았습니다.",
                "Reload the page and try again. Nothing was changed.",
            ),
        ));
    }
    Ok(form)
}

/// A form post of a signed-in page of `area`: [`enter`], then [`form`];
/// the context and the form, or the answer to give instead (nothing done).
pub async fn posted(
    state: &AppState,
    req: &HttpRequest,
    area: Area,
    payload: web::Payload,
) -> Result<(Ctx, Form), HttpResponse> {
    let ctx = enter(state, req, area).await?;
    let form = form(state, req, &ctx, payload).await?;
    Ok((ctx, form))
}

/// `303` to `path` (below the public URL's path) with `done` for the
/// page's confirmation line.
pub fn back(state: &AppState, path: &str, done: &str) -> HttpResponse {
    let base = base_path(state);
    let sep = if path.contains('?') { '&' } else { '?' };
    crate::provider::see_other(&format!("{base}{path}{sep}done={done}"))
}

/// `GET /assets/console.css`.
pub async fn stylesheet() -> HttpResponse {
    asset("text/css; charset=utf-8", CONSOLE_CSS)
}

/// `GET /assets/console.js`.
pub async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", CONSOLE_JS)
}

fn asset(kind: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((actix_web::http::header::CONTENT_TYPE, kind))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "public, max-age=86400"))
        .body(body)
}

/// A `<form method=post>` with the CSRF token, `fields` and one button.
pub fn post_form(ctx: &Ctx, action: &str, fields: Markup, button: &str, class: &str) -> Markup {
    html! {
        form method="post" action=(ctx.href(action)) class=(class) {
            input type="hidden" name="csrf" value=(ctx.csrf);
            (fields)
            button type="submit" { (button) }
        }
    }
}

/// Every route of the pages.
pub fn routes() -> Vec<crate::routes::Route> {
    [
        signin::routes(),
        account::routes(),
        account_factors::routes(),
        admin::routes(),
    ]
    .concat()
}
