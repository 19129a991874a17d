//! RP-Initiated Logout 1.0: `GET /oauth2/logout` with `id_token_hint`,
//! `post_logout_redirect_uri` (registered for the client), `state` and
//! `client_id`. With a valid hint the browser's session ends at once;
//! without one the user confirms (`POST /oauth2/logout`, CSRF-checked), so
//! a link on another site cannot sign anyone out.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use auth_domain::oidc::logout::{LogoutError, LogoutPlan};

use super::pages::{Lang, Text, error_page, escape, hidden, message_page, origin_of, page, unavailable_page};
use super::{
    Form, LOGOUT_PATH, base_path, csrf_ok, csrf_token, see_other, sso_clear, sso_cookie, with_query,
};
use crate::state::AppState;

/// The checked plan, or the page refusing the request.
async fn plan_of(state: &AppState, req: &HttpRequest, form: &Form) -> Result<LogoutPlan, HttpResponse> {
    let (lang, base) = (Lang::of(req), base_path(state));
    let checked = state
        .auth
        .provider()
        .check_logout(
            form.get("id_token_hint"),
            form.get("client_id"),
            form.get("post_logout_redirect_uri"),
        )
        .await;
    match checked {
        Ok(Ok(plan)) => Ok(plan),
        Ok(Err(LogoutError::BadHint)) => Err(error_page(lang, &base, Text::BadHint)),
        Ok(Err(LogoutError::UnknownClient)) => Err(error_page(lang, &base, Text::UnknownClient)),
        Ok(Err(LogoutError::BadRedirect)) => Err(error_page(lang, &base, Text::BadLogoutRedirect)),
        Err(e) => {
            tracing::error!(error = %e, "logout: cannot check the request");
            Err(unavailable_page(lang, &base))
        }
    }
}

/// Ends the session and answers: the redirect (with `state`) or the
/// "signed out" page; the cookie is cleared either way.
async fn finish(
    state: &AppState,
    req: &HttpRequest,
    plan: &LogoutPlan,
    client_state: Option<&str>,
) -> HttpResponse {
    let (lang, base) = (Lang::of(req), base_path(state));
    let cookie = sso_cookie(state, req);
    let caller = state.caller("browser", req);
    if let Err(e) = state
        .auth
        .provider()
        .end_session(cookie.as_deref(), plan, &caller)
        .await
    {
        tracing::error!(error = %e, "logout failed");
        return unavailable_page(lang, &base);
    }
    let mut answer = match &plan.redirect {
        Some(uri) => {
            let params: Vec<(&str, &str)> = client_state.map(|s| ("state", s)).into_iter().collect();
            see_other(&with_query(uri, &params))
        }
        None => message_page(
            StatusCode::OK,
            lang,
            &base,
            lang.t(Text::LogoutTitle),
            lang.t(Text::LoggedOut),
        ),
    };
    let _ = answer.add_cookie(&sso_clear(state));
    answer
}

/// `GET /oauth2/logout`.
pub async fn logout(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let (lang, base) = (Lang::of(&req), base_path(&state));
    let Some(form) = Form::parse(req.query_string()) else {
        return message_page(
            StatusCode::BAD_REQUEST,
            lang,
            &base,
            lang.t(Text::ErrorTitle),
            "invalid_request",
        );
    };
    let plan = match plan_of(&state, &req, &form).await {
        Ok(p) => p,
        Err(a) => return a,
    };
    if plan.hint.is_some() {
        return finish(&state, &req, &plan, form.get("state")).await;
    }
    let (csrf, cookie) = csrf_token(&state, &req);
    let carried: String = ["client_id", "post_logout_redirect_uri", "state"]
        .iter()
        .filter_map(|n| form.get(n).map(|v| hidden(n, v)))
        .collect();
    let body = format!(
        "<h1>{title}</h1><p>{ask}</p><form method=\"post\" action=\"{action}\">{csrf}{carried}\
         <button type=\"submit\" id=\"logout\">{title}</button></form>",
        title = lang.t(Text::LogoutTitle),
        ask = lang.t(Text::LogoutAsk),
        action = escape(&format!("{base}{LOGOUT_PATH}")),
        csrf = hidden("csrf", &csrf),
    );
    let targets: Vec<String> = plan.redirect.as_deref().and_then(origin_of).into_iter().collect();
    let mut answer = page(
        StatusCode::OK,
        lang,
        &base,
        lang.t(Text::LogoutTitle),
        &body,
        &targets,
    );
    if let Some(cookie) = cookie {
        let _ = answer.add_cookie(&cookie);
    }
    answer
}

/// `POST /oauth2/logout`: the confirmation.
pub async fn logout_confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let (lang, base) = (Lang::of(&req), base_path(&state));
    let form = match super::token::client_form(&state, &req, payload).await {
        Ok(f) => f,
        Err(_) => {
            return message_page(
                StatusCode::BAD_REQUEST,
                lang,
                &base,
                lang.t(Text::ErrorTitle),
                "invalid_request",
            );
        }
    };
    if !csrf_ok(&state, &req, &form) {
        return message_page(
            StatusCode::FORBIDDEN,
            lang,
            &base,
            lang.t(Text::ErrorTitle),
            lang.t(Text::Expired),
        );
    }
    let plan = match plan_of(&state, &req, &form).await {
        Ok(p) => p,
        Err(a) => return a,
    };
    finish(&state, &req, &plan, form.get("state")).await
}
