//! The service's own first-party client: the console (`/admin/`) and the
//! account pages (`/account/`) sign in through the hosted sign-in page like
//! any OpenID client, as the public client [`CONSOLE_CLIENT_ID`] with PKCE.
//! It is built in: [`WithConsole`] answers it beside the registered
//! clients, so no administrator can change, re-key or delete it, and its
//! redirect URI follows the issuer. (A placeholder row of that id, written
//! by a migration, only lets its codes and grants reference it.)
//!
//! Its access token (an RFC 9068 token of its grant session) is the pages'
//! credential; [`Provider::web_session`] checks it on every request, so a
//! revoked session (logout, an administrator, a disable, a password reset)
//! stops the pages at once.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::PortError;
use crate::identity::user::User;
use crate::oidc::client::{AuthMethod, GrantType, IdTokenAlg, OAuthClient};
use crate::oidc::ports::OAuthClientStore;
use crate::oidc::provider::Provider;
use crate::sessions::session::{Session, SessionId};

/// The console's `client_id`.
pub const CONSOLE_CLIENT_ID: &str = "auth-console";

/// Where the console's codes come back to, below the issuer.
pub const CONSOLE_CALLBACK_PATH: &str = "/account/callback";

/// The scopes the console asks for.
pub const CONSOLE_SCOPE: &str = "openid profile email";

/// The console client of the service whose issuer is `issuer` (no final
/// `/`): public, first-party (no consent page), authorization codes only.
pub fn console_client(issuer: &str, at: DateTime<Utc>) -> OAuthClient {
    OAuthClient {
        client_id: CONSOLE_CLIENT_ID.to_owned(),
        name: "Console".to_owned(),
        secret_hash: None,
        redirect_uris: vec![format!("{issuer}{CONSOLE_CALLBACK_PATH}")],
        post_logout_redirect_uris: Vec::new(),
        grant_types: vec![GrantType::AuthorizationCode],
        auth_method: AuthMethod::None,
        scopes: CONSOLE_SCOPE.split(' ').map(str::to_owned).collect(),
        first_party: true,
        id_token_alg: IdTokenAlg::Rs256,
        backchannel_logout_uri: None,
        all_sessions: false,
        created_at: at,
        updated_at: at,
    }
}

/// A client store that also answers the built-in console client, which it
/// never lists and refuses to change or delete (`false`: "no such
/// client").
pub struct WithConsole {
    inner: Arc<dyn OAuthClientStore>,
    console: OAuthClient,
}

impl std::fmt::Debug for WithConsole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WithConsole { .. }")
    }
}

impl WithConsole {
    /// `inner` with the console client of `issuer`.
    pub fn new(inner: Arc<dyn OAuthClientStore>, issuer: &str, at: DateTime<Utc>) -> Self {
        Self {
            inner,
            console: console_client(issuer.trim_end_matches('/'), at),
        }
    }
}

#[async_trait]
impl OAuthClientStore for WithConsole {
    async fn create(&self, client: &OAuthClient) -> Result<(), PortError> {
        if client.client_id == CONSOLE_CLIENT_ID {
            return Err(PortError::new("oauth client", "the console's id is reserved"));
        }
        self.inner.create(client).await
    }

    async fn get(&self, client_id: &str) -> Result<Option<OAuthClient>, PortError> {
        if client_id == CONSOLE_CLIENT_ID {
            return Ok(Some(self.console.clone()));
        }
        self.inner.get(client_id).await
    }

    async fn list(&self) -> Result<Vec<OAuthClient>, PortError> {
        let mut all = self.inner.list().await?;
        all.retain(|c| c.client_id != CONSOLE_CLIENT_ID);
        Ok(all)
    }

    async fn update(&self, client: &OAuthClient) -> Result<bool, PortError> {
        if client.client_id == CONSOLE_CLIENT_ID {
            return Ok(false);
        }
        self.inner.update(client).await
    }

    async fn set_secret(
        &self,
        client_id: &str,
        secret_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        if client_id == CONSOLE_CLIENT_ID {
            return Ok(false);
        }
        self.inner.set_secret(client_id, secret_hash, now).await
    }

    async fn delete(&self, client_id: &str) -> Result<bool, PortError> {
        if client_id == CONSOLE_CLIENT_ID {
            return Ok(false);
        }
        self.inner.delete(client_id).await
    }
}

/// A signed-in browser on the console or account pages.
#[derive(Debug, Clone)]
pub struct WebSession {
    /// The account (enabled).
    pub user: User,
    /// The console's grant session (live), with how the user signed in
    /// (`amr`).
    pub session: Session,
    /// When the user authenticated (the sign-in, not the code exchange).
    pub auth_time: DateTime<Utc>,
}

impl WebSession {
    /// Whether the sign-in took a second factor (RFC 8176 `mfa`, or a
    /// passkey: `hwk`/`swk`).
    pub fn has_second_factor(&self) -> bool {
        self.session
            .amr
            .iter()
            .any(|a| a == "mfa" || a == "hwk" || a == "swk")
    }
}

impl Provider {
    /// The browser behind a console access token: the token verifies, is
    /// the console's, its grant session is live and its account enabled.
    /// `None` for anything else (expired, revoked, another client's).
    ///
    /// # Errors
    /// [`PortError`].
    pub async fn web_session(&self, access_token: &str) -> Result<Option<WebSession>, PortError> {
        let Ok(claims) = self
            .ports
            .signer
            .verify_client_access(access_token, self.core.now())
        else {
            return Ok(None);
        };
        let (Some(sid), Some(auth_time)) = (claims.sid, claims.auth_time) else {
            return Ok(None);
        };
        if claims.client_id != CONSOLE_CLIENT_ID {
            return Ok(None);
        }
        let Some(session) = self.issuer.sessions().get(sid).await?.filter(Session::is_live) else {
            return Ok(None);
        };
        let Some(user) = self.users.by_id(session.user_id).await? else {
            return Ok(None);
        };
        if user.disabled_at.is_some() || user.uuid.to_string() != claims.sub {
            return Ok(None);
        }
        Ok(Some(WebSession {
            user,
            session,
            auth_time: DateTime::from_timestamp(auth_time, 0).unwrap_or_default(),
        }))
    }

    /// The browser session a console grant was opened from (to keep it
    /// when the user ends their other sessions).
    ///
    /// # Errors
    /// [`PortError`].
    pub async fn browser_of(&self, grant: SessionId) -> Result<Option<SessionId>, PortError> {
        Ok(self
            .ports
            .grants
            .grant(grant)
            .await?
            .and_then(|g| g.browser_session))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::oidc::MemClients;

    #[tokio::test]
    async fn the_console_client_is_answered_but_never_listed_changed_or_deleted() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let store = WithConsole::new(Arc::new(MemClients::default()), "https://auth.example/", at);
        let console = store.get(CONSOLE_CLIENT_ID).await.unwrap().unwrap();
        assert_eq!(
            console.redirect_uris,
            vec!["https://auth.example/account/callback".to_owned()]
        );
        assert!(console.is_public() && console.first_party);
        assert_eq!(console.grant_types, vec![GrantType::AuthorizationCode]);
        assert!(store.list().await.unwrap().is_empty());
        assert!(!store.update(&console).await.unwrap());
        assert!(!store.delete(CONSOLE_CLIENT_ID).await.unwrap());
        assert!(!store.set_secret(CONSOLE_CLIENT_ID, "x", at).await.unwrap());
        assert!(store.create(&console).await.is_err(), "the id is reserved");
        assert_eq!(store.get(CONSOLE_CLIENT_ID).await.unwrap().unwrap(), console);
    }
}
