//! The hosted pages (sign-in, consent, errors, logout), rendered on the
//! server: Korean by default, English when `Accept-Language` prefers it;
//! one stylesheet embedded in the binary (`GET /assets/auth.css`), nothing
//! fetched from elsewhere; a strict Content-Security-Policy on every page.
//! Every value placed in a page is HTML-escaped.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

/// The stylesheet, served at [`CSS_PATH`].
pub const CSS: &str = include_str!("auth.css");
/// Where the stylesheet is served.
pub const CSS_PATH: &str = "/assets/auth.css";
/// The passkey button's script, embedded in the binary.
pub const PASSKEY_JS: &str = include_str!("passkey.js");
/// Where it is served.
pub const PASSKEY_JS_PATH: &str = "/assets/passkey.js";

/// The page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Korean (the default).
    Ko,
    /// English.
    En,
}

impl Lang {
    /// Korean unless `Accept-Language` ranks an English tag above every
    /// Korean one.
    pub fn of(req: &HttpRequest) -> Self {
        let Some(value) = req
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
        else {
            return Self::Ko;
        };
        let mut best: Option<(f32, Self)> = None;
        for part in value.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()))
                .unwrap_or(1.0);
            let lang = if tag == "ko" || tag.starts_with("ko-") {
                Self::Ko
            } else if tag == "en" || tag.starts_with("en-") {
                Self::En
            } else {
                continue;
            };
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map_or(Self::Ko, |(_, l)| l)
    }

    /// The language's tag (`ko`, `en`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Ko => "ko",
            Self::En => "en",
        }
    }

    /// The text of `key` in this language.
    pub fn t(self, key: Text) -> &'static str {
        use Text as T;
        match (self, key) {
            (Self::Ko, T::SignIn) => "로그인",
            (Self::En, T::SignIn) => "Sign in",
            (Self::Ko, T::SignInTo) => "에 로그인",
            (Self::En, T::SignInTo) => "Sign in to ",
            (Self::Ko, T::Username) => "아이디 또는 이메일",
            (Self::En, T::Username) => "Username or email",
            (Self::Ko, T::Password) => "비밀번호",
            (Self::En, T::Password) => "Password",
            (Self::Ko, T::ForgotPassword) => "비밀번호를 잊으셨나요?",
            (Self::En, T::ForgotPassword) => "Forgot your password?",
            (Self::Ko, T::WithProvider) => "(으)로 계속하기",
            (Self::En, T::WithProvider) => "Continue with ",
            (Self::Ko, T::SecondStepTitle) => "추가 인증",
            (Self::En, T::SecondStepTitle) => "Two-step verification",
            (Self::Ko, T::SecondStepHint) => "인증 앱의 6자리 코드 또는 복구 코드를 입력하세요.",
            (Self::En, T::SecondStepHint) => {
                "Enter the 6-digit code from your authenticator app, or a recovery code."
            }
            (Self::Ko, T::Verify) => "확인",
            (Self::En, T::Verify) => "Verify",
            (Self::Ko, T::UsePasskey) => "패스키 사용",
            (Self::En, T::UsePasskey) => "Use a passkey",
            (Self::Ko, T::PasskeyFailed) => {
                "패스키로 인증하지 못했습니다. 코드를 입력하거나 다시 시도하세요."
            }
            (Self::En, T::PasskeyFailed) => "The passkey did not work. Enter a code, or try again.",
            (Self::Ko, T::WrongCode) => "코드가 올바르지 않습니다.",
            (Self::En, T::WrongCode) => "The code is incorrect.",
            (Self::Ko, T::BadCredentials) => "아이디 또는 비밀번호가 올바르지 않습니다.",
            (Self::En, T::BadCredentials) => "The username or password is incorrect.",
            (Self::Ko, T::Throttled) => "로그인 시도가 너무 많습니다. 잠시 후 다시 시도해주세요.",
            (Self::En, T::Throttled) => "Too many sign-in attempts. Try again later.",
            (Self::Ko, T::Disabled) => "비활성화된 계정입니다. 관리자에게 문의해주세요.",
            (Self::En, T::Disabled) => "This account is disabled. Contact the administrator.",
            (Self::Ko, T::Expired) => "페이지가 만료되었습니다. 다시 시도해주세요.",
            (Self::En, T::Expired) => "This page has expired. Please try again.",
            (Self::Ko, T::Unavailable) => "일시적인 오류입니다. 잠시 후 다시 시도해주세요.",
            (Self::En, T::Unavailable) => "The service is unavailable. Please try again later.",
            (Self::Ko, T::ConsentTitle) => "접근 허용",
            (Self::En, T::ConsentTitle) => "Allow access",
            (Self::Ko, T::ConsentAsks) => "이(가) 다음 정보에 접근하려고 합니다:",
            (Self::En, T::ConsentAsks) => " wants to access:",
            (Self::Ko, T::Allow) => "허용",
            (Self::En, T::Allow) => "Allow",
            (Self::Ko, T::Deny) => "거부",
            (Self::En, T::Deny) => "Deny",
            (Self::Ko, T::ErrorTitle) => "요청을 처리할 수 없습니다",
            (Self::En, T::ErrorTitle) => "The request cannot be processed",
            (Self::Ko, T::UnknownClient) => "등록되지 않은 클라이언트입니다.",
            (Self::En, T::UnknownClient) => "The client is not registered.",
            (Self::Ko, T::BadRedirect) => "등록되지 않은 redirect_uri입니다.",
            (Self::En, T::BadRedirect) => "The redirect_uri is not registered for this client.",
            (Self::Ko, T::BadHint) => "id_token_hint가 올바르지 않습니다.",
            (Self::En, T::BadHint) => "The id_token_hint is not valid.",
            (Self::Ko, T::BadLogoutRedirect) => "등록되지 않은 post_logout_redirect_uri입니다.",
            (Self::En, T::BadLogoutRedirect) => "The post_logout_redirect_uri is not registered.",
            (Self::Ko, T::LogoutTitle) => "로그아웃",
            (Self::En, T::LogoutTitle) => "Sign out",
            (Self::Ko, T::LogoutAsk) => "로그아웃하시겠습니까?",
            (Self::En, T::LogoutAsk) => "Do you want to sign out?",
            (Self::Ko, T::LoggedOut) => "로그아웃되었습니다.",
            (Self::En, T::LoggedOut) => "You have been signed out.",
            (Self::Ko, T::ResetTitle) => "비밀번호 재설정",
            (Self::En, T::ResetTitle) => "Reset your password",
            (Self::Ko, T::Email) => "이메일",
            (Self::En, T::Email) => "Email",
            (Self::Ko, T::SendCode) => "인증 코드 보내기",
            (Self::En, T::SendCode) => "Send a code",
            (Self::Ko, T::Code) => "인증 코드",
            (Self::En, T::Code) => "Code",
            (Self::Ko, T::NewPassword) => "새 비밀번호",
            (Self::En, T::NewPassword) => "New password",
            (Self::Ko, T::ResetDone) => "비밀번호가 변경되었습니다. 다시 로그인해주세요.",
            (Self::En, T::ResetDone) => "Your password was changed. Please sign in again.",
            (Self::Ko, T::CodeSent) => "이메일로 인증 코드를 보냈습니다 (가입된 주소인 경우).",
            (Self::En, T::CodeSent) => "If the address is registered, a code was sent to it.",
            (Self::Ko, T::ResetFailed) => "인증 코드 또는 새 비밀번호가 올바르지 않습니다.",
            (Self::En, T::ResetFailed) => "The code or the new password is not valid.",
            (Self::Ko, T::PasskeySignIn) => "패스키로 로그인",
            (Self::En, T::PasskeySignIn) => "Sign in with a passkey",
            (Self::Ko, T::PasskeySignInFailed) => {
                "패스키로 로그인하지 못했습니다. 다시 시도하거나 비밀번호로 로그인하세요."
            }
            (Self::En, T::PasskeySignInFailed) => {
                "Signing in with a passkey did not work. Try again, or sign in with your password."
            }
            (Self::Ko, T::PasskeyRefused) => "이 패스키로는 로그인할 수 없습니다.",
            (Self::En, T::PasskeyRefused) => "This passkey cannot sign you in.",
        }
    }

    /// What a scope lets the client see.
    pub fn scope(self, scope: &str) -> String {
        let known = match (self, scope) {
            (Self::Ko, "openid") => "로그인 식별자",
            (Self::En, "openid") => "Your sign-in identifier",
            (Self::Ko, "profile") => "이름, 아이디, 프로필 사진",
            (Self::En, "profile") => "Your name, username and picture",
            (Self::Ko, "email") => "이메일 주소",
            (Self::En, "email") => "Your email address",
            (Self::Ko, "offline_access") => "로그아웃 후에도 접근 유지",
            (Self::En, "offline_access") => "Access while you are away",
            _ => "",
        };
        if known.is_empty() {
            scope.to_owned()
        } else {
            known.to_owned()
        }
    }
}

/// The texts of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Text {
    SignIn,
    SignInTo,
    Username,
    Password,
    ForgotPassword,
    WithProvider,
    BadCredentials,
    Throttled,
    Disabled,
    Expired,
    Unavailable,
    ConsentTitle,
    ConsentAsks,
    Allow,
    Deny,
    ErrorTitle,
    UnknownClient,
    BadRedirect,
    BadHint,
    BadLogoutRedirect,
    LogoutTitle,
    LogoutAsk,
    LoggedOut,
    ResetTitle,
    Email,
    SendCode,
    Code,
    NewPassword,
    ResetDone,
    CodeSent,
    ResetFailed,
    SecondStepTitle,
    SecondStepHint,
    Verify,
    WrongCode,
    UsePasskey,
    PasskeyFailed,
    PasskeySignIn,
    PasskeySignInFailed,
    PasskeyRefused,
}

/// `s` with `&`, `<`, `>`, `"` and `'` escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// The origin (`scheme://host[:port]`) of an absolute web URI, for the
/// CSP `form-action` of a form whose answer redirects there.
pub fn origin_of(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty() && !host.contains(['\'', '"', ' ', ';', ','])).then(|| format!("{scheme}://{host}"))
}

/// A page: `title` and the `body` HTML (already escaped), with the CSP
/// allowing forms to post here and redirects to `form_targets` (origins).
/// Its icon is empty and inline (`data:`, which `img-src` allows): else a
/// browser asks for `/favicon.ico`, which is not served, and logs the 404
/// as an error on the page.
pub fn page(
    status: StatusCode,
    lang: Lang,
    base: &str,
    title: &str,
    body: &str,
    form_targets: &[String],
) -> HttpResponse {
    let html = format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <link rel=\"icon\" href=\"data:,\">\
         <title>{title}</title><link rel=\"stylesheet\" href=\"{base}{CSS_PATH}\"></head>\
         <body><main class=\"card\">{body}</main></body></html>\n",
        lang = lang.code(),
        title = escape(title),
        base = escape(base),
    );
    html_response(status, html, form_targets)
}

/// A complete HTML document with the pages' headers: the strict CSP
/// (forms may post here and redirect to `form_targets`, origins), no
/// caching, no framing, no sniffing, no referrer.
pub fn html_response(status: StatusCode, html: String, form_targets: &[String]) -> HttpResponse {
    let mut form_action = String::from("'self'");
    for t in form_targets {
        form_action.push(' ');
        form_action.push_str(t);
    }
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; \
         connect-src 'self'; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    );
    let mut reply = HttpResponse::build(status);
    reply
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .insert_header((header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")));
    if let Ok(v) = HeaderValue::from_str(&csp) {
        reply.insert_header((header::CONTENT_SECURITY_POLICY, v));
    }
    reply.body(html)
}

/// A page that only says `message` (errors, "signed out").
pub fn message_page(status: StatusCode, lang: Lang, base: &str, title: &str, message: &str) -> HttpResponse {
    let body = format!(
        "<h1>{}</h1><p class=\"message\">{}</p>",
        escape(title),
        escape(message)
    );
    page(status, lang, base, title, &body, &[])
}

/// The 400 page of a request that cannot go back to its client.
pub fn error_page(lang: Lang, base: &str, message: Text) -> HttpResponse {
    message_page(
        StatusCode::BAD_REQUEST,
        lang,
        base,
        lang.t(Text::ErrorTitle),
        lang.t(message),
    )
}

/// The 503 page.
pub fn unavailable_page(lang: Lang, base: &str) -> HttpResponse {
    message_page(
        StatusCode::SERVICE_UNAVAILABLE,
        lang,
        base,
        lang.t(Text::ErrorTitle),
        lang.t(Text::Unavailable),
    )
}

/// A hidden form field.
pub fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        escape(name),
        escape(value)
    )
}
