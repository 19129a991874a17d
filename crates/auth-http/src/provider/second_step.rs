//! The hosted sign-in's second step: after the right password of a user
//! with a second factor, a form with a `code` field (a TOTP code or a
//! recovery code) that carries the step's `mfa_token`; the same use case
//! as `POST /api/mfa/verify`, finishing only the hosted page's own steps.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

use auth_domain::factors::totp::normalize_code;
use auth_domain::factors::{Proof, StepError};
use auth_domain::oidc::flow::AuthorizeRequest;

use super::authorize::proceed;
use super::pages::{Lang, Text, escape, hidden, origin_of, page};
use super::{LOGIN_PATH, base_path, csrf_token, sso_set};
use crate::state::AppState;

/// The name of the cookie that carries a hosted social sign-in's pending
/// step from the provider's callback to the sign-in page (`__Host-` over
/// https): the token never goes into a URL.
pub fn step_cookie_name(state: &AppState) -> &'static str {
    if state.oauth_cookie.secure {
        "__Host-auth_mfa_step"
    } else {
        "auth_mfa_step"
    }
}

/// The pending step's cookie: `HttpOnly`, `SameSite=Lax` (it is set on the
/// way back from the provider), `Path=/`, for the step's 5 minutes; or,
/// with `None`, its removal.
pub fn step_cookie(state: &AppState, token: Option<&str>) -> actix_web::cookie::Cookie<'static> {
    let mut cookie =
        actix_web::cookie::Cookie::build(step_cookie_name(state), token.unwrap_or("").to_owned())
            .path("/")
            .http_only(true)
            .same_site(actix_web::cookie::SameSite::Lax)
            .secure(state.oauth_cookie.secure)
            .max_age(actix_web::cookie::time::Duration::seconds(
                auth_domain::factors::CHALLENGE_TTL_SECONDS,
            ))
            .finish();
    if token.is_none() {
        cookie.make_removal();
    }
    cookie
}

/// Whether the user of a pending step has a passkey (the button is shown).
pub async fn has_passkey(state: &AppState, mfa_token: &str) -> bool {
    state
        .auth
        .factors()
        .pending_methods(mfa_token)
        .await
        .contains(&"webauthn")
}

/// The pending step a hosted social sign-in left in the browser, if any.
pub fn pending_step(state: &AppState, req: &HttpRequest) -> Option<String> {
    req.cookie(step_cookie_name(state))
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// The second-step form of a pending step `mfa_token`, with the passkey
/// button when `passkey` (the user has one).
#[allow(clippy::too_many_arguments)]
pub fn form(
    state: &AppState,
    req: &HttpRequest,
    request: &AuthorizeRequest,
    raw: &str,
    status: StatusCode,
    problem: Option<Text>,
    mfa_token: &str,
    passkey: bool,
) -> HttpResponse {
    let (lang, base) = (Lang::of(req), base_path(state));
    let (csrf, cookie) = csrf_token(state, req);
    let error = problem.map_or(String::new(), |p| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", lang.t(p))
    });
    // Hidden until the script finds WebAuthn in the browser.
    let passkey_button = if passkey {
        format!(
            "<button type=\"button\" id=\"passkey\" data-challenge=\"{challenge}\" hidden>{label}</button>\
             <p class=\"error\" role=\"alert\" id=\"passkey-error\" hidden>{failed}</p>\
             <script src=\"{script}\" defer></script>",
            challenge = escape(&format!("{base}/api/mfa/webauthn/challenge")),
            label = lang.t(Text::UsePasskey),
            failed = lang.t(Text::PasskeyFailed),
            script = escape(&format!("{base}{}", super::pages::PASSKEY_JS_PATH)),
        )
    } else {
        String::new()
    };
    let body = format!(
        "<h1>{title}</h1>{error}<p>{hint}</p><form method=\"post\" action=\"{action}\">{csrf}{request}{token}\
         <input type=\"hidden\" name=\"credential\" value=\"\">\
         <label for=\"code\">{code_label}</label>\
         <input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required autofocus>\
         <button type=\"submit\" id=\"verify\">{verify}</button>{passkey_button}</form>",
        title = lang.t(Text::SecondStepTitle),
        hint = lang.t(Text::SecondStepHint),
        action = escape(&format!("{base}{LOGIN_PATH}")),
        csrf = hidden("csrf", &csrf),
        request = hidden("request", raw),
        token = hidden("mfa_token", mfa_token),
        code_label = lang.t(Text::Code),
        verify = lang.t(Text::Verify),
    );
    let targets: Vec<String> = origin_of(&request.redirect_uri).into_iter().collect();
    let mut answer = page(
        status,
        lang,
        &base,
        lang.t(Text::SecondStepTitle),
        &body,
        &targets,
    );
    if let Some(cookie) = cookie {
        let _ = answer.add_cookie(&cookie);
    }
    answer
}

/// `POST /login` with `mfa_token` and `code`, or `credential` (a passkey
/// assertion, from the button's script); the CSRF field was checked.
pub async fn finish(
    state: &AppState,
    req: &HttpRequest,
    request: &AuthorizeRequest,
    raw: &str,
    mfa_token: &str,
    code: &str,
    credential: &str,
) -> HttpResponse {
    let proof = if !credential.trim().is_empty() {
        Proof::Passkey(credential.to_owned())
    } else {
        match normalize_code(code) {
            Some(code) => Proof::Totp(code),
            None => Proof::Recovery(code.to_owned()),
        }
    };
    let (method, by_passkey) = (proof.method(), matches!(proof, Proof::Passkey(_)));
    let caller = state.caller("browser", req);
    let verified = state.auth.factors().verify(mfa_token, proof, true, &caller).await;
    crate::metrics::second_factor(method, &verified);
    let login = match verified {
        Ok(v) => v.login,
        Err(e) => {
            // Only a form shown again needs to know whether to offer the
            // passkey button (not the success path).
            let passkey = by_passkey || has_passkey(state, mfa_token).await;
            let again = |status, text| form(state, req, request, raw, status, Some(text), mfa_token, passkey);
            return match e {
                StepError::Wrong | StepError::MalformedCode | StepError::MethodUnavailable => {
                    again(StatusCode::UNAUTHORIZED, Text::WrongCode)
                }
                StepError::Throttled { .. } => again(StatusCode::TOO_MANY_REQUESTS, Text::Throttled),
                StepError::Disabled => again(StatusCode::FORBIDDEN, Text::Disabled),
                StepError::Internal(e) => {
                    tracing::error!(error = %e, "hosted second step failed");
                    again(StatusCode::SERVICE_UNAVAILABLE, Text::Unavailable)
                }
                // The step is over (spent, expired, out of attempts): sign
                // in again.
                _ => {
                    let mut answer = super::authorize::login_again(state, req, request, raw);
                    let _ = answer.add_cookie(&step_cookie(state, None));
                    answer
                }
            };
        }
    };
    match state.auth.provider().adopt(login).await {
        Ok((cookie, browser)) => {
            let mut answer = proceed(state, req, request, raw, Some(browser), true).await;
            let _ = answer.add_cookie(&sso_set(state, cookie));
            if pending_step(state, req).is_some() {
                let _ = answer.add_cookie(&step_cookie(state, None));
            }
            answer
        }
        Err(e) => {
            tracing::error!(error = %e, "hosted second step: cannot read the new session");
            super::pages::unavailable_page(Lang::of(req), &base_path(state))
        }
    }
}
