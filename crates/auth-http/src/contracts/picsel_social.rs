//! The `picsel` contract (seed 002), social part: Google, Kakao and Naver.
//!
//! - `GET /api/auth/{provider}`: 302 to the provider's authorization page,
//!   setting the [`BROWSER_COOKIE`] that binds the flow to this browser.
//! - `POST /api/auth/{provider}/login`: 201, the same URL in `Location` and
//!   in `{"message": "소셜 로그인 URL 발급 성공", "data": {"url": …}}`; the
//!   flow is not bound to a cookie (an application opens the URL itself).
//! - `GET /api/auth/{provider}/callback?code&state` (or `?error&state`):
//!   the email login's success body, or a 302 with the tokens (and the
//!   flow's `state`) in the URL fragment: to `AUTH_OAUTH_SUCCESS_REDIRECT`
//!   for a flow started in this browser (`GET`, its cookie checked), to
//!   `AUTH_OAUTH_APP_REDIRECT` for one an application started (`POST`).
//!   A browser-bound flow needs its cookie back; every callback clears it.
//!
//! Both starts count against the per-IP limit of the public endpoints: each
//! one stores a flow.
//!
//! Errors use `picsel`'s common envelope; every one of them is mapped in
//! [`SocialError::reply`].

use std::collections::HashMap;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde_json::json;

use auth_domain::PortError;
use auth_domain::identity::login::Login;
use auth_domain::social::login::{
    FlowOrigin, ProviderAnswer, SocialLogin, SocialLoginError, SocialStart, SocialStartError,
};

use serde::Serialize;
use utoipa::ToSchema;

use crate::contracts::envelope::{Common, ContractError, Reply, respond, response_error};
use crate::contracts::iso_millis;
use crate::contracts::picsel::{NAME, PicselEnvelope, login_success};
use crate::state::{AppState, OAuthCookie};

/// The cookie that binds a browser-started flow to its browser: a random
/// nonce whose hash is stored with the flow. `HttpOnly` (no script reads
/// it), `SameSite=Lax` (sent on the provider's top-level redirect back,
/// not on cross-site subrequests), scoped to the provider's callback path,
/// `Secure` when `AUTH_PUBLIC_URL` is HTTPS, and living as long as the
/// flow's state.
pub const BROWSER_COOKIE: &str = "auth_oauth_state";

pub(crate) fn browser_cookie(config: &OAuthCookie, provider: &str, value: String) -> Cookie<'static> {
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
) -> Result<HttpResponse, SocialError> {
    let started = state
        .auth
        .social()
        .start_social_login(&provider, FlowOrigin::Browser)
        .await
        .map_err(|e| SocialError::from_start(&provider, e))?;
    let SocialStart {
        url,
        browser: Some(nonce),
        expires_at,
    } = started
    else {
        return Err(Common::Unavailable(PortError::new(
            "start social login",
            "a browser flow came back without its nonce",
        ))
        .into());
    };
    let mut cookie = browser_cookie(&state.oauth_cookie, &provider, nonce.expose().to_owned());
    // Whole seconds, rounded up: the cookie outlives the state by under a
    // second rather than dying before it.
    let lifetime = ((expires_at - Utc::now()).num_milliseconds() + 999).max(1000) / 1000;
    cookie.set_max_age(actix_web::cookie::time::Duration::seconds(lifetime));
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, url))
        .cookie(cookie)
        .finish())
}

/// `POST /api/auth/{provider}/login`: 201 with the authorization URL in
/// `Location` and in the body, for clients that cannot follow a redirect.
/// The flow is not bound to a cookie: the application opens the URL in a
/// browser or web view of its own, where a cookie set on this response
/// would not come back (see `docs/contracts/picsel.md`).
pub async fn start_by_post(
    state: web::Data<AppState>,
    provider: web::Path<String>,
) -> Result<HttpResponse, SocialError> {
    let SocialStart { url, .. } = state
        .auth
        .social()
        .start_social_login(&provider, FlowOrigin::App)
        .await
        .map_err(|e| SocialError::from_start(&provider, e))?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, url.as_str()))
        .json(StartResponse {
            message: "소셜 로그인 URL 발급 성공",
            data: StartData { url },
        }))
}

/// `GET /api/auth/{provider}/callback`: the provider sends the browser back
/// here with `code` and `state` (or `error` and `state`).
pub async fn callback(
    state: web::Data<AppState>,
    provider: web::Path<String>,
    req: HttpRequest,
) -> HttpResponse {
    let Ok(query) = web::Query::<HashMap<String, String>>::from_query(req.query_string()) else {
        return respond(&SocialError::InvalidQuery);
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
    // A flow the hosted sign-in page started opens a browser session and
    // goes back to the authorization it interrupted.
    if let Some(request) = crate::provider::social::hosted_request(&state, &req, &provider, flow_state) {
        return crate::provider::social::finish(&state, &req, &provider, flow_state, nonce, answer, &request)
            .await;
    }
    let caller = state.caller(NAME, &req);
    let login = state
        .auth
        .social()
        .social_login(&provider, flow_state, nonce, answer, &caller)
        .await;
    crate::metrics::social_login(&provider, &login);
    let mut response = match login {
        Err(SocialLoginError::SecondFactor { challenge, origin }) => {
            // As a success is delivered, with the second step's token in
            // place of the session's: the front end finishes with
            // `POST /api/mfa/verify`, which answers the picsel login.
            let target = match origin {
                FlowOrigin::Browser => &state.oauth_success_redirect,
                FlowOrigin::App => &state.oauth_app_redirect,
            };
            match target {
                Some(target) => HttpResponse::Found()
                    .insert_header((
                        header::LOCATION,
                        second_factor_redirect(target, &challenge, flow_state),
                    ))
                    .finish(),
                None => respond(&SocialError::SecondFactor(challenge)),
            }
        }
        Ok(SocialLogin { login, origin }) => {
            // Only the browser that started a flow (its cookie checked) is
            // sent to the front end with tokens: an application's flow can
            // be finished in anyone's browser (login CSRF), so it goes to the
            // application's own redirect, or is answered as JSON, which no
            // front end adopts by itself.
            let target = match origin {
                FlowOrigin::Browser => &state.oauth_success_redirect,
                FlowOrigin::App => &state.oauth_app_redirect,
            };
            match target {
                Some(target) => HttpResponse::Found()
                    .insert_header((header::LOCATION, success_redirect(target, &login, flow_state)))
                    .finish(),
                None => HttpResponse::Ok().json(login_success(&login)),
            }
        }
        Err(e) => respond(&SocialError::from_callback(&provider, e)),
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

/// `{target}#mfaToken=…&methods=totp,recovery&expiresIn=300&state=…`: a
/// social login of a user with a second factor.
fn second_factor_redirect(
    target: &str,
    challenge: &auth_domain::factors::Challenge,
    flow_state: &str,
) -> String {
    let methods = challenge.methods.join(",");
    let expires = challenge.expires_in.to_string();
    let pairs = [
        ("mfaToken", challenge.mfa_token.as_str()),
        ("methods", methods.as_str()),
        ("expiresIn", expires.as_str()),
        ("state", flow_state),
    ];
    let fragment: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect();
    format!("{target}#{}", fragment.join("&"))
}

/// `{target}#accessToken=…&refreshToken=…&issuedAt=…&tokenType=Bearer&state=…`.
/// The fragment never reaches a server, so the tokens stay in the browser.
/// `state` is the flow's (already spent): an application that started the
/// flow with the `POST` alias (delivered at `AUTH_OAUTH_APP_REDIRECT`)
/// compares it with the `state` of the URL it opened and ignores tokens of
/// a flow it did not start.
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

/// Everything the social part of `picsel` can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SocialError {
    /// Shared failures (429, 503).
    #[error(transparent)]
    Common(#[from] Common),
    /// A user with a second factor: the login's second step is pending.
    #[error("second factor required")]
    SecondFactor(auth_domain::factors::Challenge),
    /// Not a provider, or one that is not configured; the name as echoed.
    #[error("no such provider")]
    NotFound(String),
    /// The callback's query string cannot be read.
    #[error("invalid query")]
    InvalidQuery,
    /// The flow's state is unknown, spent or expired.
    #[error("invalid state")]
    InvalidState,
    /// A browser-bound flow came back without its browser's cookie.
    #[error("browser mismatch")]
    BrowserMismatch,
    /// The callback has neither `code` nor `error`.
    #[error("missing code")]
    MissingCode,
    /// The user declined at the provider.
    #[error("denied")]
    Denied,
    /// The provider reported an error (echoed, bounded).
    #[error("provider error")]
    ProviderError(String),
    /// The provider rejected the code.
    #[error("code rejected")]
    CodeRejected,
    /// The token exchange failed.
    #[error("token exchange failed")]
    TokenExchange,
    /// The user info could not be fetched.
    #[error("user info failed")]
    UserInfo,
    /// The provider gave no email.
    #[error("email missing")]
    EmailMissing,
    /// The provider's email is not verified.
    #[error("email not verified")]
    EmailNotVerified,
    /// The email belongs to an account this identity may not join.
    #[error("email taken")]
    EmailTaken,
    /// The identity's account was disabled by an administrator.
    #[error("account disabled")]
    Disabled,
}

impl SocialError {
    fn from_start(provider: &str, e: SocialStartError) -> Self {
        match e {
            SocialStartError::UnknownProvider | SocialStartError::NotConfigured => {
                Self::NotFound(echo(provider))
            }
            SocialStartError::Internal(e) => Common::Unavailable(e).into(),
        }
    }

    /// The callback's failure; a provider's fault is logged here (as a
    /// warning: the fault is outside this service).
    fn from_callback(provider: &str, e: SocialLoginError) -> Self {
        use SocialLoginError as E;
        match e {
            E::UnknownProvider | E::NotConfigured => Self::NotFound(echo(provider)),
            E::InvalidState => Self::InvalidState,
            E::BrowserMismatch => Self::BrowserMismatch,
            E::MissingCode => Self::MissingCode,
            E::Denied => Self::Denied,
            E::ProviderError(reported) => Self::ProviderError(echo(&reported)),
            E::CodeRejected(cause) => {
                log_provider_failure(provider, &cause);
                Self::CodeRejected
            }
            E::TokenExchange(cause) => {
                log_provider_failure(provider, &cause);
                Self::TokenExchange
            }
            E::UserInfo(cause) => {
                log_provider_failure(provider, &cause);
                Self::UserInfo
            }
            E::EmailMissing => Self::EmailMissing,
            E::EmailNotVerified => Self::EmailNotVerified,
            E::EmailTaken => Self::EmailTaken,
            E::Disabled => Self::Disabled,
            E::SecondFactor { challenge, .. } => Self::SecondFactor(challenge),
            E::Internal(e) => Common::Unavailable(e).into(),
        }
    }
}

impl ContractError for SocialError {
    type Envelope = PicselEnvelope;

    fn reply(&self) -> Reply {
        use crate::contracts::envelope::Envelope;
        let r = |status: StatusCode, code: &'static str, message: &'static str| {
            Reply::new(status, message).code(code)
        };
        match self {
            Self::Common(c) => PicselEnvelope::common(c),
            Self::SecondFactor(c) => Reply::second_factor(c),
            Self::NotFound(provider) => r(
                StatusCode::NOT_FOUND,
                "SOCIAL_PROVIDER_NOT_FOUND",
                "지원하지 않는 소셜 로그인입니다",
            )
            .details(json!({"provider": provider})),
            Self::InvalidQuery => r(
                StatusCode::BAD_REQUEST,
                "INVALID_QUERY",
                "요청 쿼리가 올바르지 않습니다",
            ),
            Self::InvalidState => r(
                StatusCode::BAD_REQUEST,
                "INVALID_OAUTH_STATE",
                "유효하지 않거나 만료된 소셜 로그인 요청입니다. 처음부터 다시 시도해주세요",
            ),
            Self::BrowserMismatch => r(
                StatusCode::BAD_REQUEST,
                "OAUTH_BROWSER_MISMATCH",
                "소셜 로그인을 시작한 브라우저에서 완료해야 합니다. 처음부터 다시 시도해주세요",
            ),
            Self::MissingCode => r(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "code를 입력해주세요")
                .details(json!({"field": "code"})),
            Self::Denied => r(
                StatusCode::UNAUTHORIZED,
                "SOCIAL_LOGIN_DENIED",
                "소셜 로그인이 취소되었습니다",
            )
            .details(json!({"error": "access_denied"})),
            Self::ProviderError(reported) => r(
                StatusCode::BAD_GATEWAY,
                "SOCIAL_PROVIDER_ERROR",
                "소셜 로그인 제공자가 오류를 반환했습니다",
            )
            .details(json!({"error": reported})),
            Self::CodeRejected => r(
                StatusCode::UNAUTHORIZED,
                "SOCIAL_CODE_REJECTED",
                "소셜 로그인 인증 코드가 유효하지 않습니다. 처음부터 다시 시도해주세요",
            ),
            Self::TokenExchange => r(
                StatusCode::BAD_GATEWAY,
                "SOCIAL_TOKEN_EXCHANGE_FAILED",
                "소셜 로그인 제공자에게서 토큰을 받지 못했습니다",
            ),
            Self::UserInfo => r(
                StatusCode::BAD_GATEWAY,
                "SOCIAL_USERINFO_FAILED",
                "소셜 계정 정보를 가져오지 못했습니다",
            ),
            Self::EmailMissing => r(
                StatusCode::FORBIDDEN,
                "SOCIAL_EMAIL_REQUIRED",
                "소셜 계정의 이메일 제공에 동의해야 가입할 수 있습니다",
            ),
            Self::EmailNotVerified => r(
                StatusCode::FORBIDDEN,
                "SOCIAL_EMAIL_NOT_VERIFIED",
                "인증된 이메일이 있는 소셜 계정만 사용할 수 있습니다",
            ),
            Self::Disabled => r(
                StatusCode::FORBIDDEN,
                "ACCOUNT_DISABLED",
                crate::contracts::ACCOUNT_DISABLED,
            ),
            Self::EmailTaken => r(
                StatusCode::CONFLICT,
                "SOCIAL_EMAIL_IN_USE",
                "이미 가입된 이메일입니다. 가입할 때 사용한 방법으로 로그인해주세요",
            ),
        }
    }

    fn outage(&self) -> Option<&PortError> {
        match self {
            Self::Common(Common::Unavailable(e)) => Some(e),
            _ => None,
        }
    }
}

response_error!(SocialError);

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

/// The POST alias's authorization URL.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PicselSocialStartData)]
pub struct StartData {
    /// The provider's authorization page, to open in a browser.
    url: String,
}

/// `{"message": "소셜 로그인 URL 발급 성공", "data": {"url"}}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PicselSocialStartResponse)]
pub struct StartResponse {
    /// `소셜 로그인 URL 발급 성공`.
    message: &'static str,
    /// The URL.
    data: StartData,
}

mod routes;
pub use routes::routes;

#[cfg(test)]
mod tests;
