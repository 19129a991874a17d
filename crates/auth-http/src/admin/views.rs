//! What the admin API answers, as typed views: the HTTP handlers of
//! [`crate::admin`] and the `auth-server` commands of [`crate::cli`] build
//! the same structs from the same use-case results, so a command prints
//! what the matching route answers. Each view is a `camelCase` serde struct
//! whose schema (`utoipa::ToSchema`) is the one `docs/openapi.json`
//! describes.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Serialize;
use utoipa::ToSchema;

use auth_domain::admin::{AccountChange, UserPage, UserView};
use auth_domain::chat::{App, CreatedApp};
use auth_domain::identity::user::{User, UserId};
use auth_domain::import::{ImportReport, RejectedLine};
use auth_domain::sessions::session::Session;

use crate::contracts::iso_millis;

/// `{"success": true, "message"}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = InternalMessage)]
pub struct Message {
    /// `true` on success, `false` on failure.
    pub success: bool,
    /// What happened.
    pub message: String,
}

impl Message {
    /// A success with `message`.
    pub fn done(message: &str) -> Self {
        Self {
            success: true,
            message: message.to_owned(),
        }
    }
}

/// One account as the admin API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserDetail {
    /// The numeric id (`account`'s `id`).
    pub id: i64,
    /// The UUID (the tokens' `sub`).
    pub uuid: String,
    /// The login id, if any.
    pub login_id: Option<String>,
    /// The email.
    pub email: String,
    /// The display name.
    pub name: String,
    /// The profile image URL, if any.
    pub profile_image: Option<String>,
    /// How the password is stored: `argon2id` (current parameters),
    /// `argon2id-old`, `argon2i`, `argon2d`, `bcrypt`, `pbkdf2-sha1`,
    /// `pbkdf2-sha256`, `pbkdf2-sha512`, `scrypt`, `none` (no password) or
    /// `unknown`. Anything but `argon2id` and `none` is upgraded at the
    /// next password login.
    pub password_scheme: String,
    /// Linked social providers (`google`, `kakao`, `naver`).
    pub providers: Vec<String>,
    /// When the account was created, `2024-03-01T09:00:00.000Z`.
    pub created_at: String,
    /// Whether an administrator disabled the account (no login on any
    /// contract).
    pub disabled: bool,
    /// When it was disabled, or `null`.
    pub disabled_at: Option<String>,
    /// Whether the account holds the admin role (may enter the admin
    /// console; a disabled account may hold it and still cannot sign in).
    pub admin: bool,
    /// How many of its sessions can still be used now.
    pub live_sessions: usize,
    /// Its second factors (`GET /internal/users/{id}`, `users show`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa: Option<MfaSummary>,
}

/// Which second factors a user has.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = InternalMfaSummary)]
pub struct MfaSummary {
    /// A TOTP authenticator is on.
    pub totp: bool,
    /// Registered passkeys.
    pub passkeys: usize,
    /// Unspent recovery codes.
    pub recovery_codes_left: u32,
}

impl From<&UserView> for UserDetail {
    fn from(view: &UserView) -> Self {
        let u = &view.user;
        Self {
            id: u.id.get(),
            uuid: u.uuid.to_string(),
            login_id: u.login_id.as_ref().map(|l| l.as_str().to_owned()),
            email: u.email.as_str().to_owned(),
            name: u.name.clone(),
            profile_image: u.profile_image.clone(),
            password_scheme: view.password_scheme.as_str().to_owned(),
            providers: view.providers.iter().map(|p| p.as_str().to_owned()).collect(),
            created_at: iso_millis(u.created_at),
            disabled: u.disabled_at.is_some(),
            disabled_at: u.disabled_at.map(iso_millis),
            admin: view.admin,
            live_sessions: view.live_sessions,
            mfa: view.factors.map(|f| MfaSummary {
                totp: f.totp,
                passkeys: f.passkeys,
                recovery_codes_left: f.recovery_codes_left,
            }),
        }
    }
}

/// `{"success": true, "user": {…}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    /// Always `true`.
    pub success: bool,
    /// The account.
    pub user: UserDetail,
}

impl From<&UserView> for UserResponse {
    /// The answer of `GET /internal/users/{id}` and what `auth-server
    /// users show` prints.
    fn from(view: &UserView) -> Self {
        Self {
            success: true,
            user: view.into(),
        }
    }
}

/// One account in a search result.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSummary {
    /// The numeric id.
    pub id: i64,
    /// The UUID (the tokens' `sub`).
    pub uuid: String,
    /// The login id, if any.
    pub login_id: Option<String>,
    /// The email.
    pub email: String,
    /// The display name.
    pub name: String,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// When the account was created.
    pub created_at: String,
}

impl From<&User> for UserSummary {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.get(),
            uuid: u.uuid.to_string(),
            login_id: u.login_id.as_ref().map(|l| l.as_str().to_owned()),
            email: u.email.as_str().to_owned(),
            name: u.name.clone(),
            disabled: u.disabled_at.is_some(),
            created_at: iso_millis(u.created_at),
        }
    }
}

/// `{"success": true, "items": […], "nextCursor"}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserListResponse {
    /// Always `true`.
    pub success: bool,
    /// Lowest ids first.
    pub items: Vec<UserSummary>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl From<&UserPage> for UserListResponse {
    /// `GET /internal/users`' answer (and `auth-server users list`'s
    /// output).
    fn from(page: &UserPage) -> Self {
        Self {
            success: true,
            items: page.users.iter().map(UserSummary::from).collect(),
            next_cursor: page.next_after.map(encode_cursor),
        }
    }
}

/// Users per page of `GET /internal/users` (and `auth-server users list`)
/// when `limit` is not given.
pub const DEFAULT_USER_PAGE: u32 = 20;

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

/// `{"success": true, "user": {…}, "revokedSessions"}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountChangeResponse {
    /// Always `true`.
    pub success: bool,
    /// The account as stored now.
    pub user: UserDetail,
    /// How many live sessions this call revoked (`LOGOUT` pushed to each).
    pub revoked_sessions: usize,
}

impl From<&AccountChange> for AccountChangeResponse {
    /// The answer of disable/enable (and of `auth-server users
    /// disable|enable`).
    fn from(change: &AccountChange) -> Self {
        Self {
            success: true,
            user: (&change.view).into(),
            revoked_sessions: change.revoked_sessions,
        }
    }
}

/// One session.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// The session id (the tokens' `sid`).
    pub id: String,
    /// The contract its login came through (`standard`, `session`,
    /// `picsel`, `account`).
    pub contract: String,
    /// The client IP of that login, when known.
    pub ip: Option<String>,
    /// Its `User-Agent`, when known.
    pub user_agent: Option<String>,
    /// When it was opened.
    pub created_at: String,
    /// When a refresh last used it, or `null`.
    pub last_refreshed_at: Option<String>,
}

impl From<&Session> for SessionView {
    fn from(s: &Session) -> Self {
        Self {
            id: s.id.to_string(),
            contract: s.client.clone(),
            ip: s.ip.map(|ip| ip.to_string()),
            user_agent: s.user_agent.clone(),
            created_at: iso_millis(s.created_at),
            last_refreshed_at: s.last_refreshed_at.map(iso_millis),
        }
    }
}

/// `{"success": true, "sessions": […]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionListResponse {
    /// Always `true`.
    pub success: bool,
    /// The sessions that can still be used, oldest first.
    pub sessions: Vec<SessionView>,
}

impl From<&[Session]> for SessionListResponse {
    /// The sessions' answer (and `auth-server users sessions`' output).
    fn from(sessions: &[Session]) -> Self {
        Self {
            success: true,
            sessions: sessions.iter().map(SessionView::from).collect(),
        }
    }
}

/// `{"success": true, "revoked"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedResponse {
    /// Always `true`.
    pub success: bool,
    /// How many live sessions this call revoked; 0 when they were already
    /// revoked (by a concurrent call, say: each session is counted once).
    pub revoked: usize,
}

impl RevokedResponse {
    /// A revocation's answer.
    pub fn new(revoked: usize) -> Self {
        Self {
            success: true,
            revoked,
        }
    }
}

/// One registered application (no secret).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppView {
    /// The `App-Id`.
    pub app_id: String,
    /// The name.
    pub name: String,
    /// When it was registered.
    pub created_at: String,
    /// 0 at registration, one more at each secret rotation.
    pub secret_version: i64,
}

impl From<&App> for AppView {
    fn from(a: &App) -> Self {
        Self {
            app_id: a.id.as_str().to_owned(),
            name: a.name.clone(),
            created_at: iso_millis(a.created_at),
            secret_version: a.secret_version,
        }
    }
}

/// `{"success": true, "apps": […]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppListResponse {
    /// Always `true`.
    pub success: bool,
    /// Oldest first.
    pub apps: Vec<AppView>,
}

impl From<&[App]> for AppListResponse {
    /// `GET /internal/apps`' answer (and `auth-server apps list`'s output).
    fn from(apps: &[App]) -> Self {
        Self {
            success: true,
            apps: apps.iter().map(AppView::from).collect(),
        }
    }
}

/// What deleting an application answers (`DELETE /internal/apps/{appId}`,
/// `auth-server apps delete`).
pub const APP_DELETED: &str = "앱을 삭제했습니다.";

/// A registered application, with its secret (shown once).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedAppResponse {
    /// The `App-Id` clients send.
    pub app_id: String,
    /// The name.
    pub name: String,
    /// The HS256 secret the app's backend signs its users' tokens with.
    pub secret: String,
}

impl From<&CreatedApp> for CreatedAppResponse {
    /// `{"appId","name","secret"}`: the answer of `POST /internal/apps`,
    /// of a secret rotation, and of `auth-server apps
    /// create|rotate-secret`.
    fn from(created: &CreatedApp) -> Self {
        Self {
            app_id: created.app.id.as_str().to_owned(),
            name: created.app.name.clone(),
            secret: created.secret.clone(),
        }
    }
}

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventView {
    /// When, `2025-12-08T11:00:00.000Z`.
    pub at: String,
    /// `login_success`, `login_failure`, `logout`, `token_reuse`, …
    pub kind: String,
    /// The user's numeric id, when known.
    pub user_id: Option<i64>,
    /// The session, when one is involved.
    pub session_id: Option<String>,
    /// The client IP.
    pub ip: Option<String>,
    /// The client's user agent.
    pub user_agent: Option<String>,
    /// What an administrator's action acted on (`user:7`,
    /// `session:<sid>`, `app:<id>`); `null` for other events.
    pub target: Option<String>,
}

impl From<&auth_domain::audit::AuditEvent> for AuditEventView {
    fn from(e: &auth_domain::audit::AuditEvent) -> Self {
        Self {
            at: iso_millis(e.at),
            kind: e.kind.as_str().to_owned(),
            user_id: e.user_id.map(UserId::get),
            session_id: e.session_id.map(|s| s.to_string()),
            ip: e.ip.map(|ip| ip.to_string()),
            user_agent: e.user_agent.clone(),
            target: e.target.clone(),
        }
    }
}

/// `{"success": true, "events": […]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditResponse {
    /// Always `true`.
    pub success: bool,
    /// Newest first.
    pub events: Vec<AuditEventView>,
}

/// One refused line, as reported.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RejectView {
    /// 1-based line number in the input.
    pub line: u64,
    /// Why it was refused.
    pub reason: String,
}

impl From<RejectedLine> for RejectView {
    fn from(r: RejectedLine) -> Self {
        Self {
            line: r.line,
            reason: r.reason,
        }
    }
}

/// The final report of an import (the answer of `POST
/// /internal/users/import` and what `auth-server users import` prints).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportReportView {
    /// `true`: the import ran to the end of the input.
    pub success: bool,
    /// Nothing was stored (`dryRun`).
    pub dry_run: bool,
    /// Non-blank lines read.
    pub records: u64,
    /// Accounts stored (in a dry run: that would be).
    pub imported: u64,
    /// Accounts an earlier import stored already (same id, login id, email).
    pub skipped: u64,
    /// Refused lines (malformed, invalid, repeated in the input, or in
    /// conflict with an existing account).
    pub rejected: u64,
    /// Of `rejected`, those in conflict with an existing account.
    pub conflicts: u64,
    /// Imported accounts per password scheme (`argon2id`, `bcrypt`, …;
    /// `none` for social-only accounts).
    pub by_scheme: BTreeMap<String, u64>,
    /// The refused lines, in order (at most `rejectsLimit`; the CLI writes
    /// all of them to its rejects file).
    pub rejects: Vec<RejectView>,
    /// `true` when more lines were refused than `rejects` lists.
    pub rejects_truncated: bool,
}

impl ImportReportView {
    /// The view of `report` with `rejects` (already cut to the limit).
    pub fn new(report: &ImportReport, rejects: Vec<RejectView>) -> Self {
        Self {
            success: true,
            dry_run: report.dry_run,
            records: report.records,
            imported: report.imported,
            skipped: report.skipped,
            rejected: report.rejected,
            conflicts: report.conflicts,
            by_scheme: report
                .by_scheme
                .iter()
                .map(|(s, n)| (s.as_str().to_owned(), *n))
                .collect(),
            rejects_truncated: report.rejected > rejects.len() as u64,
            rejects,
        }
    }
}

/// What `auth-server users import` prints: the report of `POST
/// /internal/users/import` (with the first rejects) plus where all the
/// rejects went and how long it took.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CliImportReport {
    /// The report.
    #[serde(flatten)]
    pub report: ImportReportView,
    /// The file every refused line was written to.
    pub rejects_file: String,
    /// Wall time, in seconds (milliseconds precision).
    pub seconds: f64,
}

// The signing keys' views live with their routes.
pub use super::keys::{KeyView, KeysSummary, RotateResponse, RotatedView};

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
