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

/// The second-step form of a pending step `mfa_token`.
pub fn form(
    state: &AppState,
    req: &HttpRequest,
    request: &AuthorizeRequest,
    raw: &str,
    status: StatusCode,
    problem: Option<Text>,
    mfa_token: &str,
) -> HttpResponse {
    let (lang, base) = (Lang::of(req), base_path(state));
    let (csrf, cookie) = csrf_token(state, req);
    let error = problem.map_or(String::new(), |p| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", lang.t(p))
    });
    let body = format!(
        "<h1>{title}</h1>{error}<p>{hint}</p><form method=\"post\" action=\"{action}\">{csrf}{request}{token}\
         <label for=\"code\">{code_label}</label>\
         <input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required autofocus>\
         <button type=\"submit\" id=\"verify\">{verify}</button></form>",
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

/// `POST /login` with `mfa_token` and `code` (the CSRF field was checked).
pub async fn finish(
    state: &AppState,
    req: &HttpRequest,
    request: &AuthorizeRequest,
    raw: &str,
    mfa_token: &str,
    code: &str,
) -> HttpResponse {
    let proof = match normalize_code(code) {
        Some(code) => Proof::Totp(code),
        None => Proof::Recovery(code.to_owned()),
    };
    let method = proof.method();
    let caller = state.caller("browser", req);
    let verified = state.auth.factors().verify(mfa_token, proof, true, &caller).await;
    crate::metrics::second_factor(method, &verified);
    let login = match verified {
        Ok(v) => v.login,
        Err(e) => {
            let again = |status, text| form(state, req, request, raw, status, Some(text), mfa_token);
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
                _ => super::authorize::login_again(state, req, request, raw),
            };
        }
    };
    match state.auth.provider().adopt(login).await {
        Ok((cookie, browser)) => {
            let mut answer = proceed(state, req, request, raw, Some(browser), true).await;
            let _ = answer.add_cookie(&sso_set(state, cookie));
            answer
        }
        Err(e) => {
            tracing::error!(error = %e, "hosted second step: cannot read the new session");
            super::pages::unavailable_page(Lang::of(req), &base_path(state))
        }
    }
}
