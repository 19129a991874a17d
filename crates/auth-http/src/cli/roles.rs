//! `auth-server users grant-admin|revoke-admin ID`: the admin role, as
//! `POST /internal/users/{id}/grant-admin|revoke-admin` changes it.

use crate::admin::views::UserResponse;
use crate::settings::Settings;

use super::{AdminCommandError, cli_caller, cli_user_id, output, user_admin};

/// `auth-server users grant-admin ID`: the same JSON as `POST
/// /internal/users/{id}/grant-admin` (the account, `admin` true).
///
/// # Errors
/// [`AdminCommandError`] (`NotFound` for an unknown user, `Invalid` for an
/// id that is not a number).
pub async fn user_grant_admin(settings: &Settings, id: &str) -> Result<serde_json::Value, AdminCommandError> {
    let id = cli_user_id(id)?;
    let view = user_admin(settings).await?.grant_admin(id, &cli_caller()).await?;
    Ok(output(&UserResponse::from(&view)))
}

/// `auth-server users revoke-admin ID`: the same JSON as `POST
/// /internal/users/{id}/revoke-admin` (the account, `admin` false).
///
/// # Errors
/// [`AdminCommandError`] (`NotFound` for an unknown user, `Invalid` for an
/// id that is not a number).
pub async fn user_revoke_admin(
    settings: &Settings,
    id: &str,
) -> Result<serde_json::Value, AdminCommandError> {
    let id = cli_user_id(id)?;
    let view = user_admin(settings)
        .await?
        .revoke_admin(id, &cli_caller())
        .await?;
    Ok(output(&UserResponse::from(&view)))
}
