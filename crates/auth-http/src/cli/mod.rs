//! Administrative commands of `auth-server` besides serving.
//!
//! The commands that do what an admin route does print that route's
//! answer: the same view of [`crate::admin::views`], built from the same
//! use case's result.

use std::sync::Arc;

use auth_domain::chat::use_cases::CreateAppError;
use auth_infra::LocalEventBus;
use serde::Serialize;

pub mod backup;
pub mod clients;
mod import;
mod keys;
mod roles;

pub use import::{ImportArgs, UsersCommandError, import_users};
pub use roles::{user_grant_admin, user_revoke_admin};

use crate::admin::views::{
    APP_DELETED, AccountChangeResponse, AppListResponse, CreatedAppResponse, DEFAULT_USER_PAGE, Message,
    RevokedResponse, UserListResponse, UserResponse, decode_cursor,
};
use crate::settings::Settings;
use crate::startup::{StartupError, apps_service, open_database, session_admin_service, user_admin_service};

/// What a command prints: `view` as a JSON document (its keys in
/// alphabetical order, like the admin routes' answers).
pub(crate) fn output<T: Serialize>(view: &T) -> serde_json::Value {
    serde_json::to_value(view).unwrap_or(serde_json::Value::Null)
}

/// Why `auth-server apps create` or `auth-server purge` failed.
#[derive(Debug, thiserror::Error)]
pub enum AppsCommandError {
    /// The database or the service could not be set up.
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// The name is blank or too long.
    #[error("the application name must be 1 to 100 characters")]
    InvalidName,
    /// The database failed.
    #[error("{0}")]
    Internal(auth_domain::PortError),
}

/// `auth-server apps create --name NAME`: registers a `chat` application
/// in the configured database and returns `{"appId","name","secret"}`, the
/// same JSON as `POST /internal/apps`, for the caller to print once.
///
/// Only the applications' store is set up: no signing key, password
/// hasher, mailer or OAuth client, so the command works whatever their
/// settings.
///
/// # Errors
/// [`AppsCommandError`].
pub async fn create_app(settings: &Settings, name: &str) -> Result<serde_json::Value, AppsCommandError> {
    let db = open_database(settings).await?;
    // A new application has no socket to tell.
    let apps = apps_service(settings, &db, Arc::new(LocalEventBus::new(16))).await?;
    // As before the explicit caller: `apps create` records no user agent.
    match apps.create_app(name, &cli_caller()).await {
        Ok(created) => Ok(output(&CreatedAppResponse::from(&created))),
        Err(CreateAppError::InvalidName) => Err(AppsCommandError::InvalidName),
        Err(CreateAppError::Internal(e)) => Err(AppsCommandError::Internal(e)),
    }
}

/// `auth-server purge`: deletes expired rows once (what the scheduled
/// purge does every `AUTH_PURGE_INTERVAL_SECONDS`) and returns what was
/// deleted as JSON, e.g. `{"refreshRecords":3,"sessions":1,…}`.
///
/// # Errors
/// [`AppsCommandError::Startup`] when the database cannot be opened,
/// [`AppsCommandError::Internal`] when a delete fails.
pub async fn purge(settings: &Settings) -> Result<serde_json::Value, AppsCommandError> {
    let db = open_database(settings).await?;
    let report = crate::startup::housekeeper(settings, &db)
        .purge()
        .await
        .map_err(AppsCommandError::Internal)?;
    Ok(serde_json::json!({
        "refreshRecords": report.refresh_records,
        "sessions": report.sessions,
        "codes": report.codes,
        "oauthStates": report.oauth_states,
        "authorizationCodes": report.authorization_codes,
        "secondFactorSteps": report.second_factor_steps,
        "throttleCounters": report.throttle_counters,
        "requestRates": report.request_rates,
        "auditEvents": report.audit_events,
    }))
}

/// `auth-server healthcheck`: `GET path` (`/readyz`, or `/healthz` with
/// `--live`) on the server at `bind` (a wildcard address is asked on
/// loopback), within 5 seconds.
///
/// # Errors
/// What failed: no connection, a timeout, or a status other than 200.
pub fn healthcheck(bind: &str, path: &str) -> Result<(), String> {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
    use std::time::Duration;
    let mut addr: SocketAddr = bind
        .to_socket_addrs()
        .map_err(|e| format!("AUTH_BIND {bind}: {e}"))?
        .next()
        .ok_or_else(|| format!("AUTH_BIND {bind} names no address"))?;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let timeout = Duration::from_secs(5);
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes())
        .map_err(|e| format!("cannot ask {addr}: {e}"))?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| format!("no answer from {addr}: {e}"))?;
    let status = answer.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) == Some("200") {
        Ok(())
    } else {
        Err(format!("GET {path} answered: {status}"))
    }
}

/// `auth-server users show ID`: the same JSON as `GET /internal/users/{id}`.
///
/// # Errors
/// [`UsersCommandError`].
pub async fn show_user(settings: &Settings, id: &str) -> Result<serde_json::Value, UsersCommandError> {
    use auth_domain::identity::ports::UserRepository as _;
    use auth_domain::identity::user::{Email, LoginId, UserId};
    let raw = id.trim();
    let db = open_database(settings).await?;
    let unknown = || UsersCommandError::UnknownUser(format!("{raw:?}"));
    // A number is the id; otherwise a login id or an email.
    let user_id = match raw.parse::<i64>() {
        Ok(n) => UserId::new(n),
        Err(_) => {
            let users = auth_infra::DieselUserRepository::new(db.clone());
            let found = if raw.contains('@') {
                let email = Email::parse(raw).map_err(|_| unknown())?;
                users.by_email(&email).await
            } else {
                let login = LoginId::parse(raw).map_err(|_| unknown())?;
                users.by_login_id(&login).await
            };
            found
                .map_err(UsersCommandError::Internal)?
                .ok_or_else(unknown)?
                .id
        }
    };
    let view = user_admin_service(settings, &db, Arc::new(LocalEventBus::new(16)))?
        .user_view(user_id)
        .await
        .map_err(UsersCommandError::Internal)?
        .ok_or_else(unknown)?;
    Ok(output(&UserResponse::from(&view)))
}

/// Why an admin command (`users
/// list|disable|enable|reset-mfa|grant-admin|revoke-admin|revoke-sessions`,
/// `sessions revoke`, `apps list|delete|rotate-secret`, `send-test-email`)
/// failed. Every one exits non-zero.
#[derive(Debug, thiserror::Error)]
pub enum AdminCommandError {
    /// The database or the service could not be set up.
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// An argument is invalid.
    #[error("{0}")]
    Invalid(String),
    /// The user, session or application does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The database failed.
    #[error("{0}")]
    Internal(auth_domain::PortError),
    /// The mailer did not accept the test message.
    #[error("the test email was not sent: {0}")]
    Mail(String),
}

impl From<auth_domain::PortError> for AdminCommandError {
    fn from(e: auth_domain::PortError) -> Self {
        Self::Internal(e)
    }
}

impl From<auth_domain::admin::AdminError> for AdminCommandError {
    fn from(e: auth_domain::admin::AdminError) -> Self {
        use auth_domain::admin::AdminError as E;
        match e {
            E::UnknownUser => Self::NotFound("no such user".into()),
            E::UnknownSession => Self::NotFound("no such session".into()),
            E::UnknownApp => Self::NotFound("no such application".into()),
            E::InvalidQuery => Self::Invalid(format!(
                "--query must be at most {} characters, without control characters",
                auth_domain::admin::MAX_USER_QUERY_CHARS
            )),
            E::Internal(e) => Self::Internal(e),
        }
    }
}

/// The configured database and the bus an admin command announces on.
/// Its announcements (`LOGOUT` of revoked sessions) reach the sockets of
/// running servers the way another instance's do: with PostgreSQL by
/// `NOTIFY` on the event channel every server listens to; with SQLite (one
/// server, no bus between processes) at the sockets' next session check
/// (`AUTH_WS_SESSION_CHECK_SECONDS`).
async fn admin_database(
    settings: &Settings,
) -> Result<(auth_infra::Database, Arc<dyn auth_domain::ports::EventBus>), AdminCommandError> {
    let db = open_database(settings).await?;
    let events: Arc<dyn auth_domain::ports::EventBus> =
        match (settings.database.event_bus.as_str(), db.backend()) {
            ("local", _) | (_, auth_infra::Backend::Sqlite) => Arc::new(LocalEventBus::new(16)),
            _ => Arc::new(auth_infra::PgEventBus::publisher(db.clone())),
        };
    Ok((db, events))
}

/// The administrator's user use cases (`users
/// list|disable|enable|reset-mfa|grant-admin|revoke-admin`).
async fn user_admin(settings: &Settings) -> Result<auth_domain::admin::UserAdmin, AdminCommandError> {
    let (db, events) = admin_database(settings).await?;
    Ok(user_admin_service(settings, &db, events)?)
}

/// The administrator's session use cases (`users revoke-sessions`,
/// `sessions revoke`): sessions, users, the bus and the audit trail only.
async fn session_admin(settings: &Settings) -> Result<auth_domain::admin::SessionAdmin, AdminCommandError> {
    let (db, events) = admin_database(settings).await?;
    Ok(session_admin_service(settings, &db, events))
}

/// The `chat` applications (`apps list|delete|rotate-secret`); a delete or
/// re-key is announced like a revocation (the application's sockets close).
async fn apps_admin(settings: &Settings) -> Result<auth_domain::chat::use_cases::Apps, AdminCommandError> {
    let (db, events) = admin_database(settings).await?;
    Ok(apps_service(settings, &db, events).await?)
}

/// The administrator's commands as callers: the audit trail tells their
/// actions from the API's by the user agent.
pub(crate) fn cli_caller() -> auth_domain::Caller {
    auth_domain::Caller::new("cli").with_user_agent(Some(
        concat!("auth-server/", env!("CARGO_PKG_VERSION"), " (cli)").to_owned(),
    ))
}

fn cli_user_id(raw: &str) -> Result<auth_domain::identity::user::UserId, AdminCommandError> {
    raw.trim()
        .parse::<i64>()
        .map(auth_domain::identity::user::UserId::new)
        .map_err(|_| AdminCommandError::Invalid(format!("{raw:?} is not a numeric user id")))
}

fn cli_app_id(raw: &str) -> Result<auth_domain::chat::AppId, AdminCommandError> {
    auth_domain::chat::AppId::parse(raw.trim()).map_err(|()| {
        AdminCommandError::Invalid(format!(
            "{raw:?} is not an application id (1 to 64 letters, digits, _ or -)"
        ))
    })
}

/// `auth-server users list [--query Q] [--limit N] [--cursor C]`: the same
/// JSON as `GET /internal/users`.
///
/// # Errors
/// [`AdminCommandError`].
pub async fn users_list(
    settings: &Settings,
    query: Option<&str>,
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<serde_json::Value, AdminCommandError> {
    let limit = limit.unwrap_or(DEFAULT_USER_PAGE);
    if !(1..=auth_domain::admin::MAX_USER_PAGE).contains(&limit) {
        return Err(AdminCommandError::Invalid(format!(
            "--limit must be 1 to {}",
            auth_domain::admin::MAX_USER_PAGE
        )));
    }
    let after = match cursor.map(str::trim).filter(|c| !c.is_empty()) {
        None => None,
        Some(raw) => Some(decode_cursor(raw).ok_or_else(|| {
            AdminCommandError::Invalid(format!("--cursor {raw:?} is not a cursor this service gave"))
        })?),
    };
    let page = user_admin(settings)
        .await?
        .search_users(query, after, limit)
        .await?;
    Ok(output(&UserListResponse::from(&page)))
}

/// `auth-server users disable ID`: the same JSON as `POST
/// /internal/users/{id}/disable`.
///
/// # Errors
/// [`AdminCommandError`].
pub async fn user_disable(settings: &Settings, id: &str) -> Result<serde_json::Value, AdminCommandError> {
    let id = cli_user_id(id)?;
    let change = user_admin(settings)
        .await?
        .disable_user(id, &cli_caller())
        .await?;
    Ok(output(&AccountChangeResponse::from(&change)))
}

/// `auth-server users reset-mfa ID`: the same JSON as `DELETE
/// /internal/users/{id}/mfa`.
///
/// # Errors
/// [`AdminCommandError`].
pub async fn user_reset_mfa(settings: &Settings, id: &str) -> Result<serde_json::Value, AdminCommandError> {
    let id = cli_user_id(id)?;
    let removed = user_admin(settings)
        .await?
        .reset_second_factors(id, &cli_caller())
        .await?;
    Ok(serde_json::json!({"success": true, "removed": removed}))
}

/// `auth-server users enable ID`: the same JSON as `POST
/// /internal/users/{id}/enable`.
///
/// # Errors
/// [`AdminCommandError`].
pub async fn user_enable(settings: &Settings, id: &str) -> Result<serde_json::Value, AdminCommandError> {
    let id = cli_user_id(id)?;
    let change = user_admin(settings).await?.enable_user(id, &cli_caller()).await?;
    Ok(output(&AccountChangeResponse::from(&change)))
}

/// `auth-server users revoke-sessions ID`: the same JSON as `DELETE
/// /internal/users/{id}/sessions`.
///
/// # Errors
/// [`AdminCommandError`].
pub async fn user_revoke_sessions(
    settings: &Settings,
    id: &str,
) -> Result<serde_json::Value, AdminCommandError> {
    let id = cli_user_id(id)?;
    let revoked = session_admin(settings)
        .await?
        .revoke_user_sessions(id, &cli_caller())
        .await?;
    Ok(output(&RevokedResponse::new(revoked)))
}

/// `auth-server sessions revoke SID`: the same JSON as `DELETE
/// /internal/sessions/{sid}`.
///
/// # Errors
/// [`AdminCommandError`].
pub async fn session_revoke(settings: &Settings, sid: &str) -> Result<serde_json::Value, AdminCommandError> {
    let sid = uuid::Uuid::parse_str(sid.trim())
        .map(auth_domain::sessions::session::SessionId::from_uuid)
        .map_err(|_| AdminCommandError::Invalid(format!("{sid:?} is not a session id (a UUID)")))?;
    let revoked = session_admin(settings)
        .await?
        .revoke_session(sid, &cli_caller())
        .await?;
    Ok(output(&RevokedResponse::new(usize::from(revoked))))
}

/// `auth-server apps list`: the same JSON as `GET /internal/apps`.
///
/// # Errors
/// [`AdminCommandError`].
pub async fn apps_list(settings: &Settings) -> Result<serde_json::Value, AdminCommandError> {
    let apps = apps_admin(settings).await?.list_apps().await?;
    Ok(output(&AppListResponse::from(apps.as_slice())))
}

/// `auth-server apps delete APP_ID`: the same JSON as `DELETE
/// /internal/apps/{appId}`.
///
/// # Errors
/// [`AdminCommandError`].
pub async fn app_delete(settings: &Settings, id: &str) -> Result<serde_json::Value, AdminCommandError> {
    let id = cli_app_id(id)?;
    apps_admin(settings).await?.delete_app(&id, &cli_caller()).await?;
    Ok(output(&Message::done(APP_DELETED)))
}

/// `auth-server apps rotate-secret APP_ID`: the same JSON as `POST
/// /internal/apps/{appId}/secret`, with the new secret (printed once).
///
/// # Errors
/// [`AdminCommandError`].
pub async fn app_rotate_secret(
    settings: &Settings,
    id: &str,
) -> Result<serde_json::Value, AdminCommandError> {
    let id = cli_app_id(id)?;
    let created = apps_admin(settings)
        .await?
        .rotate_app_secret(&id, &cli_caller())
        .await?;
    Ok(output(&CreatedAppResponse::from(&created)))
}

/// `auth-server send-test-email TO`: sends one message through the
/// configured mailer (SMTP, or a `.eml` file in the outbox) without
/// touching the database, and reports `{"success":true,"to","via"}`.
///
/// # Errors
/// [`AdminCommandError::Invalid`] for an address that is not one,
/// [`AdminCommandError::Startup`] for an unusable mail setting,
/// [`AdminCommandError::Mail`] when the message was not accepted.
pub async fn send_test_email(settings: &Settings, to: &str) -> Result<serde_json::Value, AdminCommandError> {
    let email = auth_domain::identity::user::Email::parse(to)
        .map_err(|_| AdminCommandError::Invalid(format!("{to:?} is not an email address")))?;
    let mailer = crate::startup::build_mailer(settings)?;
    let mail = auth_domain::verification::OutgoingMail {
        to: email.clone(),
        content: auth_domain::verification::MailContent::Worded {
            subject: "[auth-server] 테스트 메일 / test email".into(),
            text: "auth-server의 메일 설정이 동작합니다. The mail settings of auth-server work.\n".into(),
            html: "<p>auth-server의 메일 설정이 동작합니다.</p><p>The mail settings of auth-server work.</p>"
                .into(),
        },
    };
    mailer
        .send(&mail)
        .await
        .map_err(|e| AdminCommandError::Mail(auth_infra::error_chain(&e)))?;
    let via = if settings.mail.smtp_url.is_some() {
        "smtp"
    } else {
        "file"
    };
    Ok(serde_json::json!({"success": true, "to": email.as_str(), "via": via}))
}

pub use keys::{KeysCommandError, keys_list, keys_reset, keys_rotate};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{DatabaseSettings, MailSettings};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn creates_an_app_in_the_configured_database() {
        let dir = std::env::temp_dir().join(format!("auth-cli-{}", uuid::Uuid::new_v4()));
        let settings = Settings {
            database: DatabaseSettings {
                url: format!("sqlite://{}", dir.join("auth.db").display()),
                ..DatabaseSettings::default()
            },
            mail: MailSettings {
                dir: Some(dir.join("outbox").display().to_string()),
                ..MailSettings::default()
            },
            ..Settings::default()
        };
        let out = create_app(&settings, "Chat CLI").await.unwrap();
        assert_eq!(out["name"], "Chat CLI");
        assert!(out["appId"].as_str().unwrap().starts_with("app_"));
        assert_eq!(out["secret"].as_str().unwrap().len(), 64);
        let again = create_app(&settings, "Chat CLI").await.unwrap();
        assert_ne!(out["appId"], again["appId"]);
        assert!(matches!(
            create_app(&settings, "  ").await,
            Err(AppsCommandError::InvalidName)
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keys_rotate_and_list() {
        let dir = std::env::temp_dir().join(format!("auth-cli-{}", uuid::Uuid::new_v4()));
        let settings = Settings {
            database: DatabaseSettings {
                url: format!("sqlite://{}", dir.join("auth.db").display()),
                ..DatabaseSettings::default()
            },
            ..Settings::default()
        };
        let listed = keys_list(&settings).await.unwrap();
        assert_eq!(listed["source"], "database");
        assert_eq!(listed["algorithm"], "ES256");
        let purposes = |v: &serde_json::Value| -> Vec<String> {
            v["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["purpose"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(purposes(&listed), ["access", "id:RS256", "id:ES256", "id:EdDSA"]);
        let first = listed["keys"][0]["kid"].as_str().unwrap().to_owned();
        assert_eq!(listed["keys"][0]["state"], "active");
        assert_eq!(listed["keys"][1]["alg"], "RS256");
        assert_eq!(listed["keys"][1]["state"], "active");
        let rotated = keys_rotate(&settings, false).await.unwrap();
        assert_eq!(rotated["keys"].as_array().unwrap().len(), 8);
        assert_eq!(rotated["rotated"].as_array().unwrap().len(), 4);
        assert_eq!(rotated["rotated"][0]["purpose"], "access");
        assert_eq!(rotated["rotated"][0]["kid"], rotated["kid"]);
        assert_eq!(rotated["keys"][0]["kid"], first.as_str());
        assert_eq!(rotated["keys"][0]["state"], "active");
        assert_eq!(rotated["keys"][1]["state"], "pending");
        assert_eq!(rotated["keys"][1]["purpose"], "access");
        assert_eq!(rotated["keys"][3]["purpose"], "id:RS256");
        assert_eq!(rotated["keys"][3]["state"], "pending");
        let now = keys_rotate(&settings, true).await.unwrap();
        assert_eq!(now["keys"][2]["state"], "active");
        assert_eq!(now["keys"][2]["kid"], now["kid"]);
        assert_eq!(now["keys"][0]["state"], "retiring");
        // HS256: the access key is the operator's; the ID-token keys
        // still rotate.
        let mut legacy = settings.clone();
        legacy.tokens.algorithm = Some("HS256".into());
        let id_only = keys_rotate(&legacy, true).await.unwrap();
        assert!(id_only.get("kid").is_none(), "{id_only}");
        let added: Vec<&str> = id_only["rotated"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["purpose"].as_str().unwrap())
            .collect();
        assert_eq!(added, ["id:RS256", "id:ES256", "id:EdDSA"]);
        assert_eq!(
            purposes(&id_only).len(),
            1 + 12,
            "the HS256 key and 4 ID-token keys per algorithm"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
