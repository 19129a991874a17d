//! The frame every console and account page shares: the document, the
//! navigation, the language switch, the sign-out button, and the message
//! pages.

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use maud::{DOCTYPE, Markup, html};

use auth_domain::identity::user::User;
use auth_domain::oidc::console::WebSession;

use super::{CONSOLE_CSS_PATH, CONSOLE_JS_PATH, lang_of};
use crate::provider::pages::{Lang, html_response};
use crate::provider::{base_path, csrf_token};
use crate::state::AppState;

/// What a page needs to render: language, base path, CSRF token, the
/// signed-in browser.
#[derive(Debug)]
pub struct Ctx {
    /// The page language.
    pub lang: Lang,
    /// The public URL's path, before every link.
    pub base: String,
    /// The CSRF token every form carries.
    pub csrf: String,
    csrf_cookie: Option<Cookie<'static>>,
    /// The path and query of this request (the language switch's return).
    here: String,
    pub(super) session: Option<WebSession>,
    /// Whether the user holds the admin role.
    pub admin: bool,
}

impl Ctx {
    /// A context before the session is known.
    pub fn anonymous(state: &AppState, req: &HttpRequest) -> Self {
        let (csrf, csrf_cookie) = csrf_token(state, req);
        let here = match req.query_string() {
            "" => req.path().to_owned(),
            q => format!("{}?{q}", req.path()),
        };
        Self {
            lang: lang_of(req),
            base: base_path(state),
            csrf,
            csrf_cookie,
            here,
            session: None,
            admin: false,
        }
    }

    /// The text in the page language.
    pub fn t<'a>(&self, ko: &'a str, en: &'a str) -> &'a str {
        match self.lang {
            Lang::Ko => ko,
            Lang::En => en,
        }
    }

    /// `path` below the public URL's path.
    pub fn href(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The signed-in browser (only after [`super::enter`]).
    ///
    /// # Panics
    /// Never after [`super::enter`] succeeded, which sets it.
    pub fn session(&self) -> &WebSession {
        #[allow(clippy::expect_used)] // enter() sets it before any handler runs
        self.session.as_ref().expect("signed in")
    }

    /// The signed-in user.
    pub fn user(&self) -> &User {
        &self.session().user
    }

    /// The page: the frame around `body`, with `status`.
    pub fn page(&self, status: StatusCode, title: &str, body: Markup) -> HttpResponse {
        let signed_in = self.session.is_some();
        let other = match self.lang {
            Lang::Ko => ("en", "English"),
            Lang::En => ("ko", "한국어"),
        };
        let switch = format!(
            "{}?to={}&next={}",
            self.href("/account/lang"),
            other.0,
            urlencode(&self.here)
        );
        let doc = html! {
            (DOCTYPE)
            html lang=(self.lang.code()) {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="referrer" content="no-referrer";
                    link rel="icon" href="data:,";
                    title { (title) }
                    link rel="stylesheet" href=(self.href(CONSOLE_CSS_PATH));
                    script src=(self.href(CONSOLE_JS_PATH)) defer {}
                }
                body.console {
                    a.skip href="#main" { (self.t("본문으로 건너뛰기", "Skip to content")) }
                    header.top {
                        nav aria-label=(self.t("주 메뉴", "Main")) {
                            ul {
                                @if signed_in {
                                    li { a href=(self.href("/account/")) { (self.t("내 계정", "My account")) } }
                                }
                                @if self.admin {
                                    li { a href=(self.href("/admin/")) { (self.t("개요", "Overview")) } }
                                    li { a href=(self.href("/admin/users")) { (self.t("사용자", "Users")) } }
                                    li { a href=(self.href("/admin/apps")) { (self.t("앱", "Apps")) } }
                                    li { a href=(self.href("/admin/clients")) { (self.t("OAuth 클라이언트", "OAuth clients")) } }
                                    li { a href=(self.href("/admin/keys")) { (self.t("서명 키", "Signing keys")) } }
                                    li { a href=(self.href("/admin/audit")) { (self.t("감사 기록", "Audit trail")) } }
                                }
                            }
                        }
                        div.tools {
                            a href=(switch) lang=(other.0) { (other.1) }
                            @if signed_in {
                                form method="post" action=(self.href("/account/logout")) {
                                    input type="hidden" name="csrf" value=(self.csrf);
                                    button type="submit" { (self.t("로그아웃", "Sign out")) }
                                }
                            }
                        }
                    }
                    main #main {
                        h1 { (title) }
                        (body)
                    }
                }
            }
        };
        let mut reply = html_response(status, doc.into_string(), &[]);
        if let Some(c) = &self.csrf_cookie {
            let _ = reply.add_cookie(c);
        }
        reply
    }

    /// A page that only says `message`.
    pub fn message(&self, status: StatusCode, title: &str, message: &str) -> HttpResponse {
        self.page(status, title, html! { p.message role="status" { (message) } })
    }

    /// The 503 page.
    pub fn unavailable(&self) -> HttpResponse {
        self.message(
            StatusCode::SERVICE_UNAVAILABLE,
            self.t("일시적인 오류", "Temporarily unavailable"),
            self.t(
                "일시적인 오류입니다. 잠시 후 다시 시도해주세요.",
                "The service is unavailable. Please try again later.",
            ),
        )
    }

    /// The console's refusal of an admin without a second factor.
    pub fn enrol_first(&self, enrolled: bool) -> HttpResponse {
        let body = html! {
            p.message role="status" {
                @if enrolled {
                    (self.t("2단계 인증으로 다시 로그인해야 콘솔을 쓸 수 있습니다.", "Sign in again with your second factor to use the console."))
                } @else {
                    (self.t("콘솔을 쓰려면 먼저 2단계 인증(인증 앱 또는 패스키)을 등록해야 합니다.", "Set up a second factor (an authenticator app or a passkey) before using the console."))
                }
            }
            p { a href=(self.href("/account/#security")) { (self.t("2단계 인증 설정으로 가기", "Go to second factors")) } }
        };
        self.page(
            StatusCode::FORBIDDEN,
            self.t("2단계 인증 필요", "Second factor required"),
            body,
        )
    }

    /// The line a page shows after an action (`?done=`), if any.
    pub fn done_line(&self, req: &HttpRequest, texts: &[(&str, &str, &str)]) -> Markup {
        let done = url_param(req.query_string(), "done");
        let line = texts
            .iter()
            .find(|(key, _, _)| Some(*key) == done.as_deref())
            .map(|(_, ko, en)| self.t(ko, en));
        html! {
            @if let Some(line) = line { p.done role="status" { (line) } }
        }
    }
}

/// A query parameter's value.
pub fn url_param(query: &str, name: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// `s` percent-encoded for a query value.
pub fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .unwrap_or_default()
        .trim_start_matches('=')
        .to_owned()
}
