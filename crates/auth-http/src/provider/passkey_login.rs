//! Passwordless passkey sign-in on the hosted sign-in page: the
//! "Sign in with a passkey" button of `/login` (shown when passkeys are on)
//! and `POST /login/passkey`, which its script (`/assets/passkey.js`)
//! submits with the assertion. The same use case as
//! `POST /api/passkeys/login/finish` opens the session, here the browser's
//! single-sign-on session; only the rendering differs.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use auth_domain::factors::StepError;
use auth_domain::oidc::provider::BROWSER;

use super::authorize::{body_form, carried, login_form, proceed};
use super::pages::{Lang, PASSKEY_JS_PATH, Text, escape, hidden};
use super::{csrf_ok, sso_set};
use crate::state::AppState;

/// `POST /login/passkey`.
pub const PASSKEY_LOGIN_PATH: &str = "/login/passkey";
/// Where the button's script gets the ceremony's options: the contracts'
/// own start (`PublicKeyCredentialRequestOptions` for any discoverable
/// credential).
const START_PATH: &str = "/api/passkeys/login/start";

/// The sign-in page's passkey form, or nothing when passkeys are off. The
/// button stays hidden until the script finds WebAuthn in the browser; the
/// form carries the page's CSRF token and authorization request, and the
/// script fills `credential`.
pub(super) fn offer(state: &AppState, lang: Lang, base: &str, csrf: &str, raw: &str) -> String {
    if !state.auth.factors().passkeys_available() {
        return String::new();
    }
    format!(
        "<form method=\"post\" action=\"{action}\" id=\"passkey-login-form\">{csrf}{request}\
         <input type=\"hidden\" name=\"credential\" value=\"\">\
         <button type=\"button\" id=\"passkey-login\" class=\"secondary\" data-start=\"{start}\" hidden>{label}</button>\
         </form><script src=\"{script}\" defer></script>",
        action = escape(&format!("{base}{PASSKEY_LOGIN_PATH}")),
        csrf = hidden("csrf", csrf),
        request = hidden("request", raw),
        start = escape(&format!("{base}{START_PATH}")),
        label = lang.t(Text::PasskeySignIn),
        script = escape(&format!("{base}{PASSKEY_JS_PATH}")),
    )
}

/// `POST /login/passkey` `credential` (the assertion's JSON, empty when
/// the browser gave none), `csrf`, `request`. Success sets the
/// single-sign-on cookie and continues the authorization request as a
/// password sign-in does; a failure is the sign-in page again with its
/// message (4xx; 503 for an outage). Counted against the per-IP rate limit
/// as the contracts' passkey sign-in is.
pub async fn sign_in(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let form = match body_form(&state, &req, payload).await {
        Ok(f) => f,
        Err(a) => return a,
    };
    let (request, raw) = match carried(&state, &req, &form).await {
        Ok(r) => r,
        Err(a) => return a,
    };
    let again = |status, text| login_form(&state, &req, &request, &raw, status, Some(text), None);
    if state.rate_limit(&req).await.is_err() {
        return again(StatusCode::TOO_MANY_REQUESTS, Text::Throttled);
    }
    if !csrf_ok(&state, &req, &form) {
        return again(StatusCode::FORBIDDEN, Text::Expired);
    }
    // Cancelled, or no passkey in the browser: nothing to check.
    let Some(credential) = form.get("credential").filter(|c| !c.trim().is_empty()) else {
        return again(StatusCode::BAD_REQUEST, Text::PasskeySignInFailed);
    };
    let caller = state.caller(BROWSER, &req);
    let signed = state
        .auth
        .factors()
        .finish_passkey_login(credential, BROWSER, &caller)
        .await;
    crate::metrics::second_factor("passkey_login", &signed);
    let login = match signed {
        Ok(login) => login,
        Err(e) => {
            let (status, text) = refusal(&e);
            if let StepError::Internal(e) = e {
                tracing::error!(error = %e, "hosted passkey sign-in failed");
            }
            return again(status, text);
        }
    };
    match state.auth.provider().adopt(login).await {
        Ok((cookie, browser)) => {
            let mut answer = proceed(&state, &req, &request, &raw, Some(browser), true).await;
            let _ = answer.add_cookie(&sso_set(&state, cookie));
            if super::second_step::pending_step(&state, &req).is_some() {
                let _ = answer.add_cookie(&super::second_step::step_cookie(&state, None));
            }
            answer
        }
        Err(e) => {
            tracing::error!(error = %e, "hosted passkey sign-in: cannot read the new session");
            again(StatusCode::SERVICE_UNAVAILABLE, Text::Unavailable)
        }
    }
}

/// The status and message of a refused passkey sign-in, as the contracts'
/// endpoint answers it (400 a malformed credential or a dead ceremony, 401
/// a refused assertion, 403 a disabled account, 429, 503).
fn refusal(e: &StepError) -> (StatusCode, Text) {
    match e {
        StepError::Wrong | StepError::InvalidToken => (StatusCode::UNAUTHORIZED, Text::PasskeyRefused),
        StepError::UnknownCeremony => (StatusCode::BAD_REQUEST, Text::Expired),
        StepError::MalformedCredential | StepError::MalformedCode | StepError::MethodUnavailable => {
            (StatusCode::BAD_REQUEST, Text::PasskeySignInFailed)
        }
        StepError::Disabled => (StatusCode::FORBIDDEN, Text::Disabled),
        StepError::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, Text::Throttled),
        StepError::Internal(_) => (StatusCode::SERVICE_UNAVAILABLE, Text::Unavailable),
    }
}
