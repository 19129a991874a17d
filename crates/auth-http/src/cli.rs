//! Administrative commands of `auth-server` besides serving.

use std::sync::Arc;

use auth_domain::service::CreateAppError;
use auth_infra::LocalEventBus;

use crate::settings::Settings;
use crate::startup::{StartupError, build_service, open_database};

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
/// # Errors
/// [`AppsCommandError`].
pub async fn create_app(settings: &Settings, name: &str) -> Result<serde_json::Value, AppsCommandError> {
    let db = open_database(settings).await?;
    let auth = build_service(settings, &db, Arc::new(LocalEventBus::new(16))).await?;
    match auth.create_app(name).await {
        Ok(created) => Ok(crate::internal::app_json(&created)),
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
        "throttleCounters": report.throttle_counters,
        "auditEvents": report.audit_events,
    }))
}

/// `auth-server healthcheck`: `GET /readyz` on the server at `bind` (a
/// wildcard address is asked on loopback), within 5 seconds.
///
/// # Errors
/// What failed: no connection, a timeout, or a status other than 200.
pub fn healthcheck(bind: &str) -> Result<(), String> {
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
        .write_all(format!("GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes())
        .map_err(|e| format!("cannot ask {addr}: {e}"))?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| format!("no answer from {addr}: {e}"))?;
    let status = answer.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) == Some("200") {
        Ok(())
    } else {
        Err(format!("GET /readyz answered: {status}"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn creates_an_app_in_the_configured_database() {
        let dir = std::env::temp_dir().join(format!("auth-cli-{}", uuid::Uuid::new_v4()));
        let settings = Settings {
            database_url: format!("sqlite://{}", dir.join("auth.db").display()),
            mail_dir: Some(dir.join("outbox").display().to_string()),
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
}
