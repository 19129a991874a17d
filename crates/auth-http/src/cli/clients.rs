//! `auth-server clients create|list|show|delete|rotate-secret`: the
//! OpenID Connect clients, through the same use cases and views as
//! `/internal/oauth-clients` ([`crate::admin::oauth_clients`]); every
//! change is audited with the command's user agent.

use auth_domain::oidc::provider::ClientAdminError;

use super::{AdminCommandError, cli_caller, output};
use crate::admin::oauth_clients::{
    CLIENT_DELETED, ClientListResponse, ClientRequest, ClientResponse, ClientView, RegisteredClientResponse,
};
use crate::admin::views::Message;
use crate::settings::Settings;
use crate::startup::{oauth_client_registry, open_database};

impl From<ClientAdminError> for AdminCommandError {
    fn from(e: ClientAdminError) -> Self {
        match e {
            ClientAdminError::UnknownClient => Self::NotFound("no such client".into()),
            ClientAdminError::Invalid(e) => Self::Invalid(e.to_string()),
            ClientAdminError::PublicClient => Self::Invalid("a public client (none) has no secret".into()),
            ClientAdminError::Internal(e) => Self::Internal(e),
        }
    }
}

async fn registry(
    settings: &Settings,
) -> Result<auth_domain::oidc::provider::ClientRegistry, AdminCommandError> {
    let db = open_database(settings).await?;
    Ok(oauth_client_registry(settings, &db))
}

/// `auth-server clients create …`: the same JSON as `POST
/// /internal/oauth-clients`, with the secret (printed once).
///
/// # Errors
/// [`AdminCommandError`].
pub async fn create(
    settings: &Settings,
    request: ClientRequest,
) -> Result<serde_json::Value, AdminCommandError> {
    let spec = request.spec(None).map_err(AdminCommandError::Invalid)?;
    let registered = registry(settings)
        .await?
        .register_client(spec, &cli_caller())
        .await?;
    Ok(output(&RegisteredClientResponse::from(&registered)))
}

/// `auth-server clients list`.
///
/// # Errors
/// [`AdminCommandError`].
pub async fn list(settings: &Settings) -> Result<serde_json::Value, AdminCommandError> {
    let clients = registry(settings).await?.list_clients().await?;
    Ok(output(&ClientListResponse {
        success: true,
        clients: clients.iter().map(ClientView::from).collect(),
    }))
}

/// `auth-server clients show CLIENT_ID`.
///
/// # Errors
/// [`AdminCommandError`].
pub async fn show(settings: &Settings, client_id: &str) -> Result<serde_json::Value, AdminCommandError> {
    let client = registry(settings)
        .await?
        .client(client_id)
        .await?
        .ok_or_else(|| AdminCommandError::NotFound("no such client".into()))?;
    Ok(output(&ClientResponse {
        success: true,
        client: ClientView::from(&client),
    }))
}

/// `auth-server clients delete CLIENT_ID`.
///
/// # Errors
/// [`AdminCommandError`].
pub async fn delete(settings: &Settings, client_id: &str) -> Result<serde_json::Value, AdminCommandError> {
    registry(settings)
        .await?
        .delete_client(client_id, &cli_caller())
        .await?;
    Ok(output(&Message::done(CLIENT_DELETED)))
}

/// `auth-server clients rotate-secret CLIENT_ID`: the new secret, printed
/// once; the old one stops working at once.
///
/// # Errors
/// [`AdminCommandError`].
pub async fn rotate_secret(
    settings: &Settings,
    client_id: &str,
) -> Result<serde_json::Value, AdminCommandError> {
    let registered = registry(settings)
        .await?
        .rotate_client_secret(client_id, &cli_caller())
        .await?;
    Ok(output(&RegisteredClientResponse::from(&registered)))
}
