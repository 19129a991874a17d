//! The admin part of the internal API (`/internal`, admin bearer, the
//! `{"success","message"}` envelope of [`crate::internal`]): find users,
//! disable and enable accounts, list and revoke sessions, list, delete and
//! re-key applications. Each handler parses, calls one use case of
//! `auth_domain::service::admin`, renders. The JSON builders are shared
//! with the `auth-server` commands ([`crate::cli`]), which print the same.
// Same early-return pattern as the contract modules (see `contracts`).
#![allow(clippy::result_large_err)]

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use auth_domain::chat::{App, AppId};
use auth_domain::service::{AccountChange, MAX_USER_PAGE, UserPage};
use auth_domain::session::{Session, SessionId};
use auth_domain::user::{User, UserId};

use crate::contracts::iso_millis;
use crate::internal::{CreatedAppResponse, InternalError, UserDetail, admin_errors, authorize, failure};
use crate::openapi::Op;
use crate::routes::{Method, Route};
use crate::state::AppState;

/// Users per page of `GET /internal/users` when `limit` is not given.
pub const DEFAULT_USER_PAGE: u32 = 20;

/// One account in a search result.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSummary {
    /// The numeric id.
    id: i64,
    /// The UUID (the tokens' `sub`).
    uuid: String,
    /// The login id, if any.
    login_id: Option<String>,
    /// The email.
    email: String,
    /// The display name.
    name: String,
    /// Whether the account is disabled.
    disabled: bool,
    /// When the account was created.
    created_at: String,
}

/// `{"success": true, "items": […], "nextCursor"}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserListResponse {
    /// Always `true`.
    success: bool,
    /// Lowest ids first.
    items: Vec<UserSummary>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<String>,
}

/// `{"success": true, "user": {…}, "revokedSessions"}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountChangeResponse {
    /// Always `true`.
    success: bool,
    /// The account as stored now.
    user: UserDetail,
    /// How many live sessions this call revoked (`LOGOUT` pushed to each).
    revoked_sessions: usize,
}

/// One session.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// The session id (the tokens' `sid`).
    id: String,
    /// The contract its login came through (`standard`, `session`,
    /// `picsel`, `account`).
    contract: String,
    /// The client IP of that login, when known.
    ip: Option<String>,
    /// Its `User-Agent`, when known.
    user_agent: Option<String>,
    /// When it was opened.
    created_at: String,
    /// When a refresh last used it, or `null`.
    last_refreshed_at: Option<String>,
}

/// `{"success": true, "sessions": […]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionListResponse {
    /// Always `true`.
    success: bool,
    /// The sessions that can still be used, oldest first.
    sessions: Vec<SessionView>,
}

/// `{"success": true, "revoked"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedResponse {
    /// Always `true`.
    success: bool,
    /// How many live sessions this call revoked; 0 when they were already
    /// revoked (by a concurrent call, say: each session is counted once).
    revoked: usize,
}

/// One registered application (no secret).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppView {
    /// The `App-Id`.
    app_id: String,
    /// The name.
    name: String,
    /// When it was registered.
    created_at: String,
    /// 0 at registration, one more at each secret rotation.
    secret_version: i64,
}

/// `{"success": true, "apps": […]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppListResponse {
    /// Always `true`.
    success: bool,
    /// Oldest first.
    apps: Vec<AppView>,
}

fn to_value<T: Serialize>(v: T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn summary(u: &User) -> UserSummary {
    UserSummary {
        id: u.id.get(),
        uuid: u.uuid.to_string(),
        login_id: u.login_id.as_ref().map(|l| l.as_str().to_owned()),
        email: u.email.as_str().to_owned(),
        name: u.name.clone(),
        disabled: u.disabled_at.is_some(),
        created_at: iso_millis(u.created_at),
    }
}

/// The opaque cursor of the page after `id`.
pub fn encode_cursor(id: UserId) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("u:{}", id.get()))
}

/// The id a cursor continues after; `None` when it is not one of ours.
pub fn decode_cursor(raw: &str) -> Option<UserId> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let id: i64 = text.strip_prefix("u:")?.parse().ok()?;
    (id >= 0).then(|| UserId::new(id))
}

/// `GET /internal/users`' answer (and `auth-server users list`'s output).
pub fn users_page_json(page: &UserPage) -> Value {
    to_value(UserListResponse {
        success: true,
        items: page.users.iter().map(summary).collect(),
        next_cursor: page.next_after.map(encode_cursor),
    })
}

/// The answer of disable/enable (and of `auth-server users disable|enable`).
pub fn account_change_json(change: &AccountChange) -> Value {
    let mut user = crate::internal::user_json(&change.view);
    let detail = user.get_mut("user").map(Value::take).unwrap_or(Value::Null);
    user = json!({"success": true, "user": detail, "revokedSessions": change.revoked_sessions});
    user
}

/// The sessions' answer (and `auth-server users sessions`' output).
pub fn sessions_json(sessions: &[Session]) -> Value {
    to_value(SessionListResponse {
        success: true,
        sessions: sessions
            .iter()
            .map(|s| SessionView {
                id: s.id.to_string(),
                contract: s.client.clone(),
                ip: s.ip.map(|ip| ip.to_string()),
                user_agent: s.user_agent.clone(),
                created_at: iso_millis(s.created_at),
                last_refreshed_at: s.last_refreshed_at.map(iso_millis),
            })
            .collect(),
    })
}

/// A revocation's answer.
pub fn revoked_json(revoked: usize) -> Value {
    to_value(RevokedResponse {
        success: true,
        revoked,
    })
}

/// `GET /internal/apps`' answer (and `auth-server apps list`'s output).
pub fn apps_json(apps: &[App]) -> Value {
    to_value(AppListResponse {
        success: true,
        apps: apps
            .iter()
            .map(|a| AppView {
                app_id: a.id.as_str().to_owned(),
                name: a.name.clone(),
                created_at: iso_millis(a.created_at),
                secret_version: a.secret_version,
            })
            .collect(),
    })
}

/// A deletion's answer.
pub fn app_deleted_json() -> Value {
    json!({"success": true, "message": "앱을 삭제했습니다."})
}

fn query(req: &HttpRequest) -> Result<HashMap<String, String>, InternalError> {
    web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|_| InternalError::Invalid("잘못된 요청 형식입니다."))
}

/// A numeric user id as a path segment or argument.
///
/// # Errors
/// [`InternalError::Invalid`] when it is not a number.
pub fn parse_user_id(raw: &str) -> Result<UserId, InternalError> {
    raw.trim()
        .parse::<i64>()
        .map(UserId::new)
        .map_err(|_| InternalError::Invalid("id는 숫자여야 합니다."))
}

/// A session id (UUID).
///
/// # Errors
/// [`InternalError::Invalid`] when it is not a UUID.
pub fn parse_session_id(raw: &str) -> Result<SessionId, InternalError> {
    uuid::Uuid::parse_str(raw.trim())
        .map(SessionId::from_uuid)
        .map_err(|_| InternalError::Invalid("sid는 UUID여야 합니다."))
}

/// An application id.
///
/// # Errors
/// [`InternalError::Invalid`] when it cannot be one.
pub fn parse_app_id(raw: &str) -> Result<AppId, InternalError> {
    AppId::parse(raw.trim())
        .map_err(|()| InternalError::Invalid("appId는 영문, 숫자, _, - 1~64자여야 합니다."))
}

fn segment<'a>(req: &'a HttpRequest, name: &str) -> &'a str {
    req.match_info().get(name).unwrap_or_default()
}

/// The `limit` of a user search: 1 to [`MAX_USER_PAGE`].
///
/// # Errors
/// [`InternalError::Invalid`] when out of range.
pub fn parse_limit(raw: Option<&str>) -> Result<u32, InternalError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(DEFAULT_USER_PAGE),
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_USER_PAGE).contains(n))
            .ok_or(InternalError::Invalid("limit은 1~100 사이의 숫자여야 합니다.")),
    }
}

/// `GET /internal/users?query=&limit=&cursor=`.
pub async fn users_list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, InternalError> {
    authorize(&state, &req)?;
    let q = query(&req)?;
    let limit = parse_limit(q.get("limit").map(String::as_str))?;
    let after = match q.get("cursor").map(|c| c.trim()).filter(|c| !c.is_empty()) {
        None => None,
        Some(raw) => Some(decode_cursor(raw).ok_or(InternalError::Invalid("cursor가 올바르지 않습니다."))?),
    };
    let page = state
        .auth
        .user_admin()
        .search_users(q.get("query").map(String::as_str), after, limit)
        .await?;
    Ok(HttpResponse::Ok().json(users_page_json(&page)))
}

/// `POST /internal/users/{id}/disable`.
pub async fn user_disable(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, InternalError> {
    authorize(&state, &req)?;
    let id = parse_user_id(segment(&req, "id"))?;
    let change = state
        .auth
        .user_admin()
        .disable_user(id, &state.caller("internal", &req))
        .await?;
    Ok(HttpResponse::Ok().json(account_change_json(&change)))
}

/// `POST /internal/users/{id}/enable`.
pub async fn user_enable(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, InternalError> {
    authorize(&state, &req)?;
    let id = parse_user_id(segment(&req, "id"))?;
    let change = state
        .auth
        .user_admin()
        .enable_user(id, &state.caller("internal", &req))
        .await?;
    Ok(HttpResponse::Ok().json(account_change_json(&change)))
}

/// `GET /internal/users/{id}/sessions`.
pub async fn user_sessions(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, InternalError> {
    authorize(&state, &req)?;
    let id = parse_user_id(segment(&req, "id"))?;
    let sessions = state.auth.session_admin().user_sessions(id).await?;
    Ok(HttpResponse::Ok().json(sessions_json(&sessions)))
}

/// `DELETE /internal/users/{id}/sessions`.
pub async fn user_sessions_revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, InternalError> {
    authorize(&state, &req)?;
    let id = parse_user_id(segment(&req, "id"))?;
    let revoked = state
        .auth
        .session_admin()
        .revoke_user_sessions(id, &state.caller("internal", &req))
        .await?;
    Ok(HttpResponse::Ok().json(revoked_json(revoked)))
}

/// `DELETE /internal/sessions/{sid}`.
pub async fn session_revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, InternalError> {
    authorize(&state, &req)?;
    let sid = parse_session_id(segment(&req, "sid"))?;
    let revoked = state
        .auth
        .session_admin()
        .revoke_session(sid, &state.caller("internal", &req))
        .await?;
    Ok(HttpResponse::Ok().json(revoked_json(usize::from(revoked))))
}

/// `GET /internal/apps`.
pub async fn apps_list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, InternalError> {
    authorize(&state, &req)?;
    let apps = state.auth.apps().list_apps().await?;
    Ok(HttpResponse::Ok().json(apps_json(&apps)))
}

/// `DELETE /internal/apps/{appId}`.
pub async fn app_delete(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, InternalError> {
    authorize(&state, &req)?;
    let id = parse_app_id(segment(&req, "appId"))?;
    state
        .auth
        .apps()
        .delete_app(&id, &state.caller("internal", &req))
        .await?;
    Ok(HttpResponse::Ok().json(app_deleted_json()))
}

/// `POST /internal/apps/{appId}/secret`.
pub async fn app_rotate_secret(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, InternalError> {
    authorize(&state, &req)?;
    let id = parse_app_id(segment(&req, "appId"))?;
    let created = state
        .auth
        .apps()
        .rotate_app_secret(&id, &state.caller("internal", &req))
        .await?;
    Ok(HttpResponse::Ok().json(crate::internal::app_json(&created)))
}

fn user_example() -> Value {
    json!({"id": 7, "uuid": "0192f0c1-7c1e-7a55-9d8e-3f5b2a1c4d6e", "loginId": "parkh", "email": "parkh@example.com", "name": "홍길동", "profileImage": null, "passwordScheme": "argon2id", "providers": [], "createdAt": "2024-03-01T09:00:00.000Z", "disabled": true, "disabledAt": "2025-12-08T11:00:00.000Z", "liveSessions": 0})
}

const NO_USER: &str = "존재하지 않는 사용자입니다.";
const BAD_ID: &str = "id는 숫자여야 합니다.";

fn user_op(op: Op) -> Op {
    admin_errors(
        op.path_param("id", "The numeric user id.", "7")
            .reply::<crate::internal::Message>(400, "The id is not a number.", failure(BAD_ID))
            .reply::<crate::internal::Message>(404, "No such user.", failure(NO_USER)),
    )
}

fn app_op(op: Op) -> Op {
    admin_errors(
        op.path_param("appId", "The application id.", "app_0123456789abcdef01234567")
            .reply::<crate::internal::Message>(
                400,
                "Not a possible application id.",
                failure("appId는 영문, 숫자, _, - 1~64자여야 합니다."),
            )
            .reply::<crate::internal::Message>(
                404,
                "No such application.",
                failure("존재하지 않는 앱입니다."),
            ),
    )
}

/// The admin routes (mounted with the rest of the internal API).
pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: Method::Get,
            path: "/internal/users",
            id: "internal.users_list",
            to: || web::get().to(users_list),
            rate_limit: None,
            doc: || {
                admin_errors(
                    Op::new("internal", "internal.users_list", "Find users")
                        .describe("Accounts whose login id, email or name contains `query` (ASCII case-insensitive; all accounts without it), lowest ids first. Keyset pagination: pass `nextCursor` as `cursor` for the next page; `nextCursor` is `null` on the last. `auth-server users list` prints the same.")
                        .query_param("query", "Text to find in the login id, email or name (at most 200 characters).", json!({"type": "string", "example": "park"}))
                        .query_param("limit", "Page size, 1–100 (default 20).", json!({"type": "integer", "minimum": 1, "maximum": 100}))
                        .query_param("cursor", "The `nextCursor` of the previous page (opaque).", json!({"type": "string"}))
                        .reply::<UserListResponse>(
                            200,
                            "One page.",
                            json!({"success": true, "items": [{"id": 7, "uuid": "0192f0c1-7c1e-7a55-9d8e-3f5b2a1c4d6e", "loginId": "parkh", "email": "parkh@example.com", "name": "홍길동", "disabled": false, "createdAt": "2024-03-01T09:00:00.000Z"}], "nextCursor": "dTo3"}),
                        )
                        .reply::<crate::internal::Message>(400, "`limit`, `cursor` or `query` is invalid.", failure("limit은 1~100 사이의 숫자여야 합니다.")),
                )
            },
        },
        Route {
            method: Method::Post,
            path: "/internal/users/{id}/disable",
            id: "internal.user_disable",
            to: || web::post().to(user_disable),
            rate_limit: None,
            doc: || {
                user_op(
                    Op::new("internal", "internal.user_disable", "Disable an account")
                        .describe("From now on the account cannot log in on any contract (password, social, chat with our token) nor refresh; every live session is revoked at once and its sockets get `LOGOUT` (`계정이 비활성화되어 로그아웃됩니다.`), on every instance. A wrong password on a disabled account still gets the ordinary wrong-credentials answer. Disabling a disabled account changes nothing and answers the same (`revokedSessions` 0). No body.")
                        .reply::<AccountChangeResponse>(200, "Disabled.", json!({"success": true, "user": user_example(), "revokedSessions": 2})),
                )
            },
        },
        Route {
            method: Method::Post,
            path: "/internal/users/{id}/enable",
            id: "internal.user_enable",
            to: || web::post().to(user_enable),
            rate_limit: None,
            doc: || {
                user_op(
                    Op::new("internal", "internal.user_enable", "Enable a disabled account")
                        .describe("The account can log in again; sessions revoked by the disable stay revoked. Enabling an enabled account changes nothing. No body.")
                        .reply::<AccountChangeResponse>(200, "Enabled.", json!({"success": true, "user": {"id": 7, "uuid": "0192f0c1-7c1e-7a55-9d8e-3f5b2a1c4d6e", "loginId": "parkh", "email": "parkh@example.com", "name": "홍길동", "profileImage": null, "passwordScheme": "argon2id", "providers": [], "createdAt": "2024-03-01T09:00:00.000Z", "disabled": false, "disabledAt": null, "liveSessions": 0}, "revokedSessions": 0})),
                )
            },
        },
        Route {
            method: Method::Get,
            path: "/internal/users/{id}/sessions",
            id: "internal.user_sessions",
            to: || web::get().to(user_sessions),
            rate_limit: None,
            doc: || {
                user_op(
                    Op::new("internal", "internal.user_sessions", "List a user's sessions")
                        .describe("The sessions that can still be used (not revoked, a refresh token unspent and unexpired), oldest first, with the contract, client IP and user agent of the login that opened each, and when a refresh last used it.")
                        .reply::<SessionListResponse>(
                            200,
                            "The sessions.",
                            json!({"success": true, "sessions": [{"id": "0192f0c1-7c1e-7a55-9d8e-3f5b2a1c4d6e", "contract": "standard", "ip": "203.0.113.7", "userAgent": "Mozilla/5.0", "createdAt": "2025-12-08T09:00:00.000Z", "lastRefreshedAt": "2025-12-08T10:30:00.000Z"}]}),
                        ),
                )
            },
        },
        Route {
            method: Method::Delete,
            path: "/internal/users/{id}/sessions",
            id: "internal.user_sessions_revoke",
            to: || web::delete().to(user_sessions_revoke),
            rate_limit: None,
            doc: || {
                user_op(
                    Op::new("internal", "internal.user_sessions_revoke", "Revoke every session of a user")
                        .describe("Each live session is revoked and its sockets get `LOGOUT` (`관리자에 의해 로그아웃되었습니다.`), on every instance. `revoked` counts the sessions this call revoked: concurrent calls never count one twice.")
                        .reply::<RevokedResponse>(200, "Revoked.", json!({"success": true, "revoked": 3})),
                )
            },
        },
        Route {
            method: Method::Delete,
            path: "/internal/sessions/{sid}",
            id: "internal.session_revoke",
            to: || web::delete().to(session_revoke),
            rate_limit: None,
            doc: || {
                admin_errors(
                    Op::new("internal", "internal.session_revoke", "Revoke one session")
                        .describe("Its sockets get `LOGOUT` (`관리자에 의해 로그아웃되었습니다.`), on every instance. Revoking a revoked session answers 200 with `revoked` 0.")
                        .path_param("sid", "The session id (a UUID, the tokens' `sid`).", "0192f0c1-7c1e-7a55-9d8e-3f5b2a1c4d6e")
                        .reply::<RevokedResponse>(200, "Revoked (1), or already revoked (0).", json!({"success": true, "revoked": 1}))
                        .reply::<crate::internal::Message>(400, "The sid is not a UUID.", failure("sid는 UUID여야 합니다."))
                        .reply::<crate::internal::Message>(404, "No such session.", failure("존재하지 않는 세션입니다.")),
                )
            },
        },
        Route {
            method: Method::Get,
            path: "/internal/apps",
            id: "internal.apps_list",
            to: || web::get().to(apps_list),
            rate_limit: None,
            doc: || {
                admin_errors(
                    Op::new("internal", "internal.apps_list", "List chat applications")
                        .describe("Every registered application, oldest first, without secrets.")
                        .reply::<AppListResponse>(
                            200,
                            "The applications.",
                            json!({"success": true, "apps": [{"appId": "app_0123456789abcdef01234567", "name": "Chat", "createdAt": "2025-12-01T09:00:00.000Z", "secretVersion": 0}]}),
                        ),
                )
            },
        },
        Route {
            method: Method::Delete,
            path: "/internal/apps/{appId}",
            id: "internal.app_delete",
            to: || web::delete().to(app_delete),
            rate_limit: None,
            doc: || {
                app_op(
                    Op::new("internal", "internal.app_delete", "Delete a chat application")
                        .describe("The application and its users' profiles are deleted; its tokens stop verifying at once.")
                        .reply::<crate::internal::Message>(200, "Deleted.", json!({"success": true, "message": "앱을 삭제했습니다."})),
                )
            },
        },
        Route {
            method: Method::Post,
            path: "/internal/apps/{appId}/secret",
            id: "internal.app_rotate_secret",
            to: || web::post().to(app_rotate_secret),
            rate_limit: None,
            doc: || {
                app_op(
                    Op::new("internal", "internal.app_rotate_secret", "Rotate an application's secret")
                        .describe("A new secret, shown this once; tokens signed with the old secret stop verifying at once (chat logins and sockets answer as for any invalid token). No body.")
                        .reply::<CreatedAppResponse>(
                            200,
                            "The new secret.",
                            json!({"appId": "app_0123456789abcdef01234567", "name": "Chat", "secret": "…64 hex…"}),
                        ),
                )
            },
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_strangers() {
        for id in [0, 1, 7, i64::MAX] {
            assert_eq!(
                decode_cursor(&encode_cursor(UserId::new(id))),
                Some(UserId::new(id))
            );
        }
        for bad in ["", "!!", "dTo", "dTotMQ", "eDo3", "7"] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }
}
