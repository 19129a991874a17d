//! Wiring of the `chat` contract's adapters.

use std::sync::Arc;

use auth_domain::chat::use_cases::ChatPorts;
use auth_infra::{
    APPS_KEY_NAME, Database, DieselAppRepository, DieselChatProfiles, HmacAppTokens, load_or_create_key,
};

use super::StartupError;

/// The `chat` ports over `db`. The master key of application secrets is
/// generated on first start and kept in `server_keys` (`apps_hmac`); the
/// key itself is never logged.
///
/// # Errors
/// [`StartupError::Database`] when the key cannot be read or stored.
pub(super) async fn ports(db: &Database) -> Result<ChatPorts, StartupError> {
    let (master, created) = load_or_create_key(db, APPS_KEY_NAME).await?;
    if created {
        tracing::info!("generated the master key of application secrets and stored it in the database");
    }
    Ok(ChatPorts {
        apps: Arc::new(DieselAppRepository::new(db.clone())),
        tokens: Arc::new(HmacAppTokens::new(&master)),
        profiles: Arc::new(DieselChatProfiles::new(db.clone())),
    })
}
