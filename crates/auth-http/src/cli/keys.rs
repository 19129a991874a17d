//! `auth-server keys list|rotate|reset`: the signing keys of access tokens
//! and ID tokens, through [`crate::startup::TokenKeys`], printed as the
//! admin API's key views.

use super::output;
use crate::admin::views::KeysSummary;
use crate::settings::Settings;
use crate::startup::{StartupError, open_database};

/// Why `auth-server keys list` or `keys rotate` failed.
#[derive(Debug, thiserror::Error)]
pub enum KeysCommandError {
    /// The database or the keys could not be set up.
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// The rotation was refused or failed.
    #[error(transparent)]
    Rotate(#[from] crate::startup::RotateError),
}

/// `auth-server keys list`: every signing key (access and ID-token keys,
/// each with its `purpose`) with its state and dates,
/// `{"source","algorithm","keys":[…]}`.
///
/// # Errors
/// [`KeysCommandError`].
pub async fn keys_list(settings: &Settings) -> Result<serde_json::Value, KeysCommandError> {
    let db = open_database(settings).await?;
    let keys = crate::startup::TokenKeys::load(settings, &db).await?;
    Ok(output(&KeysSummary::new(&keys)))
}

/// `auth-server keys rotate [--activate-now]`: adds an access-token key
/// (when they are kept in the database) and one ID-token key per
/// algorithm (see `POST /internal/keys/rotate`); running instances use
/// them within `AUTH_JWT_KEY_REFRESH_SECONDS`. Prints the new access key's
/// `kid`, every key added (`rotated`) and every key.
///
/// # Errors
/// [`KeysCommandError`].
pub async fn keys_rotate(
    settings: &Settings,
    activate_now: bool,
) -> Result<serde_json::Value, KeysCommandError> {
    let db = open_database(settings).await?;
    let keys = crate::startup::TokenKeys::load(settings, &db).await?;
    let rotation = keys.rotate(activate_now).await?;
    Ok(output(&KeysSummary {
        kid: rotation.access.as_ref().map(|r| r.kid.clone()),
        activates_at: rotation
            .access
            .as_ref()
            .map(|r| crate::contracts::iso_millis(r.activates_at)),
        rotated: crate::admin::views::RotatedView::all(&rotation),
        ..KeysSummary::new(&keys)
    }))
}

/// `auth-server keys reset`: the way back from a lost
/// `AUTH_KEY_ENCRYPTION_KEY` (or keys that cannot be opened): deletes every
/// signing key (access and ID-token keys) without reading them, then makes
/// new ones under the configured KEK. Access and ID tokens signed by the
/// old keys stop verifying at once; sessions survive, since refresh tokens
/// are signed by the HS256 secret, which the KEK does not seal (a refresh
/// by refresh token alone, as `session` and `picsel` do, gets a new access
/// token). Prints `{"removed": N, ...the new keys}`.
///
/// # Errors
/// [`KeysCommandError`].
pub async fn keys_reset(settings: &Settings) -> Result<serde_json::Value, KeysCommandError> {
    let db = open_database(settings).await?;
    let removed = auth_infra::reset_signing_keys(&db)
        .await
        .map_err(|e| StartupError::Keys(e.to_string()))?;
    let keys = crate::startup::TokenKeys::load(settings, &db).await?;
    let mut out = output(&KeysSummary::new(&keys));
    if let serde_json::Value::Object(map) = &mut out {
        map.insert("removed".into(), serde_json::json!(removed));
    }
    Ok(out)
}
