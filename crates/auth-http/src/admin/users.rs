//! Accounts: find them, read one, disable and enable them, grant and
//! revoke their admin role (`/internal/users`, `/internal/users/{id}`,
//! `/internal/users/{id}/disable|enable|grant-admin|revoke-admin`), remove
//! their second factors (`/internal/users/{id}/mfa`). Their sessions are
//! [`super::sessions`]', the import [`super::import`]'s.
// Same early-return pattern as the contract modules (see `contracts`).
#![allow(clippy::result_large_err)]

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use auth_domain::admin::MAX_USER_PAGE;
use auth_domain::identity::user::UserId;

use super::views::{
    AccountChangeResponse, DEFAULT_USER_PAGE, Message, UserListResponse, UserResponse, decode_cursor,
};
use super::{InternalError, failure, parse_user_id, query, segment, sorted, user_path};
use crate::openapi::Op;
use crate::routes::{Access, Method, Route};
use crate::state::AppState;

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
    Ok(sorted(StatusCode::OK, &UserListResponse::from(&page)))
}

/// `GET /internal/users/{id}`: one account with its password scheme and
/// linked providers. A non-numeric id is 400, an unknown one 404.
pub async fn user_show(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, InternalError> {
    let id = req
        .match_info()
        .get("id")
        .and_then(|raw| raw.parse::<i64>().ok())
        .ok_or(InternalError::Invalid("id는 숫자여야 합니다."))?;
    let view = state
        .auth
        .user_admin()
        .user_view(UserId::new(id))
        .await?
        .ok_or(InternalError::UnknownUser)?;
    Ok(sorted(StatusCode::OK, &UserResponse::from(&view)))
}

/// `POST /internal/users/{id}/disable`.
pub async fn user_disable(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, InternalError> {
    let id = parse_user_id(segment(&req, "id"))?;
    let change = state
        .auth
        .user_admin()
        .disable_user(id, &state.caller("internal", &req))
        .await?;
    Ok(sorted(StatusCode::OK, &AccountChangeResponse::from(&change)))
}

/// `DELETE /internal/users/{id}/mfa`: every second factor of the user
/// removed (audited `admin_mfa_reset`).
pub async fn user_reset_mfa(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, InternalError> {
    let id = parse_user_id(segment(&req, "id"))?;
    let removed = state
        .auth
        .user_admin()
        .reset_second_factors(id, &state.caller("internal", &req))
        .await?;
    crate::metrics::factor_change("admin_reset");
    Ok(sorted(
        StatusCode::OK,
        &json!({"success": true, "removed": removed}),
    ))
}

/// `POST /internal/users/{id}/enable`.
pub async fn user_enable(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, InternalError> {
    let id = parse_user_id(segment(&req, "id"))?;
    let change = state
        .auth
        .user_admin()
        .enable_user(id, &state.caller("internal", &req))
        .await?;
    Ok(sorted(StatusCode::OK, &AccountChangeResponse::from(&change)))
}

/// `POST /internal/users/{id}/grant-admin`: the account holds the admin
/// role (audited `admin_role_grant` when it did not).
pub async fn user_grant_admin(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, InternalError> {
    let id = parse_user_id(segment(&req, "id"))?;
    let view = state
        .auth
        .user_admin()
        .grant_admin(id, &state.caller("internal", &req))
        .await?;
    Ok(sorted(StatusCode::OK, &UserResponse::from(&view)))
}

/// `POST /internal/users/{id}/revoke-admin`: the account no longer holds
/// the admin role (audited `admin_role_revoke` when it did).
pub async fn user_revoke_admin(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, InternalError> {
    let id = parse_user_id(segment(&req, "id"))?;
    let view = state
        .auth
        .user_admin()
        .revoke_admin(id, &state.caller("internal", &req))
        .await?;
    Ok(sorted(StatusCode::OK, &UserResponse::from(&view)))
}

fn user_example() -> Value {
    json!({"id": 7, "uuid": "0192f0c1-7c1e-7a55-9d8e-3f5b2a1c4d6e", "loginId": "parkh", "email": "parkh@example.com", "name": "홍길동", "profileImage": null, "passwordScheme": "argon2id", "providers": [], "createdAt": "2024-03-01T09:00:00.000Z", "disabled": true, "disabledAt": "2025-12-08T11:00:00.000Z", "admin": false, "liveSessions": 0})
}

/// An account with the admin role or without, as the role routes answer.
fn admin_example(admin: bool) -> Value {
    json!({"success": true, "user": {"id": 7, "uuid": "0192f0c1-7c1e-7a55-9d8e-3f5b2a1c4d6e", "loginId": "parkh", "email": "parkh@example.com", "name": "홍길동", "profileImage": null, "passwordScheme": "argon2id", "providers": [], "createdAt": "2024-03-01T09:00:00.000Z", "disabled": false, "disabledAt": null, "admin": admin, "liveSessions": 1, "mfa": {"totp": true, "passkeys": 1, "recoveryCodesLeft": 10}}})
}

/// The users' routes.
pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: Method::Get,
            path: "/internal/users",
            id: "internal.users_list",
            to: || web::get().to(users_list),
            rate_limit: None,
            access: Access::Admin,
            doc: || {
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
                    .reply::<Message>(400, "`limit`, `cursor` or `query` is invalid.", failure("limit은 1~100 사이의 숫자여야 합니다."))
            },
        },
        Route {
            method: Method::Get,
            path: "/internal/users/{id}",
            id: "internal.user_show",
            to: || web::get().to(user_show),
            rate_limit: None,
            access: Access::Admin,
            doc: || {
                Op::new("internal", "internal.user_show", "Read one account")
                    .describe("The account with its password scheme (`passwordScheme`: watch imported accounts move to `argon2id`), linked providers, whether it is disabled, whether it holds the admin role (`admin`: may enter the admin console), how many of its sessions can still be used and its second factors (`mfa`). `auth-server users show ID` prints the same.")
                    .path_param("id", "The numeric user id.", "7")
                    .reply::<UserResponse>(
                        200,
                        "The account.",
                        json!({"success": true, "user": {"id": 7, "uuid": "0192f0c1-7c1e-7a55-9d8e-3f5b2a1c4d6e", "loginId": "parkh", "email": "parkh@example.com", "name": "홍길동", "profileImage": null, "passwordScheme": "bcrypt", "providers": ["kakao"], "createdAt": "2024-03-01T09:00:00.000Z", "disabled": false, "disabledAt": null, "admin": true, "liveSessions": 2, "mfa": {"totp": true, "passkeys": 1, "recoveryCodesLeft": 9}}}),
                    )
                    .reply::<Message>(400, "The id is not a number.", failure("id는 숫자여야 합니다."))
                    .reply::<Message>(404, "No such user.", failure("존재하지 않는 사용자입니다."))
            },
        },
        Route {
            method: Method::Post,
            path: "/internal/users/{id}/disable",
            id: "internal.user_disable",
            to: || web::post().to(user_disable),
            rate_limit: None,
            access: Access::Admin,
            doc: || {
                user_path(
                    Op::new("internal", "internal.user_disable", "Disable an account")
                        .describe("From now on the account cannot log in on any contract (password, social, chat with our token) nor refresh; every live session is revoked at once and its sockets get `LOGOUT` (`계정이 비활성화되어 로그아웃됩니다.`), on every instance. A wrong password on a disabled account still gets the ordinary wrong-credentials answer. Disabling a disabled account changes nothing and answers the same (`revokedSessions` 0). No body.")
                        .reply::<AccountChangeResponse>(200, "Disabled.", json!({"success": true, "user": user_example(), "revokedSessions": 2})),
                )
            },
        },
        Route {
            method: Method::Delete,
            path: "/internal/users/{id}/mfa",
            id: "internal.user_reset_mfa",
            to: || web::delete().to(user_reset_mfa),
            rate_limit: None,
            access: Access::Admin,
            doc: || {
                user_path(
                    Op::new("internal", "internal.user_reset_mfa", "Remove every second factor of a user")
                        .describe("The TOTP authenticator, passkeys, recovery codes and pending second steps go; the next login takes no second step. Audited (`admin_mfa_reset`). `removed` says whether there was any. `auth-server users reset-mfa ID` does the same.")
                        .reply::<Value>(200, "Removed.", json!({"success": true, "removed": true})),
                )
            },
        },
        Route {
            method: Method::Post,
            path: "/internal/users/{id}/enable",
            id: "internal.user_enable",
            to: || web::post().to(user_enable),
            rate_limit: None,
            access: Access::Admin,
            doc: || {
                user_path(
                    Op::new("internal", "internal.user_enable", "Enable a disabled account")
                        .describe("The account can log in again; sessions revoked by the disable stay revoked. Enabling an enabled account changes nothing. No body.")
                        .reply::<AccountChangeResponse>(200, "Enabled.", json!({"success": true, "user": {"id": 7, "uuid": "0192f0c1-7c1e-7a55-9d8e-3f5b2a1c4d6e", "loginId": "parkh", "email": "parkh@example.com", "name": "홍길동", "profileImage": null, "passwordScheme": "argon2id", "providers": [], "createdAt": "2024-03-01T09:00:00.000Z", "disabled": false, "disabledAt": null, "admin": false, "liveSessions": 0}, "revokedSessions": 0})),
                )
            },
        },
        Route {
            method: Method::Post,
            path: "/internal/users/{id}/grant-admin",
            id: "internal.user_grant_admin",
            to: || web::post().to(user_grant_admin),
            rate_limit: None,
            access: Access::Admin,
            doc: || {
                user_path(
                    Op::new("internal", "internal.user_grant_admin", "Grant the admin role")
                        .describe("The account holds the admin role from now on: it may enter the admin console (which also requires it not to be disabled; a disabled account may hold the role). Granting a held role changes nothing and answers the same; of parallel grants one changes the role. Audited (`admin_role_grant`, target `user:<id>`) when it changed something. Answers the account as `GET /internal/users/{id}` does. No body. `auth-server users grant-admin ID` does the same.")
                        .reply::<UserResponse>(200, "The account, `admin` true.", admin_example(true)),
                )
            },
        },
        Route {
            method: Method::Post,
            path: "/internal/users/{id}/revoke-admin",
            id: "internal.user_revoke_admin",
            to: || web::post().to(user_revoke_admin),
            rate_limit: None,
            access: Access::Admin,
            doc: || {
                user_path(
                    Op::new("internal", "internal.user_revoke_admin", "Revoke the admin role")
                        .describe("The account no longer holds the admin role. Revoking a role not held changes nothing and answers the same. Audited (`admin_role_revoke`, target `user:<id>`) when it changed something. Answers the account as `GET /internal/users/{id}` does. No body. `auth-server users revoke-admin ID` does the same.")
                        .reply::<UserResponse>(200, "The account, `admin` false.", admin_example(false)),
                )
            },
        },
    ]
}
