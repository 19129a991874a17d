//! Signing the pages in and out: the console is a first-party OpenID
//! client of this service (`auth-console`, public, PKCE S256). `GET
//! /account/login` starts the code flow at `/oauth2/authorize` with a
//! random `state` and verifier kept in an `HttpOnly` cookie; `GET
//! /account/callback` checks `state`, exchanges the code through the token
//! endpoint's own use case, and keeps the access token in the session
//! cookie. `POST /account/logout` ends the browser's sessions as
//! RP-initiated logout does.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;
use subtle::ConstantTimeEq;

use auth_domain::oidc::console::{CONSOLE_CALLBACK_PATH, CONSOLE_CLIENT_ID, CONSOLE_SCOPE};
use auth_domain::oidc::logout::LogoutPlan;

use super::layout::{url_param, urlencode};
use super::{Area, Ctx, cookie, posted, web_cookie_name};
use crate::openapi::Op;
pub(crate) use crate::provider::route;
use crate::provider::{AUTHORIZE_PATH, base_path, see_other, sso_clear, sso_cookie, with_query};
use crate::routes::{Method, Route};
use crate::state::AppState;

/// The cookie of a sign-in under way: `state.verifier.next`.
const FLOW_COOKIE: &str = "auth_web_flow";

/// How long a sign-in may take (the flow cookie's life), in seconds.
const FLOW_SECONDS: i64 = 600;

fn random_b64(bytes: usize) -> String {
    use base64::Engine as _;
    use rand::Rng as _;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// Whether `next` is a page of ours to come back to: a path of the pages,
/// no scheme, no `//`, no control characters, short.
fn safe_next(base: &str, next: &str) -> bool {
    let Some(path) = next.strip_prefix(base) else {
        return false;
    };
    (path.starts_with("/account") || path.starts_with("/admin"))
        && next.len() <= 512
        && !next.contains("//")
        && !next.contains('\\')
        && next.chars().all(|c| c.is_ascii_graphic())
}

/// A redirect to the sign-in that comes back to this request's page;
/// `again` asks the hosted page to sign in afresh (`prompt=login`), for a
/// second factor.
pub fn to_sign_in(state: &AppState, req: &HttpRequest, again: bool) -> HttpResponse {
    let here = match req.query_string() {
        "" => req.path().to_owned(),
        q => format!("{}?{q}", req.path()),
    };
    let mut target = format!("{}/account/login?next={}", base_path(state), urlencode(&here));
    if again {
        target.push_str("&again=1");
    }
    see_other(&target)
}

/// `GET /account/login?next=&again=`: starts the code flow.
pub async fn login(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let base = base_path(&state);
    let query = req.query_string();
    let next = url_param(query, "next")
        .filter(|n| safe_next(&base, n))
        .unwrap_or_else(|| format!("{base}/account/"));
    let (flow_state, verifier) = (random_b64(24), random_b64(32));
    let challenge = {
        use base64::Engine as _;
        use sha2::Digest as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
    };
    let issuer = state.auth.provider().issuer_url().to_owned();
    let redirect_uri = format!("{issuer}{CONSOLE_CALLBACK_PATH}");
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", CONSOLE_CLIENT_ID),
        ("redirect_uri", redirect_uri.as_str()),
        ("scope", CONSOLE_SCOPE),
        ("state", flow_state.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    if url_param(query, "again").is_some() {
        params.push(("prompt", "login"));
    }
    let mut reply = see_other(&with_query(&format!("{base}{AUTHORIZE_PATH}"), &params));
    let value = format!("{flow_state}.{verifier}.{}", urlencode(&next));
    let _ = reply.add_cookie(&cookie(&state, FLOW_COOKIE, value, Some(FLOW_SECONDS)));
    reply
}

/// `GET /account/callback?code=&state=&iss=` (or `error=`).
pub async fn callback(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let ctx = Ctx::anonymous(&state, &req);
    let query = req.query_string();
    let flow = req
        .cookie(FLOW_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    let mut parts = flow.splitn(3, '.');
    let (Some(expected), Some(verifier), Some(next)) = (parts.next(), parts.next(), parts.next()) else {
        return expired(&ctx);
    };
    let given = url_param(query, "state").unwrap_or_default();
    if given.is_empty() || !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        return expired(&ctx);
    }
    if let Some(error) = url_param(query, "error") {
        tracing::info!(error = %error, "console sign-in refused by the authorization endpoint");
        return ctx.message(
            StatusCode::FORBIDDEN,
            ctx.t("로그인하지 못했습니다", "Sign-in did not finish"),
            ctx.t("다시 로그인해주세요.", "Please sign in again."),
        );
    }
    let next = serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("n={next}"))
        .ok()
        .and_then(|v| v.into_iter().next().map(|(_, n)| n))
        .filter(|n| safe_next(&ctx.base, n))
        .unwrap_or_else(|| ctx.href("/account/"));
    let provider = state.auth.provider();
    let client = match provider.authenticate_client(CONSOLE_CLIENT_ID, None).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "console client unavailable");
            return ctx.unavailable();
        }
    };
    let redirect_uri = format!("{}{CONSOLE_CALLBACK_PATH}", provider.issuer_url());
    let code = url_param(query, "code");
    let caller = state.caller(auth_domain::oidc::provider::GRANT, &req);
    let tokens = match provider
        .exchange_code(
            &client,
            code.as_deref(),
            Some(&redirect_uri),
            Some(verifier),
            &caller,
        )
        .await
    {
        Ok(t) => t,
        Err(auth_domain::oidc::grants::GrantError::Internal(e)) => {
            tracing::error!(error = %e, "console code exchange failed");
            return ctx.unavailable();
        }
        Err(e) => {
            tracing::info!(error = %e, "console code refused");
            return expired(&ctx);
        }
    };
    let mut reply = see_other(&next);
    let name = web_cookie_name(&state);
    let _ = reply.add_cookie(&cookie(
        &state,
        name,
        tokens.access_token,
        Some(tokens.expires_in),
    ));
    let _ = reply.add_cookie(&cookie(&state, FLOW_COOKIE, String::new(), None));
    reply
}

fn expired(ctx: &Ctx) -> HttpResponse {
    let body = html! {
        p.message role="status" { (ctx.t("로그인 요청이 만료되었거나 올바르지 않습니다.", "The sign-in request expired or is not valid.")) }
        p { a href=(ctx.href("/account/")) { (ctx.t("다시 로그인", "Sign in again")) } }
    };
    ctx.page(
        StatusCode::BAD_REQUEST,
        ctx.t("로그인 실패", "Sign-in failed"),
        body,
    )
}

/// `POST /account/logout`: ends the pages' session and the browser's
/// single-sign-on session with every grant opened from it (the use case of
/// `/oauth2/logout`), and clears both cookies.
pub async fn logout(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let ctx = match posted(&state, &req, Area::Account, payload).await {
        Ok((ctx, _)) => ctx,
        Err(answer) => return answer,
    };
    let session = ctx.session();
    let plan = LogoutPlan {
        redirect: None,
        hint: Some((session.user.uuid.to_string(), Some(session.session.id))),
    };
    let caller = state.caller(auth_domain::oidc::provider::BROWSER, &req);
    if let Err(e) = state
        .auth
        .provider()
        .end_session(sso_cookie(&state, &req).as_deref(), &plan, &caller)
        .await
    {
        tracing::error!(error = %e, "console sign-out failed");
        return ctx.unavailable();
    }
    let anonymous = Ctx::anonymous(&state, &req);
    let body = html! {
        p.message role="status" { (ctx.t("로그아웃되었습니다.", "You have been signed out.")) }
        p { a href=(ctx.href("/account/")) { (ctx.t("다시 로그인", "Sign in again")) } }
    };
    let mut reply = anonymous.page(StatusCode::OK, ctx.t("로그아웃", "Signed out"), body);
    let name = web_cookie_name(&state);
    let _ = reply.add_cookie(&cookie(&state, name, String::new(), None));
    let _ = reply.add_cookie(&sso_clear(&state));
    reply
}

/// `GET /account/lang?to=en|ko&next=`: the language switch.
pub async fn switch_language(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let base = base_path(&state);
    let query = req.query_string();
    let to = match url_param(query, "to").as_deref() {
        Some("en") => "en",
        _ => "ko",
    };
    let next = url_param(query, "next")
        .filter(|n| safe_next(&base, n))
        .unwrap_or_else(|| format!("{base}/account/"));
    let mut reply = see_other(&next);
    let mut c = cookie(&state, "auth_lang", to.to_owned(), Some(365 * 86_400));
    c.set_http_only(false);
    let _ = reply.add_cookie(&c);
    reply
}

/// A page of the console or the account pages, for the OpenAPI document.
pub(crate) fn page_doc(id: &'static str, summary: &'static str, description: &'static str) -> Op {
    let html = || serde_json::json!({"type": "string"});
    let mut op = Op::new("console", id, summary).describe(description);
    for (status, what) in [
        (200, "The page."),
        (
            400,
            "The form cannot be read, or a field is wrong: the page says which.",
        ),
        (401, "A form sent without a live session: nothing was done."),
        (
            403,
            "A missing or wrong CSRF token, a non-admin at `/admin/`, or an admin without a second factor: nothing was done.",
        ),
        (404, "No such user, session or item."),
        (409, "Already set up (an authenticator app)."),
        (429, "Too many attempts."),
        (503, "The service cannot answer now."),
    ] {
        op = op.raw(status, what, "text/html", html());
    }
    op.empty(303, "To the sign-in, or back to the page after an action.")
}

/// The sign-in routes and the pages' assets.
pub fn routes() -> Vec<Route> {
    vec![
        route(
            Method::Get,
            "/account/login",
            "console.login",
            || web::get().to(login),
            || {
                page_doc(
                    "console.login",
                    "Sign the pages in",
                    "Starts the code flow of the built-in client `auth-console` at `/oauth2/authorize`; `next` is the page to come back to, `again=1` asks for a fresh sign-in (`prompt=login`).",
                )
            },
        ),
        route(
            Method::Get,
            CONSOLE_CALLBACK_PATH,
            "console.callback",
            || web::get().to(callback),
            || {
                page_doc(
                    "console.callback",
                    "The pages' sign-in callback",
                    "Checks `state`, exchanges the code (PKCE) and sets the pages' session cookie.",
                )
            },
        ),
        route(
            Method::Post,
            "/account/logout",
            "console.logout",
            || web::post().to(logout),
            || {
                page_doc(
                    "console.logout",
                    "Sign the pages out",
                    "Ends the pages' session and the browser's single-sign-on session (form field `csrf`).",
                )
            },
        ),
        route(
            Method::Get,
            "/account/lang",
            "console.lang",
            || web::get().to(switch_language),
            || page_doc("console.lang", "Language switch", "`to=en|ko`; back to `next`."),
        ),
        route(
            Method::Get,
            super::CONSOLE_CSS_PATH,
            "console.stylesheet",
            || web::get().to(super::stylesheet),
            || {
                Op::new("console", "console.stylesheet", "The console's stylesheet").raw(
                    200,
                    "CSS.",
                    "text/css",
                    serde_json::json!({"type": "string"}),
                )
            },
        ),
        route(
            Method::Get,
            super::CONSOLE_JS_PATH,
            "console.script",
            || web::get().to(super::script),
            || {
                Op::new(
                    "console",
                    "console.script",
                    "The account page's script (passkey registration)",
                )
                .raw(
                    200,
                    "JavaScript.",
                    "text/javascript",
                    serde_json::json!({"type": "string"}),
                )
            },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_pages_of_ours_are_returned_to() {
        for good in [
            "/account/",
            "/admin/users?query=kim",
            "/auth/admin/",
            "/account/#security",
        ] {
            let base = if good.starts_with("/auth") { "/auth" } else { "" };
            assert!(safe_next(base, good), "{good}");
        }
        for bad in [
            "https://evil.example/admin",
            "//evil.example/admin",
            "/admin//evil",
            "/oauth2/authorize",
            "/account\\evil",
            "/account/\u{7f}",
            "/account/ x",
            "",
        ] {
            assert!(!safe_next("", bad), "{bad}");
        }
        assert!(!safe_next("/auth", "/account/"), "outside the base path");
        assert!(
            !safe_next("", &format!("/account/{}", "a".repeat(600))),
            "too long"
        );
    }
}
