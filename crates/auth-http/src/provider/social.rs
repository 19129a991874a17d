//! Social sign-in on the hosted page: `GET /login/social/{provider}?<the
//! authorization request>` starts a browser-bound flow of the `picsel`
//! contract's social login (the provider sends the browser back to that
//! contract's callback, the one URL registered with it), and remembers the
//! interrupted authorization in a cookie bound to the flow's `state`. The
//! callback ([`crate::contracts::picsel_social::callback`]) hands such a
//! flow to [`finish`]: it opens a browser session, sets the single-sign-on
//! cookie and sends the browser back to `/oauth2/authorize`.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::Digest;

use auth_domain::oidc::provider::BROWSER_SOCIAL;
use auth_domain::social::login::{FlowOrigin, ProviderAnswer, SocialLogin, SocialLoginError, SocialStart};

use super::authorize::{Checked, check, form_of};
use super::pages::{Lang, Text, message_page, unavailable_page};
use super::{AUTHORIZE_PATH, Form, LOGIN_PATH, base_path, sso_set};
use crate::contracts::picsel_social::browser_cookie;
use crate::state::AppState;

/// The cookie carrying the interrupted authorization request to the
/// callback: `<base64url of the first 16 bytes of SHA-256(state)>.<base64url(request)>`,
/// scoped to the provider's callback path, `HttpOnly`, `SameSite=Lax`.
pub const HOSTED_COOKIE: &str = "auth_hosted_flow";

fn state_tag(flow_state: &str) -> String {
    URL_SAFE_NO_PAD.encode(&sha2::Sha256::digest(flow_state.as_bytes())[..16])
}

fn hosted_cookie(state: &AppState, provider: &str, value: String) -> Cookie<'static> {
    Cookie::build(HOSTED_COOKIE, value)
        .path(state.oauth_cookie.callback_path(provider))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.oauth_cookie.secure)
        .finish()
}

/// `GET /login/social/{provider}?<authorization request>`.
pub async fn start(
    state: web::Data<AppState>,
    req: HttpRequest,
    provider: web::Path<String>,
) -> HttpResponse {
    let (lang, base) = (Lang::of(&req), base_path(&state));
    let raw = req.query_string().to_owned();
    let form = match form_of(&state, &req, &raw) {
        Ok(f) => f,
        Err(a) => return a,
    };
    if let Checked::Answer(a) = check(&state, &req, &form).await {
        return a;
    }
    if !state
        .hosted_social
        .iter()
        .any(|p| p.as_str() == provider.as_str())
    {
        return message_page(
            StatusCode::NOT_FOUND,
            lang,
            &base,
            lang.t(Text::ErrorTitle),
            "unknown provider",
        );
    }
    let started = state
        .auth
        .social()
        .start_social_login(&provider, FlowOrigin::Browser)
        .await;
    let (url, nonce, expires_at) = match started {
        Ok(SocialStart {
            url,
            browser: Some(nonce),
            expires_at,
        }) => (url, nonce, expires_at),
        Ok(_) => return unavailable_page(lang, &base),
        Err(e) => {
            tracing::error!(error = %e, provider = %provider, "hosted social sign-in cannot start");
            return unavailable_page(lang, &base);
        }
    };
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let Some(flow_state) = Form::parse(query).and_then(|f| f.get("state").map(str::to_owned)) else {
        return unavailable_page(lang, &base);
    };
    let lifetime = ((expires_at - chrono::Utc::now()).num_milliseconds() + 999).max(1000) / 1000;
    let max_age = actix_web::cookie::time::Duration::seconds(lifetime);
    let mut nonce_cookie = browser_cookie(&state.oauth_cookie, &provider, nonce.expose().to_owned());
    nonce_cookie.set_max_age(max_age);
    let mut request_cookie = hosted_cookie(
        &state,
        &provider,
        format!(
            "{}.{}",
            state_tag(&flow_state),
            URL_SAFE_NO_PAD.encode(raw.as_bytes())
        ),
    );
    request_cookie.set_max_age(max_age);
    HttpResponse::Found()
        .insert_header((header::LOCATION, url))
        .insert_header((header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .cookie(nonce_cookie)
        .cookie(request_cookie)
        .finish()
}

/// The authorization request of a hosted flow coming back to the
/// callback: only when its cookie names this flow's `state`.
pub fn hosted_request(
    state: &AppState,
    req: &HttpRequest,
    provider: &str,
    flow_state: &str,
) -> Option<String> {
    if flow_state.is_empty() || !state.hosted_social.iter().any(|p| p.as_str() == provider) {
        return None;
    }
    let cookie = req.cookie(HOSTED_COOKIE)?;
    let (tag, encoded) = cookie.value().split_once('.')?;
    if tag != state_tag(flow_state) {
        return None;
    }
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(encoded).ok()?).ok()?;
    Form::parse(&raw).map(|_| raw)
}

/// `request` without `prompt=login`: the user has just signed in.
fn signed_in_request(raw: &str) -> String {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw).unwrap_or_default();
    let kept: Vec<(String, String)> = pairs
        .into_iter()
        .filter_map(|(k, v)| {
            if k != "prompt" {
                return Some((k, v));
            }
            let rest: Vec<&str> = v.split(' ').filter(|p| !p.is_empty() && *p != "login").collect();
            (!rest.is_empty()).then(|| (k, rest.join(" ")))
        })
        .collect();
    serde_urlencoded::to_string(kept).unwrap_or_default()
}

/// Finishes a hosted flow at the callback: a browser session (the same
/// linking rules, disabled-account rule and audit as the contract's social
/// login), the single-sign-on cookie, and back to `/oauth2/authorize`; a
/// failure goes back to the sign-in page.
pub async fn finish(
    state: &AppState,
    req: &HttpRequest,
    provider: &str,
    flow_state: &str,
    nonce: Option<&str>,
    answer: ProviderAnswer,
    request: &str,
) -> HttpResponse {
    let caller = state.caller(BROWSER_SOCIAL, req);
    let login = state
        .auth
        .social()
        .social_login(provider, flow_state, nonce, answer, &caller)
        .await;
    crate::metrics::social_login(provider, &login);
    let base = base_path(state);
    // 302, as every answer of the contract's callback that redirects.
    let found = |location: &str| {
        HttpResponse::Found()
            .insert_header((header::LOCATION, location))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish()
    };
    let mut response = match login {
        Ok(SocialLogin { login, .. }) => {
            let mut r = found(&format!("{base}{AUTHORIZE_PATH}?{}", signed_in_request(request)));
            let _ = r.add_cookie(&sso_set(state, login.tokens.refresh.token));
            r
        }
        // A user with a second factor: the sign-in page shows the code
        // step, the pending step's token in a cookie (never in a URL).
        Err(SocialLoginError::SecondFactor { challenge, .. }) => {
            let mut r = found(&format!("{base}{LOGIN_PATH}?{request}"));
            let _ = r.add_cookie(&super::second_step::step_cookie(
                state,
                Some(&challenge.mfa_token),
            ));
            r
        }
        Err(e) => {
            tracing::info!(error = %e, provider, "hosted social sign-in failed");
            found(&format!("{base}{LOGIN_PATH}?{request}"))
        }
    };
    response
        .headers_mut()
        .insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    let _ = response.add_removal_cookie(&hosted_cookie(state, provider, String::new()));
    let _ = response.add_removal_cookie(&browser_cookie(&state.oauth_cookie, provider, String::new()));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_sign_in_drops_only_prompt_login() {
        assert_eq!(signed_in_request("a=1&prompt=login&b=2"), "a=1&b=2");
        assert_eq!(
            signed_in_request("prompt=login+consent&x=y"),
            "prompt=consent&x=y"
        );
        assert_eq!(signed_in_request("prompt=consent"), "prompt=consent");
    }
}
