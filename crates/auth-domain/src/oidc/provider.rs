//! [`Provider`]: the OpenID provider's use cases. Client administration
//! here; the authorization flow in `flow.rs`; the token endpoint,
//! userinfo, revocation and logout in `grants.rs`.

use std::sync::Arc;

use crate::audit::AuditKind;
use crate::caller::Caller;
use crate::error::PortError;
use crate::identity::accounts::Accounts;
use crate::identity::ports::UserRepository;
use crate::oidc::client::{AuthMethod, ClientSpec, OAuthClient, SpecError, secret_hash};
use crate::oidc::ports::{OAuthClientStore, OAuthGrantStore, OidcSigner};
use crate::oidc::signals::SignalOutbox;
use crate::service_core::ServiceCore;
use crate::sessions::issuer::SessionIssuer;
use crate::sessions::tokens::Sessions;

/// The adapters of the OpenID provider.
#[derive(Clone)]
pub struct OidcPorts {
    /// Registered clients.
    pub clients: Arc<dyn OAuthClientStore>,
    /// Codes, grants, consents.
    pub grants: Arc<dyn OAuthGrantStore>,
    /// ID tokens and RFC 9068 access tokens.
    pub signer: Arc<dyn OidcSigner>,
    /// The outbox of session-ended signals (back-channel logout, the feed).
    pub signals: Arc<dyn SignalOutbox>,
}

impl std::fmt::Debug for OidcPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OidcPorts { .. }")
    }
}

/// The contract name of a browser's single-sign-on session.
pub const BROWSER: &str = "browser";
/// The contract name of a browser session opened by a social sign-in on
/// the hosted page.
pub const BROWSER_SOCIAL: &str = "browser-social";
/// The contract name of a client's grant session.
pub const GRANT: &str = "oidc";

/// The OpenID provider's use cases. Cheap to clone.
#[derive(Clone)]
pub struct Provider {
    pub(crate) core: ServiceCore,
    pub(crate) issuer: SessionIssuer,
    pub(crate) sessions: Sessions,
    pub(crate) accounts: Accounts,
    pub(crate) users: Arc<dyn UserRepository>,
    pub(crate) ports: OidcPorts,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Provider { .. }")
    }
}

/// A registration and its secret, shown once (`None` for a public client).
#[derive(Debug, Clone)]
pub struct RegisteredClient {
    /// The client.
    pub client: OAuthClient,
    /// Its secret.
    pub secret: Option<String>,
}

/// Why an administrator's change of a client failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientAdminError {
    /// No such client.
    #[error("unknown client")]
    UnknownClient,
    /// A field is wrong.
    #[error(transparent)]
    Invalid(#[from] SpecError),
    /// A public client has no secret to rotate.
    #[error("a public client has no secret")]
    PublicClient,
    /// Infrastructure failure.
    #[error(transparent)]
    Internal(#[from] PortError),
}

impl Provider {
    /// The provider over the session machinery the contracts use, the
    /// password gate (`accounts`), users and its own ports.
    pub fn new(
        issuer: SessionIssuer,
        sessions: Sessions,
        accounts: Accounts,
        users: Arc<dyn UserRepository>,
        ports: OidcPorts,
    ) -> Self {
        Self {
            core: issuer.core.clone(),
            issuer,
            sessions,
            accounts,
            users,
            ports,
        }
    }

    /// The issuer URL (`iss`).
    pub fn issuer_url(&self) -> &str {
        self.ports.signer.issuer()
    }
}

/// Client administration (`/internal/oauth-clients`, `auth-server
/// clients`): register, list, change, re-key, delete; every change is
/// audited. Cheap to clone.
#[derive(Clone)]
pub struct ClientRegistry {
    core: ServiceCore,
    clients: Arc<dyn OAuthClientStore>,
}

impl std::fmt::Debug for ClientRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientRegistry { .. }")
    }
}

impl ClientRegistry {
    /// The registry over the client store.
    pub fn new(core: ServiceCore, clients: Arc<dyn OAuthClientStore>) -> Self {
        Self { core, clients }
    }

    fn new_secret(&self) -> String {
        let mut bytes = [0u8; 32];
        self.core.fill(&mut bytes);
        crate::oidc::client::base64url(&bytes)
    }

    async fn audit(&self, kind: AuditKind, client_id: &str, caller: &Caller) {
        self.core
            .audit_admin(kind, None, None, format!("oauth_client:{client_id}"), caller)
            .await;
    }

    /// Registers a client: a random id, and a secret unless it is public.
    ///
    /// # Errors
    /// [`ClientAdminError::Invalid`] naming the wrong field.
    pub async fn register_client(
        &self,
        spec: ClientSpec,
        caller: &Caller,
    ) -> Result<RegisteredClient, ClientAdminError> {
        let spec = spec.check()?;
        let mut id = [0u8; 12];
        self.core.fill(&mut id);
        let secret = (spec.auth_method != AuthMethod::None).then(|| self.new_secret());
        let now = self.core.now();
        let client = OAuthClient {
            client_id: format!("oc_{}", hex::encode(id)),
            name: spec.name,
            secret_hash: secret.as_deref().map(secret_hash),
            redirect_uris: spec.redirect_uris,
            post_logout_redirect_uris: spec.post_logout_redirect_uris,
            grant_types: spec.grant_types,
            auth_method: spec.auth_method,
            scopes: spec.scopes,
            first_party: spec.first_party,
            id_token_alg: spec.id_token_alg,
            backchannel_logout_uri: spec.backchannel_logout_uri,
            all_sessions: spec.all_sessions,
            created_at: now,
            updated_at: now,
        };
        self.clients.create(&client).await?;
        self.audit(AuditKind::AdminOAuthClientCreate, &client.client_id, caller)
            .await;
        Ok(RegisteredClient { client, secret })
    }

    /// Every client, oldest first.
    ///
    /// # Errors
    /// [`PortError`].
    pub async fn list_clients(&self) -> Result<Vec<OAuthClient>, PortError> {
        self.clients.list().await
    }

    /// One client.
    ///
    /// # Errors
    /// [`PortError`].
    pub async fn client(&self, client_id: &str) -> Result<Option<OAuthClient>, PortError> {
        self.clients.get(client_id).await
    }

    /// Replaces a client's settings with `spec` (a public client stays
    /// public, a confidential one confidential: a secret cannot appear or
    /// vanish by a settings change).
    ///
    /// # Errors
    /// [`ClientAdminError`].
    pub async fn change_client(
        &self,
        client_id: &str,
        spec: ClientSpec,
        caller: &Caller,
    ) -> Result<OAuthClient, ClientAdminError> {
        let spec = spec.check()?;
        let old = self
            .clients
            .get(client_id)
            .await?
            .ok_or(ClientAdminError::UnknownClient)?;
        if (old.auth_method == AuthMethod::None) != (spec.auth_method == AuthMethod::None) {
            return Err(SpecError {
                field: "tokenEndpointAuthMethod",
                problem: "a client cannot change between public (none) and confidential; register a new one"
                    .into(),
            }
            .into());
        }
        let client = OAuthClient {
            name: spec.name,
            redirect_uris: spec.redirect_uris,
            post_logout_redirect_uris: spec.post_logout_redirect_uris,
            grant_types: spec.grant_types,
            auth_method: spec.auth_method,
            scopes: spec.scopes,
            first_party: spec.first_party,
            id_token_alg: spec.id_token_alg,
            backchannel_logout_uri: spec.backchannel_logout_uri,
            all_sessions: spec.all_sessions,
            updated_at: self.core.now(),
            ..old
        };
        if !self.clients.update(&client).await? {
            return Err(ClientAdminError::UnknownClient);
        }
        self.audit(AuditKind::AdminOAuthClientUpdate, client_id, caller)
            .await;
        Ok(client)
    }

    /// Replaces a confidential client's secret; the old one stops working
    /// at once.
    ///
    /// # Errors
    /// [`ClientAdminError`].
    pub async fn rotate_client_secret(
        &self,
        client_id: &str,
        caller: &Caller,
    ) -> Result<RegisteredClient, ClientAdminError> {
        let client = self
            .clients
            .get(client_id)
            .await?
            .ok_or(ClientAdminError::UnknownClient)?;
        if client.is_public() {
            return Err(ClientAdminError::PublicClient);
        }
        let secret = self.new_secret();
        let hash = secret_hash(&secret);
        let now = self.core.now();
        if !self.clients.set_secret(client_id, &hash, now).await? {
            return Err(ClientAdminError::UnknownClient);
        }
        self.audit(AuditKind::AdminOAuthClientSecretRotate, client_id, caller)
            .await;
        Ok(RegisteredClient {
            client: OAuthClient {
                secret_hash: Some(hash),
                updated_at: now,
                ..client
            },
            secret: Some(secret),
        })
    }

    /// Deletes a client (its codes and remembered consents with it; tokens
    /// already issued stop at their next use: refresh and userinfo find no
    /// client).
    ///
    /// # Errors
    /// [`ClientAdminError::UnknownClient`].
    pub async fn delete_client(&self, client_id: &str, caller: &Caller) -> Result<(), ClientAdminError> {
        if !self.clients.delete(client_id).await? {
            return Err(ClientAdminError::UnknownClient);
        }
        self.audit(AuditKind::AdminOAuthClientDelete, client_id, caller)
            .await;
        Ok(())
    }
}
