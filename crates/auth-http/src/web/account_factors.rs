//! The second factors on `/account/`: the authenticator app (TOTP) with its
//! QR code, passkeys (register, with a name; remove) and recovery codes
//! (shown once; regenerate). Each action is the use case of its `/api/mfa`
//! twin ([`auth_domain::factors::SecondFactors`]).

use actix_web::http::StatusCode;
use actix_web::http::header::{CacheControl, CacheDirective, ContentType};
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use subtle::ConstantTimeEq;

use auth_domain::factors::{FactorError, MfaStatus};

use super::account::when;
use super::signin::{page_doc, route};
use super::{Area, Ctx, back, enter, post_form, posted};
use crate::provider::csrf_cookie_name;
use crate::routes::{Method, Route};
use crate::state::AppState;

/// The security section of the account page.
pub fn section(ctx: &Ctx, status: &MfaStatus, passkeys_on: bool) -> Markup {
    let code_field = |id: &str| {
        html! {
            label for=(id) { (ctx.t("인증 앱 코드 또는 복구 코드", "Authenticator code or recovery code")) }
            input id=(id) type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required;
        }
    };
    html! {
        section #security aria-labelledby="security-title" {
            h2 #security-title { (ctx.t("2단계 인증", "Second factors")) }
            h3 { (ctx.t("인증 앱 (TOTP)", "Authenticator app (TOTP)")) }
            @if status.totp {
                p { (ctx.t("사용 중입니다.", "On.")) }
                (post_form(ctx, "/account/totp/remove", code_field("totp-remove-code"), ctx.t("인증 앱 해제", "Remove the authenticator app"), "stack"))
            } @else {
                p { (ctx.t("사용하지 않습니다.", "Off.")) }
                (post_form(ctx, "/account/totp/enroll", html! {}, ctx.t("인증 앱 등록", "Set up an authenticator app"), "inline"))
            }
            h3 { (ctx.t("패스키", "Passkeys")) }
            @if status.passkeys.is_empty() {
                p { (ctx.t("등록된 패스키가 없습니다.", "No passkey registered.")) }
            } @else {
                ul.items {
                    @for p in &status.passkeys {
                        li {
                            strong { (p.name) }
                            " · " (ctx.t("등록", "added")) " " (when(p.created_at))
                            @if let Some(used) = p.last_used_at { " · " (ctx.t("마지막 사용", "last used")) " " (when(used)) }
                            (post_form(ctx, "/account/passkeys/remove", html! {
                                input type="hidden" name="id" value=(p.id.to_string());
                            }, &format!("{} {}", ctx.t("삭제:", "Remove"), p.name), "inline"))
                        }
                    }
                }
            }
            @if passkeys_on {
                form #passkey-register method="post" action=(ctx.href("/account/passkeys/register")) class="stack"
                    data-options=(ctx.href("/account/passkeys/options")) {
                    input type="hidden" name="csrf" value=(ctx.csrf);
                    input type="hidden" name="credential" value="";
                    label for="passkey-name" { (ctx.t("패스키 이름", "Passkey name")) }
                    input #passkey-name type="text" name="name" maxlength="64" required
                        value=(ctx.t("내 패스키", "My passkey"));
                    button type="submit" { (ctx.t("패스키 등록", "Register a passkey")) }
                    p.error #passkey-register-error role="alert" hidden {
                        (ctx.t("패스키를 등록하지 못했습니다. 다시 시도해주세요.", "The passkey was not registered. Please try again."))
                    }
                }
            } @else {
                p { (ctx.t("이 서버에서는 패스키를 쓸 수 없습니다.", "Passkeys are not available on this server.")) }
            }
            h3 { (ctx.t("복구 코드", "Recovery codes")) }
            @if status.enrolled() {
                p { (ctx.t("남은 복구 코드: ", "Recovery codes left: ")) (status.recovery_codes_left) }
                (post_form(ctx, "/account/recovery-codes", code_field("recovery-code"), ctx.t("복구 코드 새로 만들기", "Make new recovery codes"), "stack"))
            } @else {
                p { (ctx.t("2단계 인증을 켜면 복구 코드가 만들어집니다.", "Recovery codes are made when a second factor is turned on.")) }
            }
        }
    }
}

/// The page that shows recovery codes, once.
fn codes_page(ctx: &Ctx, title: &str, codes: &[String]) -> HttpResponse {
    let body = html! {
        p.message role="status" { (ctx.t("아래 복구 코드를 안전한 곳에 보관하세요. 이 화면을 떠나면 다시 볼 수 없습니다.", "Keep these recovery codes somewhere safe. They are not shown again.")) }
        ol.codes #recovery-codes { @for c in codes { li { code { (c) } } } }
        p { a href=(ctx.href("/account/#security")) { (ctx.t("계정으로 돌아가기", "Back to my account")) } }
    };
    ctx.page(StatusCode::OK, title, body)
}

/// A refusal of a factor action, as a page; nothing was changed.
fn refused(ctx: &Ctx, e: &FactorError) -> HttpResponse {
    let (status, ko, en) = match e {
        FactorError::WrongCode | FactorError::MalformedCode => (
            StatusCode::BAD_REQUEST,
            "코드가 올바르지 않습니다.",
            "The code is incorrect.",
        ),
        FactorError::Throttled { .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            "시도가 너무 많습니다. 잠시 후 다시 시도해주세요.",
            "Too many attempts. Try again later.",
        ),
        FactorError::AlreadyEnrolled => (
            StatusCode::CONFLICT,
            "인증 앱이 이미 등록되어 있습니다.",
            "An authenticator app is already set up.",
        ),
        FactorError::NothingPending => (
            StatusCode::BAD_REQUEST,
            "진행 중인 등록이 없습니다. 처음부터 다시 시작해주세요.",
            "No setup is in progress. Start again.",
        ),
        FactorError::NotEnrolled => (
            StatusCode::BAD_REQUEST,
            "사용 중인 2단계 인증이 없습니다.",
            "No second factor is on.",
        ),
        FactorError::InvalidName => (
            StatusCode::BAD_REQUEST,
            "패스키 이름은 1~64자여야 합니다.",
            "A passkey name is 1 to 64 characters.",
        ),
        FactorError::MalformedCredential | FactorError::CredentialRefused(_) => (
            StatusCode::BAD_REQUEST,
            "패스키를 확인하지 못했습니다. 다시 시도해주세요.",
            "The passkey could not be verified. Please try again.",
        ),
        FactorError::UnknownPasskey => (
            StatusCode::NOT_FOUND,
            "이 계정의 패스키가 아닙니다.",
            "No such passkey of this account.",
        ),
        FactorError::PasskeysOff => (
            StatusCode::BAD_REQUEST,
            "이 서버에서는 패스키를 쓸 수 없습니다.",
            "Passkeys are not available on this server.",
        ),
        FactorError::Unauthenticated => (
            StatusCode::UNAUTHORIZED,
            "다시 로그인해주세요.",
            "Please sign in again.",
        ),
        FactorError::Internal(err) => {
            tracing::error!(error = %err, "account: factor action failed");
            return ctx.unavailable();
        }
    };
    let title = ctx.t("변경하지 못했습니다", "Nothing was changed");
    ctx.message(status, title, ctx.t(ko, en))
}

/// `POST /account/totp/enroll`: a new secret, its QR code and the form
/// that confirms it.
pub async fn totp_enroll(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let (ctx, _) = match posted(&state, &req, Area::Account, payload).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let label = crate::mfa::handlers::issuer_label(&state);
    let enrolment = match state.auth.factors().enroll_totp(ctx.user(), &label).await {
        Ok(e) => e,
        Err(e) => return refused(&ctx, &e),
    };
    crate::metrics::factor_change("totp_enroll_started");
    let qr = {
        use base64::Engine as _;
        let svg = crate::mfa::handlers::qr_svg(&enrolment.otpauth_uri);
        format!(
            "data:image/svg+xml;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(svg)
        )
    };
    let body = html! {
        ol.steps {
            li { (ctx.t("인증 앱(Google Authenticator, 1Password 등)으로 QR 코드를 스캔하세요.", "Scan the QR code with an authenticator app (Google Authenticator, 1Password, …).")) }
            li { (ctx.t("앱이 보여주는 6자리 코드를 입력하세요.", "Enter the 6-digit code the app shows.")) }
        }
        img.qr src=(qr) width="200" height="200" alt=(ctx.t("인증 앱에 등록할 QR 코드", "QR code for the authenticator app"));
        p { (ctx.t("스캔할 수 없으면 이 키를 입력하세요: ", "Cannot scan? Type this key: ")) code #totp-secret { (enrolment.secret) } }
        (post_form(&ctx, "/account/totp/confirm", html! {
            label for="totp-code" { (ctx.t("6자리 코드", "6-digit code")) }
            input #totp-code type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required;
        }, ctx.t("확인", "Confirm"), "stack"))
    };
    ctx.page(
        StatusCode::OK,
        ctx.t("인증 앱 등록", "Set up an authenticator app"),
        body,
    )
}

/// `POST /account/totp/confirm` `code`.
pub async fn totp_confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let (ctx, form) = match posted(&state, &req, Area::Account, payload).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let caller = state.caller("console", &req);
    let code = form.get("code").unwrap_or("");
    match state.auth.factors().confirm_totp(ctx.user(), code, &caller).await {
        Ok(codes) => {
            crate::metrics::factor_change("totp_enrolled");
            match codes {
                Some(codes) => codes_page(
                    &ctx,
                    ctx.t("인증 앱을 등록했습니다", "The authenticator app is set up"),
                    &codes,
                ),
                None => back(&state, "/account/", "totp"),
            }
        }
        Err(e) => refused(&ctx, &e),
    }
}

/// `POST /account/totp/remove` `code`.
pub async fn totp_remove(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let (ctx, form) = match posted(&state, &req, Area::Account, payload).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let caller = state.caller("console", &req);
    match state
        .auth
        .factors()
        .disable_totp(ctx.user(), form.get("code").unwrap_or(""), &caller)
        .await
    {
        Ok(()) => {
            crate::metrics::factor_change("totp_removed");
            back(&state, "/account/", "totp-removed")
        }
        Err(e) => refused(&ctx, &e),
    }
}

/// `POST /account/recovery-codes` `code`: ten new codes, shown once.
pub async fn recovery_codes(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let (ctx, form) = match posted(&state, &req, Area::Account, payload).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let caller = state.caller("console", &req);
    match state
        .auth
        .factors()
        .regenerate_recovery_codes(ctx.user(), form.get("code").unwrap_or(""), &caller)
        .await
    {
        Ok(codes) => {
            crate::metrics::factor_change("recovery_codes_replaced");
            codes_page(&ctx, ctx.t("새 복구 코드", "New recovery codes"), &codes)
        }
        Err(e) => refused(&ctx, &e),
    }
}

/// `POST /account/passkeys/options` (header `X-CSRF-Token`): the
/// registration options for the browser's authenticator, as JSON.
pub async fn passkey_options(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let ctx = match enter(&state, &req, Area::Account).await {
        Ok(c) => c,
        Err(_) => return HttpResponse::Unauthorized().finish(),
    };
    let header = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let cookie = req.cookie(csrf_cookie_name(&state));
    let ok = cookie
        .is_some_and(|c| !header.is_empty() && bool::from(c.value().as_bytes().ct_eq(header.as_bytes())));
    if !ok {
        return HttpResponse::Forbidden().finish();
    }
    match state.auth.factors().start_passkey_registration(ctx.user()).await {
        Ok(options) => HttpResponse::Ok()
            .insert_header(CacheControl(vec![CacheDirective::NoStore]))
            .content_type(ContentType::json())
            .body(options),
        Err(FactorError::PasskeysOff) => HttpResponse::NotFound().finish(),
        Err(e) => {
            tracing::warn!(error = %e, "account: passkey options refused");
            HttpResponse::ServiceUnavailable().finish()
        }
    }
}

/// `POST /account/passkeys/register` `name`, `credential` (the
/// authenticator's answer, which the page's script fills in).
pub async fn passkey_register(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let (ctx, form) = match posted(&state, &req, Area::Account, payload).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let caller = state.caller("console", &req);
    let result = state
        .auth
        .factors()
        .finish_passkey_registration(
            ctx.user(),
            form.get("name").unwrap_or(""),
            form.get("credential").unwrap_or(""),
            &caller,
        )
        .await;
    match result {
        Ok((_, codes)) => {
            crate::metrics::factor_change("passkey_registered");
            match codes {
                Some(codes) => codes_page(
                    &ctx,
                    ctx.t("패스키를 등록했습니다", "The passkey was registered"),
                    &codes,
                ),
                None => back(&state, "/account/", "passkey"),
            }
        }
        Err(e) => refused(&ctx, &e),
    }
}

/// `POST /account/passkeys/remove` `id`: one of the user's own passkeys.
pub async fn passkey_remove(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let (ctx, form) = match posted(&state, &req, Area::Account, payload).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let Some(id) = form.get("id").and_then(|s| uuid::Uuid::parse_str(s.trim()).ok()) else {
        return refused(&ctx, &FactorError::UnknownPasskey);
    };
    let caller = state.caller("console", &req);
    match state.auth.factors().delete_passkey(ctx.user(), id, &caller).await {
        Ok(()) => {
            crate::metrics::factor_change("passkey_removed");
            back(&state, "/account/", "passkey-removed")
        }
        Err(e) => refused(&ctx, &e),
    }
}

/// The second factors' routes of the account page.
pub fn routes() -> Vec<Route> {
    vec![
        route(
            Method::Post,
            "/account/totp/enroll",
            "console.totp_enroll",
            || web::post().to(totp_enroll),
            || {
                page_doc(
                    "console.totp_enroll",
                    "Start an authenticator app",
                    "Shows the QR code and the form that confirms it (form field `csrf`).",
                )
            },
        ),
        route(
            Method::Post,
            "/account/totp/confirm",
            "console.totp_confirm",
            || web::post().to(totp_confirm),
            || {
                page_doc(
                    "console.totp_confirm",
                    "Confirm the authenticator app",
                    "Form fields `csrf`, `code`; the first factor shows the recovery codes once.",
                )
            },
        ),
        route(
            Method::Post,
            "/account/totp/remove",
            "console.totp_remove",
            || web::post().to(totp_remove),
            || {
                page_doc(
                    "console.totp_remove",
                    "Remove the authenticator app",
                    "Form fields `csrf`, `code` (a current code or a recovery code).",
                )
            },
        ),
        route(
            Method::Post,
            "/account/recovery-codes",
            "console.recovery_codes",
            || web::post().to(recovery_codes),
            || {
                page_doc(
                    "console.recovery_codes",
                    "New recovery codes",
                    "Form fields `csrf`, `code`; shows ten new codes once.",
                )
            },
        ),
        route(
            Method::Post,
            "/account/passkeys/options",
            "console.passkey_options",
            || web::post().to(passkey_options),
            || {
                crate::openapi::Op::new("console", "console.passkey_options", "Passkey registration options")
                .describe("For the account page's script: header `X-CSRF-Token` (the page's token). WebAuthn creation options as JSON.")
                .raw(200, "The options.", "application/json", serde_json::json!({"type": "object"}))
                .empty(401, "Not signed in.")
                .empty(403, "A missing or wrong CSRF token.")
                .empty(404, "Passkeys are off on this server.")
                .empty(503, "The service cannot answer now.")
            },
        ),
        route(
            Method::Post,
            "/account/passkeys/register",
            "console.passkey_register",
            || web::post().to(passkey_register),
            || {
                page_doc(
                    "console.passkey_register",
                    "Register a passkey",
                    "Form fields `csrf`, `name`, `credential` (the authenticator's answer).",
                )
            },
        ),
        route(
            Method::Post,
            "/account/passkeys/remove",
            "console.passkey_remove",
            || web::post().to(passkey_remove),
            || {
                page_doc(
                    "console.passkey_remove",
                    "Remove a passkey",
                    "Form fields `csrf`, `id`.",
                )
            },
        ),
    ]
}
