//! `/admin/clients`: the OpenID Connect clients: the list, registering
//! one, a client's page with its redirect URIs to change, rotating its
//! secret, deleting it. The use cases and audit events of
//! `/internal/oauth-clients` ([`auth_domain::oidc::provider::ClientRegistry`]),
//! with the settings built the same way ([`ClientRequest::spec`]); a
//! secret is shown once. The built-in console client is not listed and
//! cannot be changed here.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use auth_domain::oidc::client::{AuthMethod, OAuthClient};
use auth_domain::oidc::console::CONSOLE_CLIENT_ID;
use auth_domain::oidc::provider::{ClientAdminError, RegisteredClient};

use super::account::when;
use super::signin::{page_doc, route};
use super::{Area, Ctx, back, enter, post_form, posted};
use crate::admin::oauth_clients::ClientRequest;
use crate::routes::{Method, Route};
use crate::state::AppState;

/// The confirmation lines of the list and a client's page.
const DONE: &[(&str, &str, &str)] = &[
    ("deleted", "클라이언트를 삭제했습니다.", "The client was deleted."),
    (
        "changed",
        "리디렉션 URI를 저장했습니다.",
        "The redirect URIs were saved.",
    ),
];

/// The lines of a textarea, trimmed, blank ones left out.
pub fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The form's name of the field a settings error names (`redirectUris:
/// …`), and the rest of the message; the field as sent when the form has
/// no such field.
pub fn field_of(message: &str) -> (&str, &str, &str) {
    let Some((field, problem)) = message.split_once(": ") else {
        return ("이름", "Name", message);
    };
    let (ko, en) = match field {
        "name" => ("이름", "Name"),
        "redirectUris" => ("리디렉션 URI", "Redirect URIs"),
        "postLogoutRedirectUris" => ("로그아웃 후 리디렉션 URI", "Post-logout redirect URIs"),
        "tokenEndpointAuthMethod" => ("공개 클라이언트", "Public client"),
        other => (other, other),
    };
    (ko, en, problem)
}

/// The 400 page of a refused setting, naming the field.
fn spec_refused(ctx: &Ctx, message: &str) -> HttpResponse {
    let (ko, en, problem) = field_of(message);
    ctx.page(
        StatusCode::BAD_REQUEST,
        ctx.t("클라이언트를 저장하지 못했습니다", "The client was not saved"),
        html! {
            p.message role="status" {
                (ctx.t("다음 항목을 확인해주세요. 아무것도 변경되지 않았습니다.", "Check this field. Nothing was changed."))
            }
            dl.facts {
                dt { (ctx.t("항목", "Field")) } dd #field { (ctx.t(ko, en)) }
                dt { (ctx.t("문제", "Problem")) } dd { (problem) }
            }
        },
    )
}

/// A refusal of a client use case, as a page.
fn client_refused(ctx: &Ctx, e: &ClientAdminError) -> HttpResponse {
    let refused = |status, ko, en| {
        ctx.message(
            status,
            ctx.t("처리하지 못했습니다", "Nothing was changed"),
            ctx.t(ko, en),
        )
    };
    match e {
        ClientAdminError::UnknownClient => refused(
            StatusCode::NOT_FOUND,
            "존재하지 않는 클라이언트입니다.",
            "No such client.",
        ),
        ClientAdminError::Invalid(spec) => spec_refused(ctx, &spec.to_string()),
        ClientAdminError::PublicClient => refused(
            StatusCode::BAD_REQUEST,
            "공개 클라이언트(none)에는 시크릿이 없습니다.",
            "A public client (none) has no secret.",
        ),
        ClientAdminError::Internal(err) => {
            tracing::error!(error = %err, "console: client use case failed");
            ctx.unavailable()
        }
    }
}

/// The client id of the path: a registered client's possible id, never the
/// built-in console's.
fn client_id(req: &HttpRequest) -> Option<&str> {
    req.match_info()
        .get("id")
        .filter(|id| (1..=100).contains(&id.len()) && !id.chars().any(char::is_control))
        .filter(|id| *id != CONSOLE_CLIENT_ID)
}

fn kind(ctx: &Ctx, c: &OAuthClient) -> String {
    if c.is_public() {
        ctx.t("공개 (none)", "Public (none)").to_owned()
    } else {
        format!("{} ({})", ctx.t("기밀", "Confidential"), c.auth_method.as_str())
    }
}

fn yes_no(ctx: &Ctx, b: bool) -> &'static str {
    if b {
        ctx.t("예", "Yes")
    } else {
        ctx.t("아니요", "No")
    }
}

/// `GET /admin/clients`.
pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let ctx = match enter(&state, &req, Area::Admin).await {
        Ok(c) => c,
        Err(answer) => return answer,
    };
    let clients = match state.auth.oauth_clients().list_clients().await {
        Ok(c) => c,
        Err(e) => return client_refused(&ctx, &e.into()),
    };
    let done = ctx.done_line(&req, DONE);
    let body = html! {
        (done)
        section aria-labelledby="clients" {
            h2 #clients { (ctx.t("등록된 클라이언트", "Registered clients")) " (" (clients.len()) ")" }
            @if clients.is_empty() {
                p { (ctx.t("등록된 클라이언트가 없습니다.", "No client is registered.")) }
            } @else {
                div.scroll { table {
                    thead { tr {
                        th scope="col" { "client_id" }
                        th scope="col" { (ctx.t("이름", "Name")) }
                        th scope="col" { (ctx.t("종류", "Type")) }
                        th scope="col" { (ctx.t("퍼스트 파티", "First party")) }
                        th scope="col" { (ctx.t("리디렉션 URI", "Redirect URIs")) }
                        th scope="col" { (ctx.t("등록일", "Registered")) }
                    } }
                    tbody {
                        @for c in &clients {
                            tr {
                                td { a href=(ctx.href(&format!("/admin/clients/{}", c.client_id))) { code { (c.client_id) } } }
                                td { (c.name) }
                                td { (kind(&ctx, c)) }
                                td { (yes_no(&ctx, c.first_party)) }
                                td { @for (i, u) in c.redirect_uris.iter().enumerate() { @if i > 0 { br; } (u) } }
                                td { (when(c.created_at)) }
                            }
                        }
                    }
                } }
            }
        }
        section aria-labelledby="new-client" {
            h2 #new-client { (ctx.t("클라이언트 등록", "Register a client")) }
            (post_form(&ctx, "/admin/clients", html! {
                label for="client-name" { (ctx.t("이름 (동의 화면에 표시)", "Name (shown on the consent page)")) }
                input #client-name type="text" name="name" maxlength="100" required;
                label for="client-redirects" { (ctx.t("리디렉션 URI (한 줄에 하나)", "Redirect URIs (one per line)")) }
                textarea #client-redirects name="redirect_uris" {}
                label.check for="client-first-party" {
                    input #client-first-party type="checkbox" name="first_party" value="1";
                    " " (ctx.t("퍼스트 파티 (동의 화면 없음)", "First party (no consent page)"))
                }
                label.check for="client-public" {
                    input #client-public type="checkbox" name="public" value="1";
                    " " (ctx.t("공개 클라이언트 (시크릿 없음, PKCE)", "Public client (no secret, PKCE)"))
                }
            }, ctx.t("등록", "Register"), "stack"))
        }
    };
    ctx.page(StatusCode::OK, ctx.t("OAuth 클라이언트", "OAuth clients"), body)
}

/// The page that shows a client's secret, once.
fn secret_page(ctx: &Ctx, title: &str, r: &RegisteredClient) -> HttpResponse {
    let c = &r.client;
    let body = html! {
        dl.facts {
            dt { "client_id" } dd { code #client-id { (c.client_id) } }
            dt { (ctx.t("이름", "Name")) } dd { (c.name) }
            dt { (ctx.t("종류", "Type")) } dd { (kind(ctx, c)) }
        }
        @match &r.secret {
            Some(secret) => {
                p.message role="status" { (ctx.t(
                    "아래 client_secret을 클라이언트 설정에 저장하세요. 이 화면을 떠나면 다시 볼 수 없습니다.",
                    "Store this client_secret in the client's settings. It is not shown again.",
                )) }
                h2 { "client_secret" }
                p.secret #client-secret { (secret) }
            }
            None => p.message role="status" { (ctx.t(
                "공개 클라이언트에는 시크릿이 없습니다. PKCE로 로그인합니다.",
                "A public client has no secret; it signs in with PKCE.",
            )) },
        }
        p { a href=(ctx.href(&format!("/admin/clients/{}", c.client_id))) { (ctx.t("클라이언트 페이지로", "To the client's page")) } }
    };
    ctx.page(StatusCode::OK, title, body)
}

/// `POST /admin/clients` `name`, `redirect_uris` (one per line),
/// `first_party`, `public`: registers a client with the API's defaults for
/// the rest, and shows its secret once.
pub async fn create(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let (ctx, form) = match posted(&state, &req, Area::Admin, payload).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let request = ClientRequest {
        name: form.get("name").map(str::to_owned),
        redirect_uris: Some(lines(form.get("redirect_uris").unwrap_or(""))),
        first_party: Some(form.get("first_party").is_some()),
        token_endpoint_auth_method: form.get("public").map(|_| AuthMethod::None.as_str().to_owned()),
        ..ClientRequest::default()
    };
    let spec = match request.spec(None) {
        Ok(s) => s,
        Err(message) => return spec_refused(&ctx, &message),
    };
    let caller = state.caller("console", &req);
    match state.auth.oauth_clients().register_client(spec, &caller).await {
        Ok(registered) => secret_page(
            &ctx,
            ctx.t("클라이언트를 등록했습니다", "Client registered"),
            &registered,
        ),
        Err(e) => client_refused(&ctx, &e),
    }
}

fn uris_field(id: &str, name: &str, label: &str, uris: &[String]) -> Markup {
    html! {
        label for=(id) { (label) }
        textarea #(id) name=(name) { (uris.join("\n")) }
    }
}

/// `GET /admin/clients/{id}`.
pub async fn page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let ctx = match enter(&state, &req, Area::Admin).await {
        Ok(c) => c,
        Err(answer) => return answer,
    };
    let Some(id) = client_id(&req) else {
        return client_refused(&ctx, &ClientAdminError::UnknownClient);
    };
    let c = match state.auth.oauth_clients().client(id).await {
        Ok(Some(c)) => c,
        Ok(None) => return client_refused(&ctx, &ClientAdminError::UnknownClient),
        Err(e) => return client_refused(&ctx, &e.into()),
    };
    let base = format!("/admin/clients/{}", c.client_id);
    let done = ctx.done_line(&req, DONE);
    let list = |items: &[String]| {
        html! { @if items.is_empty() { "-" } @else { @for (i, s) in items.iter().enumerate() { @if i > 0 { br; } (s) } } }
    };
    let body = html! {
        (done)
        section aria-labelledby="settings" {
            h2 #settings { (ctx.t("설정", "Settings")) }
            dl.facts {
                dt { "client_id" } dd { code { (c.client_id) } }
                dt { (ctx.t("종류", "Type")) } dd { (kind(&ctx, &c)) }
                dt { (ctx.t("퍼스트 파티", "First party")) } dd { (yes_no(&ctx, c.first_party)) }
                dt { (ctx.t("그랜트", "Grants")) } dd { (c.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>().join(", ")) }
                dt { (ctx.t("스코프", "Scopes")) } dd { (c.scopes.join(" ")) }
                dt { (ctx.t("ID 토큰 알고리즘", "ID token algorithm")) } dd { (c.id_token_alg.as_str()) }
                dt { (ctx.t("리디렉션 URI", "Redirect URIs")) } dd { (list(&c.redirect_uris)) }
                dt { (ctx.t("로그아웃 후 리디렉션 URI", "Post-logout redirect URIs")) } dd { (list(&c.post_logout_redirect_uris)) }
                dt { (ctx.t("백채널 로그아웃 URI", "Back-channel logout URI")) } dd { (c.backchannel_logout_uri.as_deref().unwrap_or("-")) }
                dt { (ctx.t("모든 세션 종료 수신", "Hears of every session's end")) } dd { (if c.all_sessions { ctx.t("예", "yes") } else { ctx.t("아니요", "no") }) }
                dt { (ctx.t("등록일", "Registered")) } dd { (when(c.created_at)) }
                dt { (ctx.t("마지막 변경", "Last changed")) } dd { (when(c.updated_at)) }
            }
        }
        section aria-labelledby="uris" {
            h2 #uris { (ctx.t("리디렉션 URI 변경", "Change the redirect URIs")) }
            p { (ctx.t("한 줄에 하나씩, 정확히 일치해야 합니다. 다른 설정은 그대로 유지됩니다.", "One per line, compared exactly. The other settings stay as they are.")) }
            (post_form(&ctx, &format!("{base}/uris"), html! {
                (uris_field("redirect-uris", "redirect_uris", ctx.t("리디렉션 URI", "Redirect URIs"), &c.redirect_uris))
                (uris_field("post-logout-uris", "post_logout_redirect_uris", ctx.t("로그아웃 후 리디렉션 URI", "Post-logout redirect URIs"), &c.post_logout_redirect_uris))
            }, ctx.t("저장", "Save"), "stack"))
        }
        section aria-labelledby="secret-and-delete" {
            h2 #secret-and-delete { (ctx.t("시크릿과 삭제", "Secret and deletion")) }
            @if c.is_public() {
                p { (ctx.t("공개 클라이언트에는 시크릿이 없습니다.", "A public client has no secret.")) }
            } @else {
                p { (ctx.t("새 시크릿은 한 번만 표시되고, 이전 시크릿은 즉시 사용할 수 없습니다.", "The new secret is shown once; the old one stops working at once.")) }
                (post_form(&ctx, &format!("{base}/secret"), html! {}, ctx.t("시크릿 교체", "Rotate secret"), "inline"))
                " "
            }
            (post_form(&ctx, &format!("{base}/delete"), html! {}, ctx.t("클라이언트 삭제", "Delete the client"), "inline danger"))
        }
        p { a href=(ctx.href("/admin/clients")) { (ctx.t("클라이언트 목록으로", "Back to the clients")) } }
    };
    ctx.page(
        StatusCode::OK,
        &format!("{} · {}", ctx.t("OAuth 클라이언트", "OAuth client"), c.name),
        body,
    )
}

/// `POST /admin/clients/{id}/{action}`: `uris` (`redirect_uris`,
/// `post_logout_redirect_uris`, one per line; every other setting as
/// stored), `secret` (a new secret, shown once) or `delete`.
pub async fn act(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let (ctx, form) = match posted(&state, &req, Area::Admin, payload).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let Some(id) = client_id(&req) else {
        return client_refused(&ctx, &ClientAdminError::UnknownClient);
    };
    let caller = state.caller("console", &req);
    let registry = state.auth.oauth_clients();
    match req.match_info().get("action").unwrap_or_default() {
        "uris" => {
            let old = match registry.client(id).await {
                Ok(Some(c)) => c,
                Ok(None) => return client_refused(&ctx, &ClientAdminError::UnknownClient),
                Err(e) => return client_refused(&ctx, &e.into()),
            };
            let request = ClientRequest {
                redirect_uris: Some(lines(form.get("redirect_uris").unwrap_or(""))),
                post_logout_redirect_uris: Some(lines(form.get("post_logout_redirect_uris").unwrap_or(""))),
                ..ClientRequest::default()
            };
            let spec = match request.spec(Some(&old)) {
                Ok(s) => s,
                Err(message) => return spec_refused(&ctx, &message),
            };
            match registry.change_client(id, spec, &caller).await {
                Ok(_) => back(&state, &format!("/admin/clients/{id}"), "changed"),
                Err(e) => client_refused(&ctx, &e),
            }
        }
        "secret" => match registry.rotate_client_secret(id, &caller).await {
            Ok(registered) => secret_page(&ctx, ctx.t("새 시크릿", "New secret"), &registered),
            Err(e) => client_refused(&ctx, &e),
        },
        "delete" => match registry.delete_client(id, &caller).await {
            Ok(()) => back(&state, "/admin/clients", "deleted"),
            Err(e) => client_refused(&ctx, &e),
        },
        _ => client_refused(&ctx, &ClientAdminError::UnknownClient),
    }
}

/// The clients' routes.
pub fn routes() -> Vec<Route> {
    vec![
        route(
            Method::Get,
            "/admin/clients",
            "console.clients",
            || web::get().to(list),
            || {
                page_doc(
                    "console.clients",
                    "OAuth clients",
                    "The registered OpenID Connect clients (as `GET /internal/oauth-clients`; never the built-in `auth-console`) and the form to register one.",
                )
            },
        ),
        route(
            Method::Post,
            "/admin/clients",
            "console.client_create",
            || web::post().to(create),
            || {
                page_doc(
                    "console.client_create",
                    "Register an OAuth client",
                    "Form fields `csrf`, `name`, `redirect_uris` (one per line), `first_party`, `public` (`tokenEndpointAuthMethod` `none`); the other settings take the defaults of `POST /internal/oauth-clients`, the same use case and audit event. The answer page shows the secret once; a wrong field is a 400 page naming it.",
                )
            },
        ),
        route(
            Method::Get,
            "/admin/clients/{id}",
            "console.client",
            || web::get().to(page),
            || {
                page_doc(
                    "console.client",
                    "An OAuth client's page",
                    "Its settings, the form to change its redirect URIs, rotating its secret, deleting it.",
                )
                .path_param("id", "The client id.", "oc_0123456789abcdef01234567")
            },
        ),
        route(
            Method::Post,
            "/admin/clients/{id}/{action}",
            "console.client_action",
            || web::post().to(act),
            || {
                page_doc(
                    "console.client_action",
                    "Change, re-key or delete an OAuth client",
                    "`uris` (form fields `redirect_uris`, `post_logout_redirect_uris`, one per line; every other setting unchanged, as `PATCH /internal/oauth-clients/{clientId}`), `secret` (a new secret shown once, as `POST …/secret`) or `delete` (as `DELETE`). Form field `csrf`.",
                )
                .path_param("id", "The client id.", "oc_0123456789abcdef01234567")
                .path_param("action", "`uris`, `secret` or `delete`.", "uris")
            },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_textarea_is_one_uri_a_line() {
        assert_eq!(
            lines("https://a.example/cb\r\n\n  https://b.example/cb  \n"),
            vec![
                "https://a.example/cb".to_owned(),
                "https://b.example/cb".to_owned()
            ]
        );
        assert!(lines(" \r\n").is_empty());
    }

    #[test]
    fn a_settings_error_names_the_form_field() {
        assert_eq!(
            field_of("redirectUris: authorization_code needs at least one"),
            (
                "리디렉션 URI",
                "Redirect URIs",
                "authorization_code needs at least one"
            )
        );
        assert_eq!(
            field_of("postLogoutRedirectUris: at most 20").1,
            "Post-logout redirect URIs"
        );
        assert_eq!(
            field_of("scopes: 1 to 50 scopes"),
            ("scopes", "scopes", "1 to 50 scopes")
        );
        assert_eq!(
            field_of("name을 입력해주세요."),
            ("이름", "Name", "name을 입력해주세요.")
        );
    }
}
