//! The OpenID provider's endpoints (OAuth 2.1, OpenID Connect Core 1.0,
//! RP-Initiated Logout 1.0, RFC 7009, RFC 9207) and its hosted pages. Each
//! handler parses, calls one use case of [`auth_domain::oidc::provider::Provider`],
//! and answers in the protocol's form: redirects and HTML pages for the
//! browser ([`authorize`], [`logout`]), RFC 6749 §5.2 JSON for clients
//! ([`token`]). See `docs/oidc.md`.
//!
//! Fixed paths (no contract prefix): `/oauth2/authorize`, `/oauth2/token`,
//! `/oauth2/userinfo`, `/oauth2/revoke`, `/oauth2/logout`, `/login`,
//! `/login/passkey`, `/consent`, `/password-reset`, `/assets/auth.css`,
//! `/assets/passkey.js`.
// Handlers answer early with a ready `HttpResponse` (a page, a redirect, an
// RFC 6749 error), as the contract modules do with their envelopes.
#![allow(clippy::result_large_err)]

pub mod authorize;
pub mod logout;
pub mod pages;
pub mod passkey_login;
pub mod second_step;
pub mod social;
pub mod token;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use auth_domain::oidc::flow::{AuthorizeParams, RedirectError};

use crate::openapi::Op;
use crate::routes::{Access, Method, Route};
use crate::state::AppState;

/// `GET /oauth2/authorize`.
pub const AUTHORIZE_PATH: &str = "/oauth2/authorize";
/// `POST /oauth2/token`.
pub const TOKEN_PATH: &str = "/oauth2/token";
/// `GET|POST /oauth2/userinfo`.
pub const USERINFO_PATH: &str = "/oauth2/userinfo";
/// `POST /oauth2/revoke`.
pub const REVOKE_PATH: &str = "/oauth2/revoke";
/// `GET|POST /oauth2/logout`.
pub const LOGOUT_PATH: &str = "/oauth2/logout";
/// The sign-in page.
pub const LOGIN_PATH: &str = "/login";
/// The consent page.
pub const CONSENT_PATH: &str = "/consent";
/// The password-reset page.
pub const RESET_PATH: &str = "/password-reset";

/// The name of the single-sign-on cookie (`__Host-` over https).
pub fn sso_cookie_name(state: &AppState) -> &'static str {
    if state.oauth_cookie.secure {
        "__Host-auth_sso"
    } else {
        "auth_sso"
    }
}

/// The name of the CSRF cookie (`__Host-` over https).
pub fn csrf_cookie_name(state: &AppState) -> &'static str {
    if state.oauth_cookie.secure {
        "__Host-auth_csrf"
    } else {
        "auth_csrf"
    }
}

/// The single-sign-on cookie's value, if the browser sent one.
pub fn sso_cookie(state: &AppState, req: &HttpRequest) -> Option<String> {
    req.cookie(sso_cookie_name(state)).map(|c| c.value().to_owned())
}

/// The single-sign-on cookie: `HttpOnly`, `SameSite=Lax`, `Path=/`,
/// `Secure` over https, kept as long as the session's refresh token.
pub fn sso_set(state: &AppState, value: String) -> Cookie<'static> {
    let max_age = state.auth.policy().refresh_ttl.num_seconds();
    Cookie::build(sso_cookie_name(state), value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.oauth_cookie.secure)
        .max_age(actix_web::cookie::time::Duration::seconds(max_age))
        .finish()
}

/// The single-sign-on cookie, removed.
pub fn sso_clear(state: &AppState) -> Cookie<'static> {
    let mut c = Cookie::build(sso_cookie_name(state), "")
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.oauth_cookie.secure)
        .finish();
    c.make_removal();
    c
}

/// The browser's CSRF token: the cookie's, or a new one (with the cookie
/// to set). `SameSite=Strict`, `HttpOnly`: a form proves it came from our
/// page by carrying the same value (double submit).
pub fn csrf_token(state: &AppState, req: &HttpRequest) -> (String, Option<Cookie<'static>>) {
    if let Some(c) = req
        .cookie(csrf_cookie_name(state))
        .filter(|c| c.value().len() == 43)
    {
        return (c.value().to_owned(), None);
    }
    use base64::Engine as _;
    use rand::Rng as _;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let cookie = Cookie::build(csrf_cookie_name(state), token.clone())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.oauth_cookie.secure)
        .finish();
    (token, Some(cookie))
}

/// Whether a form's `csrf` field matches the browser's cookie.
pub fn csrf_ok(state: &AppState, req: &HttpRequest, form: &Form) -> bool {
    use subtle::ConstantTimeEq;
    match (req.cookie(csrf_cookie_name(state)), form.get("csrf")) {
        (Some(c), Some(f)) if !f.is_empty() => bool::from(c.value().as_bytes().ct_eq(f.as_bytes())),
        _ => false,
    }
}

/// URL-encoded parameters (a query string or a form body), refusing a
/// name given twice (RFC 6749 §3.1, §3.2).
#[derive(Debug, Clone, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    /// Parses `raw`; `None` when it is malformed or repeats a name.
    pub fn parse(raw: &str) -> Option<Self> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw).ok()?;
        let mut names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        (names.len() == before).then_some(Self(pairs))
    }

    /// A parameter's value (an empty one counts as absent).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// The authorization request parameters.
    pub fn authorize_params(&self) -> AuthorizeParams {
        let get = |n: &str| self.get(n).map(str::to_owned);
        AuthorizeParams {
            response_type: get("response_type"),
            client_id: get("client_id"),
            redirect_uri: get("redirect_uri"),
            scope: get("scope"),
            state: get("state"),
            nonce: get("nonce"),
            code_challenge: get("code_challenge"),
            code_challenge_method: get("code_challenge_method"),
            prompt: get("prompt"),
            max_age: get("max_age"),
            login_hint: get("login_hint"),
        }
    }
}

/// `uri` with `params` added to its query.
pub fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(params).unwrap_or_default();
    if query.is_empty() {
        return uri.to_owned();
    }
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{query}")
}

/// A `303 See Other` to `location` (a redirect after a form post is a GET;
/// from a GET, browsers treat it as 302).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// An authorization error sent back to the client's registered redirect
/// URI, with `state` and `iss` (RFC 9207).
pub fn redirect_error(
    state: &AppState,
    redirect_uri: &str,
    error: &RedirectError,
    client_state: Option<&str>,
) -> HttpResponse {
    let issuer = state.auth.provider().issuer_url();
    let mut params = vec![
        ("error", error.error),
        ("error_description", error.description.as_str()),
    ];
    if let Some(s) = client_state {
        params.push(("state", s));
    }
    params.push(("iss", issuer));
    see_other(&with_query(redirect_uri, &params))
}

/// The path of the public URL: where the pages link to each other.
pub fn base_path(state: &AppState) -> String {
    let issuer = state.auth.provider().issuer_url();
    let rest = issuer.split_once("://").map_or("", |(_, r)| r);
    rest.find('/')
        .map_or(String::new(), |i| rest[i..].trim_end_matches('/').to_owned())
}

/// `GET /assets/passkey.js`.
pub async fn passkey_script() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(pages::PASSKEY_JS)
}

/// `GET /assets/auth.css`.
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(pages::CSS)
}

/// A browser-facing operation: an HTML page, or a redirect (`303`);
/// refusals are pages too (400 a request that cannot go back to its client,
/// 401/403/429 the sign-in page with its error, 404 an unknown provider,
/// 503 an outage).
fn page_op(id: &'static str, summary: &'static str, description: &'static str) -> Op {
    let html = || json!({"type": "string"});
    let mut op = Op::new("oidc", id, summary).describe(description);
    for (status, what) in [
        (200, "The page."),
        (
            400,
            "A request that cannot be sent back to its client: a page, never a redirect.",
        ),
        (
            401,
            "The sign-in page again, saying the username or password is wrong.",
        ),
        (
            403,
            "The page again: the form expired (CSRF) or the account is disabled.",
        ),
        (404, "An unknown social provider."),
        (429, "The sign-in page again: too many attempts."),
        (503, "The service cannot answer now."),
    ] {
        op = op.raw(status, what, "text/html", html());
    }
    op.empty(
        303,
        "To the next step: the sign-in or consent page, or the client's redirect URI.",
    )
}

/// A public route of the hosted pages (no rate limit, no admin check);
/// the console's pages ([`crate::web`]) are declared with it too.
pub(crate) fn route(
    method: Method,
    path: &'static str,
    id: &'static str,
    to: fn() -> actix_web::Route,
    doc: fn() -> Op,
) -> Route {
    Route {
        method,
        path,
        id,
        to,
        rate_limit: None,
        access: Access::Public,
        doc,
    }
}

/// The provider's routes.
pub fn routes() -> Vec<Route> {
    vec![
        route(
            Method::Get,
            AUTHORIZE_PATH,
            "oidc.authorize",
            || web::get().to(authorize::authorize),
            || {
                page_op(
                    "oidc.authorize",
                    "Authorization endpoint (code flow with PKCE S256)",
                    "OpenID Connect Core §3.1.2. Redirects to the sign-in or consent page, or back to the \
                 registered `redirect_uri` with `code`, `state` and `iss`; errors before the client and \
                 redirect URI are known are a 400 page, never a redirect.",
                )
            },
        ),
        route(
            Method::Get,
            LOGIN_PATH,
            "oidc.login_page",
            || web::get().to(authorize::login_page),
            || {
                page_op(
                    "oidc.login_page",
                    "Hosted sign-in page",
                    "A form with `username`, `password` and a CSRF token.",
                )
            },
        ),
        route(
            Method::Post,
            LOGIN_PATH,
            "oidc.login",
            || web::post().to(authorize::login),
            || {
                page_op(
                    "oidc.login",
                    "Hosted sign-in",
                    "Checks the password as the JSON logins do, sets the single-sign-on cookie and continues the authorization.",
                )
            },
        ),
        route(
            Method::Post,
            passkey_login::PASSKEY_LOGIN_PATH,
            "oidc.login_passkey",
            || web::post().to(passkey_login::sign_in),
            || {
                page_op(
                    "oidc.login_passkey",
                    "Hosted passwordless passkey sign-in",
                    "The sign-in page's passkey button: `credential` (the assertion's `PublicKeyCredential` JSON, \
                     answering the options of `POST /api/passkeys/login/start`), `csrf`, `request`. The same use case \
                     as `POST /api/passkeys/login/finish`; on success sets the single-sign-on cookie and continues \
                     the authorization. Refusals are the sign-in page again: 400 no or a malformed credential, or \
                     an expired ceremony; 401 an unknown credential or a refused assertion; 403 a failed CSRF \
                     check or a disabled account; 429 over the per-IP rate limit.",
                )
            },
        ),
        route(
            Method::Get,
            "/login/social/{provider}",
            "oidc.login_social",
            || web::get().to(social::start),
            || {
                page_op(
                    "oidc.login_social",
                    "Hosted social sign-in",
                    "Starts Google, Kakao or Naver sign-in for the authorization request in the query; \
                     the provider's callback (the `picsel` contract's) comes back to \
                     `/oauth2/authorize` signed in.",
                )
                .path_param("provider", "`google`, `kakao` or `naver`.", "google")
                .empty(302, "To the provider, with the flow's cookies.")
            },
        ),
        route(
            Method::Get,
            CONSENT_PATH,
            "oidc.consent_page",
            || web::get().to(authorize::consent_page),
            || {
                page_op(
                    "oidc.consent_page",
                    "Consent page",
                    "For clients that are not first-party: buttons `consent=allow` and `consent=deny`.",
                )
            },
        ),
        route(
            Method::Post,
            CONSENT_PATH,
            "oidc.consent",
            || web::post().to(authorize::consent),
            || {
                page_op(
                    "oidc.consent",
                    "Consent answer",
                    "Allow (remembered) or deny (`access_denied`).",
                )
            },
        ),
        route(
            Method::Get,
            RESET_PATH,
            "oidc.reset_page",
            || web::get().to(authorize::reset_page),
            || {
                page_op(
                    "oidc.reset_page",
                    "Password reset page",
                    "Asks for the email to send a code to.",
                )
            },
        ),
        route(
            Method::Post,
            RESET_PATH,
            "oidc.reset",
            || web::post().to(authorize::reset),
            || {
                page_op(
                    "oidc.reset",
                    "Password reset",
                    "Sends a code, or resets the password with one.",
                )
            },
        ),
        route(
            Method::Get,
            pages::PASSKEY_JS_PATH,
            "oidc.passkey_script",
            || web::get().to(passkey_script),
            || {
                Op::new(
                    "oidc",
                    "oidc.passkey_script",
                    "The sign-in page's passkey buttons",
                )
                .raw(200, "JavaScript.", "text/javascript", json!({"type": "string"}))
            },
        ),
        route(
            Method::Get,
            pages::CSS_PATH,
            "oidc.stylesheet",
            || web::get().to(stylesheet),
            || {
                Op::new("oidc", "oidc.stylesheet", "The hosted pages' stylesheet").raw(
                    200,
                    "CSS.",
                    "text/css",
                    json!({"type": "string"}),
                )
            },
        ),
        route(
            Method::Post,
            TOKEN_PATH,
            "oidc.token",
            || web::post().to(token::token),
            token::token_doc,
        ),
        route(
            Method::Get,
            USERINFO_PATH,
            "oidc.userinfo",
            || web::get().to(token::userinfo),
            token::userinfo_doc,
        ),
        route(
            Method::Post,
            USERINFO_PATH,
            "oidc.userinfo_post",
            || web::post().to(token::userinfo),
            token::userinfo_post_doc,
        ),
        route(
            Method::Post,
            REVOKE_PATH,
            "oidc.revoke",
            || web::post().to(token::revoke),
            token::revoke_doc,
        ),
        route(
            Method::Get,
            LOGOUT_PATH,
            "oidc.logout",
            || web::get().to(logout::logout),
            || {
                page_op(
                    "oidc.logout",
                    "RP-Initiated Logout",
                    "`id_token_hint`, `post_logout_redirect_uri` (registered), `state`, `client_id`. Without a hint, asks the user to confirm.",
                )
            },
        ),
        route(
            Method::Post,
            LOGOUT_PATH,
            "oidc.logout_confirm",
            || web::post().to(logout::logout_confirm),
            || {
                page_op(
                    "oidc.logout_confirm",
                    "Confirmed logout",
                    "The confirmation form of `GET /oauth2/logout`.",
                )
            },
        ),
    ]
}
