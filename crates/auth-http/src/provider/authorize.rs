//! The browser's side of the code flow: `GET /oauth2/authorize`, the
//! sign-in page (`GET|POST /login`), the consent page (`GET|POST
//! /consent`) and the password-reset page (`GET|POST /password-reset`).
//!
//! The pages carry the authorization request as a hidden field (`request`,
//! the original query string) and check it again on every step: nothing
//! about a request is kept on the server until its code is issued.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use auth_domain::identity::login::LoginError;
use auth_domain::oidc::flow::{AuthorizeRequest, BrowserSession, Next, PageError};
use auth_domain::verification::CodePurpose;
use auth_domain::verification::codes::AccountRef;

use super::pages::{Lang, Text, error_page, escape, hidden, message_page, origin_of, page, unavailable_page};
use super::{
    CONSENT_PATH, Form, LOGIN_PATH, RESET_PATH, base_path, csrf_ok, csrf_token, redirect_error, see_other,
    sso_cookie, sso_set, with_query,
};
use crate::body::read_bytes;
use crate::state::AppState;

/// What checking a request gave: the request, or the answer to give.
pub(super) enum Checked {
    Request(Box<AuthorizeRequest>),
    Answer(HttpResponse),
}

/// Checks the request in `form` (client, redirect URI, then the rest).
pub(super) async fn check(state: &AppState, req: &HttpRequest, form: &Form) -> Checked {
    let (lang, base) = (Lang::of(req), base_path(state));
    let provider = state.auth.provider();
    let params = form.authorize_params();
    let (client, redirect_uri) = match provider.authorize_target(&params).await {
        Ok(Ok(target)) => target,
        Ok(Err(PageError::UnknownClient)) => {
            return Checked::Answer(error_page(lang, &base, Text::UnknownClient));
        }
        Ok(Err(PageError::BadRedirect)) => {
            return Checked::Answer(error_page(lang, &base, Text::BadRedirect));
        }
        Err(e) => {
            tracing::error!(error = %e, "authorize: cannot read the client");
            return Checked::Answer(unavailable_page(lang, &base));
        }
    };
    match provider.check_authorize(client, redirect_uri.clone(), &params) {
        Ok(request) => Checked::Request(Box::new(request)),
        Err(e) => Checked::Answer(redirect_error(state, &redirect_uri, &e, params.state.as_deref())),
    }
}

/// Parses a query string or form body; a repeated name is refused.
pub(super) fn form_of(state: &AppState, req: &HttpRequest, raw: &str) -> Result<Form, HttpResponse> {
    Form::parse(raw).ok_or_else(|| {
        let (lang, base) = (Lang::of(req), base_path(state));
        message_page(
            StatusCode::BAD_REQUEST,
            lang,
            &base,
            lang.t(Text::ErrorTitle),
            "invalid_request: malformed or repeated parameters",
        )
    })
}

/// `GET /oauth2/authorize`.
pub async fn authorize(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let raw = req.query_string().to_owned();
    let form = match form_of(&state, &req, &raw) {
        Ok(f) => f,
        Err(answer) => return answer,
    };
    let request = match check(&state, &req, &form).await {
        Checked::Request(r) => r,
        Checked::Answer(a) => return a,
    };
    let browser = match sso_cookie(&state, &req) {
        Some(cookie) => match state.auth.provider().browser_session(&cookie).await {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "authorize: cannot read the browser session");
                return unavailable_page(Lang::of(&req), &base_path(&state));
            }
        },
        None => None,
    };
    proceed(&state, &req, &request, &raw, browser, false).await
}

/// The step after a checked request: sign in, consent, or the code.
pub(super) async fn proceed(
    state: &AppState,
    req: &HttpRequest,
    request: &AuthorizeRequest,
    raw: &str,
    browser: Option<BrowserSession>,
    just_signed_in: bool,
) -> HttpResponse {
    let base = base_path(state);
    let provider = state.auth.provider();
    match provider.next_step(request, browser, just_signed_in).await {
        Ok(Ok(Next::SignIn)) => see_other(&format!("{base}{LOGIN_PATH}?{raw}")),
        Ok(Ok(Next::Consent(_))) => see_other(&format!("{base}{CONSENT_PATH}?{raw}")),
        Ok(Ok(Next::Code(browser))) => send_code(state, req, request, &browser).await,
        Ok(Err(e)) => redirect_error(state, &request.redirect_uri, &e, request.state.as_deref()),
        Err(e) => {
            tracing::error!(error = %e, "authorize failed");
            unavailable_page(Lang::of(req), &base)
        }
    }
}

/// Issues the code and sends the browser back with `code`, `state`, `iss`.
async fn send_code(
    state: &AppState,
    req: &HttpRequest,
    request: &AuthorizeRequest,
    browser: &BrowserSession,
) -> HttpResponse {
    let provider = state.auth.provider();
    match provider.issue_code(request, browser).await {
        Ok(code) => {
            let mut params = vec![("code", code.as_str())];
            if let Some(s) = &request.state {
                params.push(("state", s));
            }
            params.push(("iss", provider.issuer_url()));
            see_other(&with_query(&request.redirect_uri, &params))
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot issue an authorization code");
            unavailable_page(Lang::of(req), &base_path(state))
        }
    }
}

/// The sign-in page for `request` (whose query is `raw`), with an error
/// line when `problem` is given.
pub(super) fn login_form(
    state: &AppState,
    req: &HttpRequest,
    request: &AuthorizeRequest,
    raw: &str,
    status: StatusCode,
    problem: Option<Text>,
    username: Option<&str>,
) -> HttpResponse {
    let (lang, base) = (Lang::of(req), base_path(state));
    let (csrf, cookie) = csrf_token(state, req);
    let heading = match lang {
        Lang::Ko => format!("{}{}", escape(&request.client.name), lang.t(Text::SignInTo)),
        Lang::En => format!("{}{}", lang.t(Text::SignInTo), escape(&request.client.name)),
    };
    let username = username.or(request.login_hint.as_deref()).unwrap_or("");
    let error = problem.map_or(String::new(), |p| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", lang.t(p))
    });
    let social: String = state
        .hosted_social
        .iter()
        .map(|provider| {
            let (id, label) = (provider.as_str(), provider_label(*provider));
            let text = match lang {
                Lang::Ko => format!("{label}{}", lang.t(Text::WithProvider)),
                Lang::En => format!("{}{label}", lang.t(Text::WithProvider)),
            };
            let link = format!("{base}/login/social/{id}?{raw}");
            format!(
                "<a href=\"{}\" id=\"social-{id}\">{}</a>",
                escape(&link),
                escape(&text)
            )
        })
        .collect();
    let body = format!(
        "<h1>{heading}</h1>{error}<form method=\"post\" action=\"{action}\">{csrf}{request}\
         <label for=\"username\">{user_label}</label>\
         <input type=\"text\" id=\"username\" name=\"username\" value=\"{username}\" autocomplete=\"username\" required autofocus>\
         <label for=\"password\">{pw_label}</label>\
         <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\" id=\"submit\">{submit}</button></form>{passkey}\
         <div class=\"social\">{social}</div>\
         <p class=\"links\"><a href=\"{reset}\" id=\"forgot\">{forgot}</a></p>",
        action = escape(&format!("{base}{LOGIN_PATH}")),
        csrf = hidden("csrf", &csrf),
        request = hidden("request", raw),
        user_label = lang.t(Text::Username),
        username = escape(username),
        pw_label = lang.t(Text::Password),
        submit = lang.t(Text::SignIn),
        passkey = super::passkey_login::offer(state, lang, &base, &csrf, raw),
        reset = escape(&format!("{base}{RESET_PATH}?{raw}")),
        forgot = lang.t(Text::ForgotPassword),
    );
    let targets: Vec<String> = origin_of(&request.redirect_uri).into_iter().collect();
    let mut answer = page(status, lang, &base, lang.t(Text::SignIn), &body, &targets);
    if let Some(cookie) = cookie {
        let _ = answer.add_cookie(&cookie);
    }
    answer
}

/// The sign-in form again after a second step that is over (spent,
/// expired, out of attempts): the user signs in anew.
pub(super) fn login_again(
    state: &AppState,
    req: &HttpRequest,
    request: &AuthorizeRequest,
    raw: &str,
) -> HttpResponse {
    login_form(
        state,
        req,
        request,
        raw,
        StatusCode::UNAUTHORIZED,
        Some(Text::Expired),
        None,
    )
}

/// A provider's name as the button shows it.
fn provider_label(provider: auth_domain::social::Provider) -> &'static str {
    use auth_domain::social::Provider as P;
    match provider {
        P::Google => "Google",
        P::Kakao => "Kakao",
        P::Naver => "Naver",
    }
}

/// `GET /login?<authorization request>`: the sign-in form.
pub async fn login_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let raw = req.query_string().to_owned();
    let form = match form_of(&state, &req, &raw) {
        Ok(f) => f,
        Err(answer) => return answer,
    };
    match check(&state, &req, &form).await {
        // A hosted social sign-in of a user with a second factor came back
        // here with its pending step: the code step, not the password.
        Checked::Request(request) => match super::second_step::pending_step(&state, &req) {
            Some(token) => {
                let passkey = super::second_step::has_passkey(&state, &token).await;
                super::second_step::form(
                    &state,
                    &req,
                    &request,
                    &raw,
                    StatusCode::OK,
                    None,
                    &token,
                    passkey,
                )
            }
            None => login_form(&state, &req, &request, &raw, StatusCode::OK, None, None),
        },
        Checked::Answer(a) => a,
    }
}

/// Reads a form body (`application/x-www-form-urlencoded`).
pub(super) async fn body_form(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<Form, HttpResponse> {
    let bytes = read_bytes(payload, state.max_body_bytes).await.map_err(|_| {
        let (lang, base) = (Lang::of(req), base_path(state));
        message_page(
            StatusCode::BAD_REQUEST,
            lang,
            &base,
            lang.t(Text::ErrorTitle),
            "invalid_request",
        )
    })?;
    form_of(state, req, std::str::from_utf8(&bytes).unwrap_or("\u{0}"))
}

/// The authorization request a page's form carried (`request`).
pub(super) async fn carried(
    state: &AppState,
    req: &HttpRequest,
    form: &Form,
) -> Result<(Box<AuthorizeRequest>, String), HttpResponse> {
    let raw = form.get("request").unwrap_or("").to_owned();
    let inner = form_of(state, req, &raw)?;
    match check(state, req, &inner).await {
        Checked::Request(r) => Ok((r, raw)),
        Checked::Answer(a) => Err(a),
    }
}

/// `POST /login` `username`, `password`, `csrf`, `request`.
pub async fn login(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let form = match body_form(&state, &req, payload).await {
        Ok(f) => f,
        Err(a) => return a,
    };
    let (request, raw) = match carried(&state, &req, &form).await {
        Ok(r) => r,
        Err(a) => return a,
    };
    let username = form.get("username").unwrap_or("").trim().to_owned();
    if !csrf_ok(&state, &req, &form) {
        return login_form(
            &state,
            &req,
            &request,
            &raw,
            StatusCode::FORBIDDEN,
            Some(Text::Expired),
            Some(&username),
        );
    }
    if let Some(token) = form.get("mfa_token") {
        return super::second_step::finish(
            &state,
            &req,
            &request,
            &raw,
            token,
            form.get("code").unwrap_or(""),
            form.get("credential").unwrap_or(""),
        )
        .await;
    }
    let password = form.get("password").unwrap_or("");
    let caller = state.caller("browser", &req);
    let signed = state.auth.provider().sign_in(&username, password, &caller).await;
    let (cookie, browser) = match signed {
        Ok(s) => s,
        Err(e) => {
            let (status, text) = match e {
                LoginError::UnknownUser | LoginError::WrongPassword => {
                    (StatusCode::UNAUTHORIZED, Text::BadCredentials)
                }
                LoginError::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, Text::Throttled),
                LoginError::Disabled => (StatusCode::FORBIDDEN, Text::Disabled),
                LoginError::SecondFactor(challenge) => {
                    return super::second_step::form(
                        &state,
                        &req,
                        &request,
                        &raw,
                        StatusCode::OK,
                        None,
                        &challenge.mfa_token,
                        challenge.methods.contains(&"webauthn"),
                    );
                }
                LoginError::Internal(e) => {
                    tracing::error!(error = %e, "hosted sign-in failed");
                    (StatusCode::SERVICE_UNAVAILABLE, Text::Unavailable)
                }
            };
            return login_form(&state, &req, &request, &raw, status, Some(text), Some(&username));
        }
    };
    let mut answer = proceed(&state, &req, &request, &raw, Some(browser), true).await;
    let _ = answer.add_cookie(&sso_set(&state, cookie));
    answer
}

/// The browser session, or the answer sending it to sign in.
async fn signed_in(state: &AppState, req: &HttpRequest, raw: &str) -> Result<BrowserSession, HttpResponse> {
    let base = base_path(state);
    let Some(cookie) = sso_cookie(state, req) else {
        return Err(see_other(&format!("{base}{LOGIN_PATH}?{raw}")));
    };
    match state.auth.provider().browser_session(&cookie).await {
        Ok(Some(b)) => Ok(b),
        Ok(None) => Err(see_other(&format!("{base}{LOGIN_PATH}?{raw}"))),
        Err(e) => {
            tracing::error!(error = %e, "consent: cannot read the browser session");
            Err(unavailable_page(Lang::of(req), &base))
        }
    }
}

/// `GET /consent?<authorization request>`: what the client asks for, with
/// `consent=allow` and `consent=deny` buttons.
pub async fn consent_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let raw = req.query_string().to_owned();
    let form = match form_of(&state, &req, &raw) {
        Ok(f) => f,
        Err(a) => return a,
    };
    let request = match check(&state, &req, &form).await {
        Checked::Request(r) => r,
        Checked::Answer(a) => return a,
    };
    if let Err(a) = signed_in(&state, &req, &raw).await {
        return a;
    }
    let (lang, base) = (Lang::of(&req), base_path(&state));
    let (csrf, cookie) = csrf_token(&state, &req);
    let scopes: String = request
        .scopes
        .iter()
        .map(|s| format!("<li>{}</li>", escape(&lang.scope(s))))
        .collect();
    let body = format!(
        "<h1>{title}</h1><p><strong>{client}</strong>{asks}</p><ul class=\"scopes\">{scopes}</ul>\
         <form method=\"post\" action=\"{action}\">{csrf}{request}<div class=\"row\">\
         <button type=\"submit\" name=\"consent\" value=\"deny\" class=\"secondary\" id=\"deny\">{deny}</button>\
         <button type=\"submit\" name=\"consent\" value=\"allow\" id=\"allow\">{allow}</button></div></form>",
        title = lang.t(Text::ConsentTitle),
        client = escape(&request.client.name),
        asks = lang.t(Text::ConsentAsks),
        action = escape(&format!("{base}{CONSENT_PATH}")),
        csrf = hidden("csrf", &csrf),
        request = hidden("request", &raw),
        deny = lang.t(Text::Deny),
        allow = lang.t(Text::Allow),
    );
    let targets: Vec<String> = origin_of(&request.redirect_uri).into_iter().collect();
    let mut answer = page(
        StatusCode::OK,
        lang,
        &base,
        lang.t(Text::ConsentTitle),
        &body,
        &targets,
    );
    if let Some(cookie) = cookie {
        let _ = answer.add_cookie(&cookie);
    }
    answer
}

/// `POST /consent` `consent=allow|deny`, `csrf`, `request`.
pub async fn consent(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let form = match body_form(&state, &req, payload).await {
        Ok(f) => f,
        Err(a) => return a,
    };
    let (request, raw) = match carried(&state, &req, &form).await {
        Ok(r) => r,
        Err(a) => return a,
    };
    let (lang, base) = (Lang::of(&req), base_path(&state));
    if !csrf_ok(&state, &req, &form) {
        return message_page(
            StatusCode::FORBIDDEN,
            lang,
            &base,
            lang.t(Text::ErrorTitle),
            lang.t(Text::Expired),
        );
    }
    let browser = match signed_in(&state, &req, &raw).await {
        Ok(b) => b,
        Err(a) => return a,
    };
    match form.get("consent") {
        Some("allow") => {
            if let Err(e) = state.auth.provider().remember_consent(&request, &browser).await {
                tracing::error!(error = %e, "cannot store a consent");
                return unavailable_page(lang, &base);
            }
            send_code(&state, &req, &request, &browser).await
        }
        Some("deny") => {
            let denied = auth_domain::oidc::flow::RedirectError {
                error: "access_denied",
                description: "the user denied the request".into(),
            };
            redirect_error(&state, &request.redirect_uri, &denied, request.state.as_deref())
        }
        _ => message_page(
            StatusCode::BAD_REQUEST,
            lang,
            &base,
            lang.t(Text::ErrorTitle),
            "consent must be allow or deny",
        ),
    }
}

/// The password-reset page: step 1 (`loginId`, `email`) or step 2 (`code`,
/// `newPassword`), carrying the authorization request back to sign-in.
fn reset_form(
    state: &AppState,
    req: &HttpRequest,
    raw: &str,
    step2: Option<&str>,
    note: Option<Text>,
) -> HttpResponse {
    let (lang, base) = (Lang::of(req), base_path(state));
    let (csrf, cookie) = csrf_token(state, req);
    let note = note.map_or(String::new(), |n| {
        format!("<p class=\"message\" role=\"status\">{}</p>", lang.t(n))
    });
    let fields = match step2 {
        None => format!(
            "<input type=\"hidden\" name=\"step\" value=\"send\">\
             <label for=\"loginId\">{id}</label><input type=\"text\" id=\"loginId\" name=\"loginId\" required>\
             <label for=\"email\">{email}</label><input type=\"email\" id=\"email\" name=\"email\" required>\
             <button type=\"submit\" id=\"send\">{send}</button>",
            id = lang.t(Text::Username),
            email = lang.t(Text::Email),
            send = lang.t(Text::SendCode),
        ),
        Some(login_id) => format!(
            "<input type=\"hidden\" name=\"step\" value=\"reset\">{login}\
             <label for=\"code\">{code}</label><input type=\"text\" id=\"code\" name=\"code\" autocomplete=\"one-time-code\" required>\
             <label for=\"newPassword\">{pw}</label><input type=\"password\" id=\"newPassword\" name=\"newPassword\" autocomplete=\"new-password\" required>\
             <button type=\"submit\" id=\"reset\">{title}</button>",
            login = hidden("loginId", login_id),
            code = lang.t(Text::Code),
            pw = lang.t(Text::NewPassword),
            title = lang.t(Text::ResetTitle),
        ),
    };
    let body = format!(
        "<h1>{title}</h1>{note}<form method=\"post\" action=\"{action}\">{csrf}{request}{fields}</form>\
         <p class=\"links\"><a href=\"{login}\">{signin}</a></p>",
        title = lang.t(Text::ResetTitle),
        action = escape(&format!("{base}{RESET_PATH}")),
        csrf = hidden("csrf", &csrf),
        request = hidden("request", raw),
        login = escape(&format!("{base}{LOGIN_PATH}?{raw}")),
        signin = lang.t(Text::SignIn),
    );
    let mut answer = page(StatusCode::OK, lang, &base, lang.t(Text::ResetTitle), &body, &[]);
    if let Some(cookie) = cookie {
        let _ = answer.add_cookie(&cookie);
    }
    answer
}

/// `GET /password-reset?<authorization request>`.
pub async fn reset_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let raw = req.query_string().to_owned();
    reset_form(&state, &req, &raw, None, None)
}

/// `POST /password-reset`: `step=send` mails a `FORGET_PASSWORD` code
/// (the same answer whether or not the account exists); `step=reset`
/// changes the password with it, which ends every session of the user.
pub async fn reset(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let form = match body_form(&state, &req, payload).await {
        Ok(f) => f,
        Err(a) => return a,
    };
    let raw = form.get("request").unwrap_or("").to_owned();
    if Form::parse(&raw).is_none() {
        return reset_form(&state, &req, "", None, Some(Text::Expired));
    }
    if !csrf_ok(&state, &req, &form) {
        return reset_form(&state, &req, &raw, None, Some(Text::Expired));
    }
    let login_id = form.get("loginId").unwrap_or("").trim().to_owned();
    let verification = state.auth.verification();
    match form.get("step") {
        Some("send") => {
            let email = form.get("email").unwrap_or("").trim();
            // Whatever happened, the page says the same (no account oracle).
            if let Err(e) = verification
                .send_code(Some(&login_id), email, CodePurpose::ForgetPassword)
                .await
            {
                tracing::info!(error = %e, "hosted password reset: no code sent");
            }
            reset_form(&state, &req, &raw, Some(&login_id), Some(Text::CodeSent))
        }
        Some("reset") => {
            let code = form.get("code").unwrap_or("").trim();
            let password = form.get("newPassword").unwrap_or("");
            let caller = state.caller("browser", &req);
            match verification
                .reset_password(AccountRef::LoginId(login_id.clone()), code, password, &caller)
                .await
            {
                Ok(_) => {
                    let (lang, base) = (Lang::of(&req), base_path(&state));
                    let link = format!("{base}{LOGIN_PATH}?{raw}");
                    let body = format!(
                        "<h1>{}</h1><p class=\"message\" role=\"status\">{}</p><p class=\"links\"><a href=\"{}\" id=\"signin\">{}</a></p>",
                        lang.t(Text::ResetTitle),
                        lang.t(Text::ResetDone),
                        escape(&link),
                        lang.t(Text::SignIn)
                    );
                    page(StatusCode::OK, lang, &base, lang.t(Text::ResetTitle), &body, &[])
                }
                Err(_) => reset_form(&state, &req, &raw, Some(&login_id), Some(Text::ResetFailed)),
            }
        }
        _ => reset_form(&state, &req, &raw, None, None),
    }
}
