//! The `picsel` contract (seed 002), social part: Google, Kakao and Naver.
//!
//! - `GET /api/auth/{provider}`: 302 to the provider's authorization page,
//!   setting the [`BROWSER_COOKIE`] that binds the flow to this browser.
//! - `POST /api/auth/{provider}/login`: 201, the same URL in `Location` and
//!   in `{"message": "소셜 로그인 URL 발급 성공", "data": {"url": …}}`; the
//!   flow is not bound to a cookie (an application opens the URL itself).
//! - `GET /api/auth/{provider}/callback?code&state` (or `?error&state`):
//!   the email login's success body, or, with `AUTH_OAUTH_SUCCESS_REDIRECT`,
//!   a 302 there with the tokens (and the flow's `state`) in the URL
//!   fragment. A browser-bound flow needs its cookie back; every callback
//!   clears it.
//!
//! Both starts count against the per-IP limit of the public endpoints: each
//! one stores a flow.
//!
//! Errors use `picsel`'s common envelope; every one of them is mapped in
//! [`start_failure`] and [`callback_failure`].

use std::collections::HashMap;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde_json::{Value, json};

use auth_domain::PortError;
use auth_domain::service::{
    FlowOrigin, Login, ProviderAnswer, SocialLoginError, SocialStart, SocialStartError,
};

use crate::contracts::iso_millis;
use crate::contracts::picsel::{NAME, error, login_success, too_many_requests, unavailable};
use crate::state::{AppState, OAuthCookie};

/// The cookie that binds a browser-started flow to its browser: a random
/// nonce whose hash is stored with the flow. `HttpOnly` (no script reads
/// it), `SameSite=Lax` (sent on the provider's top-level redirect back,
/// not on cross-site subrequests), scoped to the provider's callback path,
/// `Secure` when `AUTH_PUBLIC_URL` is HTTPS, and living as long as the
/// flow's state.
pub const BROWSER_COOKIE: &str = "auth_oauth_state";

fn browser_cookie(config: &OAuthCookie, provider: &str, value: String) -> Cookie<'static> {
    Cookie::build(BROWSER_COOKIE, value)
        .path(config.callback_path(provider))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(config.secure)
        .finish()
}

/// `GET /api/auth/{provider}`: 302 to the provider, with the cookie that
/// the callback will require.
pub async fn start(
    state: web::Data<AppState>,
    provider: web::Path<String>,
    req: HttpRequest,
) -> HttpResponse {
    if let Err(wait) = state.rate_limit(&req) {
        return too_many_requests(wait);
    }
    match state
        .auth
        .start_social_login(&provider, FlowOrigin::Browser)
        .await
    {
        Ok(SocialStart {
            url,
            browser: Some(nonce),
            expires_at,
        }) => {
            let mut cookie = browser_cookie(&state.oauth_cookie, &provider, nonce.expose().to_owned());
            // Whole seconds, rounded up: the cookie outlives the state by
            // under a second rather than dying before it.
            let lifetime = ((expires_at - Utc::now()).num_milliseconds() + 999).max(1000) / 1000;
            cookie.set_max_age(actix_web::cookie::time::Duration::seconds(lifetime));
            HttpResponse::Found()
                .insert_header((header::LOCATION, url))
                .cookie(cookie)
                .finish()
        }
        Ok(SocialStart { browser: None, .. }) => unavailable(&PortError::new(
            "start social login",
            "a browser flow came back without its nonce",
        )),
        Err(e) => start_failure(&provider, e),
    }
}

/// `POST /api/auth/{provider}/login`: 201 with the authorization URL in
/// `Location` and in the body, for clients that cannot follow a redirect.
/// The flow is not bound to a cookie: the application opens the URL in a
/// browser or web view of its own, where a cookie set on this response
/// would not come back (see `docs/contracts/picsel.md`).
pub async fn start_by_post(
    state: web::Data<AppState>,
    provider: web::Path<String>,
    req: HttpRequest,
) -> HttpResponse {
    if let Err(wait) = state.rate_limit(&req) {
        return too_many_requests(wait);
    }
    match state.auth.start_social_login(&provider, FlowOrigin::App).await {
        Ok(SocialStart { url, .. }) => HttpResponse::Created()
            .insert_header((header::LOCATION, url.as_str()))
            .json(json!({"message": "소셜 로그인 URL 발급 성공", "data": {"url": url}})),
        Err(e) => start_failure(&provider, e),
    }
}

/// `GET /api/auth/{provider}/callback`: the provider sends the browser back
/// here with `code` and `state` (or `error` and `state`).
pub async fn callback(
    state: web::Data<AppState>,
    provider: web::Path<String>,
    req: HttpRequest,
) -> HttpResponse {
    let Ok(query) = web::Query::<HashMap<String, String>>::from_query(req.query_string()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequestException",
            "INVALID_QUERY",
            "요청 쿼리가 올바르지 않습니다",
            Value::Null,
        );
    };
    let field = |name: &str| query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let answer = match (field("error"), field("code")) {
        (Some(e), _) => ProviderAnswer::Error(e.to_owned()),
        (None, Some(code)) => ProviderAnswer::Code(code.to_owned()),
        (None, None) => ProviderAnswer::Missing,
    };
    let flow_state = field("state").unwrap_or_default();
    let cookie = req.cookie(BROWSER_COOKIE);
    let nonce = cookie.as_ref().map(Cookie::value).filter(|v| !v.is_empty());
    let meta = state.client_meta(NAME, &req);
    let mut response = match state
        .auth
        .for_client(meta.clone())
        .social_login(&provider, flow_state, nonce, answer, meta)
        .await
    {
        Ok(login) => match &state.oauth_success_redirect {
            Some(target) => HttpResponse::Found()
                .insert_header((header::LOCATION, success_redirect(target, &login, flow_state)))
                .finish(),
            None => HttpResponse::Ok().json(login_success(&login)),
        },
        Err(e) => callback_failure(&provider, e),
    };
    // The callback URL carries the code and state; keep it out of referrers.
    response
        .headers_mut()
        .insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // The flow is over either way (its state is spent): the nonce has no
    // further use, so the browser drops it.
    if cookie.is_some() {
        let _ = response.add_removal_cookie(&browser_cookie(&state.oauth_cookie, &provider, String::new()));
    }
    response
}

/// `{target}#accessToken=…&refreshToken=…&issuedAt=…&tokenType=Bearer&state=…`.
/// The fragment never reaches a server, so the tokens stay in the browser.
/// `state` is the flow's (already spent): an application that started the
/// flow with the `POST` alias compares it with the `state` of the URL it
/// opened and ignores tokens of a flow it did not start.
fn success_redirect(target: &str, login: &Login, flow_state: &str) -> String {
    let issued_at = iso_millis(login.tokens.access.issued_at);
    let pairs = [
        ("accessToken", login.tokens.access.token.as_str()),
        ("refreshToken", login.tokens.refresh.token.as_str()),
        ("issuedAt", issued_at.as_str()),
        ("tokenType", "Bearer"),
        ("state", flow_state),
    ];
    let fragment: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect();
    format!("{target}#{}", fragment.join("&"))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A value from the request, safe to echo in `details`: at most 64
/// characters of `[A-Za-z0-9_.-]`.
fn echo(raw: &str) -> String {
    raw.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        .take(64)
        .collect()
}

fn not_found(provider: &str) -> HttpResponse {
    error(
        StatusCode::NOT_FOUND,
        "NotFoundException",
        "SOCIAL_PROVIDER_NOT_FOUND",
        "지원하지 않는 소셜 로그인입니다",
        json!({"provider": echo(provider)}),
    )
}

fn start_failure(provider: &str, e: SocialStartError) -> HttpResponse {
    match e {
        SocialStartError::UnknownProvider | SocialStartError::NotConfigured => not_found(provider),
        SocialStartError::Internal(e) => unavailable(&e),
    }
}

/// A provider failed us: the cause goes to the log (as a warning: the
/// fault is outside this service), a 4xx/502 to the client.
fn log_provider_failure(provider: &str, e: &PortError) {
    let mut chain = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        chain.push_str(" <- ");
        chain.push_str(&s.to_string());
        source = s.source();
    }
    tracing::warn!(contract = NAME, provider, context = e.context(), cause = %chain, "social login provider failure");
}

fn callback_failure(provider: &str, e: SocialLoginError) -> HttpResponse {
    use SocialLoginError as E;
    let (status, kind, code, message, details) = match e {
        E::UnknownProvider | E::NotConfigured => return not_found(provider),
        E::InvalidState => (
            StatusCode::BAD_REQUEST,
            "BadRequestException",
            "INVALID_OAUTH_STATE",
            "유효하지 않거나 만료된 소셜 로그인 요청입니다. 처음부터 다시 시도해주세요",
            Value::Null,
        ),
        E::BrowserMismatch => (
            StatusCode::BAD_REQUEST,
            "BadRequestException",
            "OAUTH_BROWSER_MISMATCH",
            "소셜 로그인을 시작한 브라우저에서 완료해야 합니다. 처음부터 다시 시도해주세요",
            Value::Null,
        ),
        E::MissingCode => (
            StatusCode::BAD_REQUEST,
            "BadRequestException",
            "VALIDATION_ERROR",
            "code를 입력해주세요",
            json!({"field": "code"}),
        ),
        E::Denied => (
            StatusCode::UNAUTHORIZED,
            "UnauthorizedException",
            "SOCIAL_LOGIN_DENIED",
            "소셜 로그인이 취소되었습니다",
            json!({"error": "access_denied"}),
        ),
        E::ProviderError(reported) => (
            StatusCode::BAD_GATEWAY,
            "BadGatewayException",
            "SOCIAL_PROVIDER_ERROR",
            "소셜 로그인 제공자가 오류를 반환했습니다",
            json!({"error": echo(&reported)}),
        ),
        E::CodeRejected(cause) => {
            log_provider_failure(provider, &cause);
            (
                StatusCode::UNAUTHORIZED,
                "UnauthorizedException",
                "SOCIAL_CODE_REJECTED",
                "소셜 로그인 인증 코드가 유효하지 않습니다. 처음부터 다시 시도해주세요",
                Value::Null,
            )
        }
        E::TokenExchange(cause) => {
            log_provider_failure(provider, &cause);
            (
                StatusCode::BAD_GATEWAY,
                "BadGatewayException",
                "SOCIAL_TOKEN_EXCHANGE_FAILED",
                "소셜 로그인 제공자에게서 토큰을 받지 못했습니다",
                Value::Null,
            )
        }
        E::UserInfo(cause) => {
            log_provider_failure(provider, &cause);
            (
                StatusCode::BAD_GATEWAY,
                "BadGatewayException",
                "SOCIAL_USERINFO_FAILED",
                "소셜 계정 정보를 가져오지 못했습니다",
                Value::Null,
            )
        }
        E::EmailMissing => (
            StatusCode::FORBIDDEN,
            "ForbiddenException",
            "SOCIAL_EMAIL_REQUIRED",
            "소셜 계정의 이메일 제공에 동의해야 가입할 수 있습니다",
            Value::Null,
        ),
        E::EmailNotVerified => (
            StatusCode::FORBIDDEN,
            "ForbiddenException",
            "SOCIAL_EMAIL_NOT_VERIFIED",
            "인증된 이메일이 있는 소셜 계정만 사용할 수 있습니다",
            Value::Null,
        ),
        E::EmailTaken => (
            StatusCode::CONFLICT,
            "ConflictException",
            "SOCIAL_EMAIL_IN_USE",
            "이미 가입된 이메일입니다. 가입할 때 사용한 방법으로 로그인해주세요",
            Value::Null,
        ),
        E::Internal(e) => return unavailable(&e),
    };
    error(status, kind, code, message, details)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_are_percent_encoded() {
        assert_eq!(
            percent_encode("2025-12-08T11:00:00.000Z"),
            "2025-12-08T11%3A00%3A00.000Z"
        );
        assert_eq!(percent_encode("a.b-c_d~"), "a.b-c_d~");
        assert_eq!(percent_encode("가 &#"), "%EA%B0%80%20%26%23");
    }

    #[test]
    fn echoed_values_are_bounded() {
        assert_eq!(echo("access_denied"), "access_denied");
        assert_eq!(echo("<script>x</script>"), "scriptxscript");
        assert_eq!(echo(&"a".repeat(100)).len(), 64);
    }
}
