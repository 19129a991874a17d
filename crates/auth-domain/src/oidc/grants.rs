//! The token endpoint's grants (`authorization_code` with PKCE,
//! `refresh_token`, `client_credentials`), userinfo, revocation (RFC 7009)
//! and RP-initiated logout.

use sha2::{Digest, Sha256};

use crate::audit::AuditKind;
use crate::caller::Caller;
use crate::error::PortError;
use crate::identity::user::User;
use crate::oidc::client::{AuthMethod, GrantType, OAuthClient, base64url};
use crate::oidc::flow::code_hash;
use crate::oidc::ports::{ClientAccessClaims, CodeTake, Grant, IdTokenClaims, ProfileClaims};
use crate::oidc::provider::{GRANT, Provider};
use crate::sessions::issuer::OpenError;
use crate::sessions::session::{RevokeReason, SessionId};
use crate::sessions::token::{RefreshClaims, TokenError};
use crate::sessions::tokens::RotateRefusal;

/// What the token endpoint answers (RFC 6749 §5.1).
#[derive(Debug, Clone)]
pub struct TokenResponse {
    /// The RFC 9068 access token.
    pub access_token: String,
    /// Its lifetime, seconds.
    pub expires_in: i64,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// The ID token, when `openid` was granted.
    pub id_token: Option<String>,
    /// A refresh token, when the client may use the `refresh_token` grant.
    pub refresh_token: Option<String>,
}

/// A token endpoint error (RFC 6749 §5.2).
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// `invalid_request`.
    #[error("invalid_request: {0}")]
    InvalidRequest(&'static str),
    /// `invalid_grant`: the code, verifier, redirect URI or refresh token.
    #[error("invalid_grant: {0}")]
    InvalidGrant(&'static str),
    /// `unauthorized_client`: the client may not use this grant.
    #[error("unauthorized_client")]
    UnauthorizedClient,
    /// `invalid_scope`.
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    /// Infrastructure failure.
    #[error(transparent)]
    Internal(#[from] PortError),
}

/// Why a client could not be authenticated (`invalid_client`).
#[derive(Debug, thiserror::Error)]
pub enum ClientAuthError {
    /// Unknown client, wrong or missing secret, or a secret for a public
    /// client.
    #[error("invalid_client")]
    Invalid,
    /// Infrastructure failure.
    #[error(transparent)]
    Internal(#[from] PortError),
}

/// Why userinfo refused a token (RFC 6750 §3.1).
#[derive(Debug, thiserror::Error)]
pub enum UserinfoError {
    /// `invalid_token`: not a live access token of ours for a user.
    #[error("invalid_token")]
    InvalidToken,
    /// `insufficient_scope`: `openid` was not granted.
    #[error("insufficient_scope")]
    InsufficientScope,
    /// Infrastructure failure.
    #[error(transparent)]
    Internal(#[from] PortError),
}

/// The userinfo answer: the claims of the granted scopes.
#[derive(Debug, Clone)]
pub struct UserInfo {
    /// `sub`.
    pub sub: String,
    /// `profile` claims, when granted.
    pub profile: Option<ProfileClaims>,
    /// `email` and `email_verified`, when granted.
    pub email: Option<(String, bool)>,
}

fn scopes_of(scope: &str) -> impl Iterator<Item = &str> {
    scope.split(' ').filter(|s| !s.is_empty())
}

fn verifier_ok(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

impl Provider {
    /// Authenticates a client at the token, revocation or introspection
    /// endpoint: a confidential client by its secret (HTTP Basic or form
    /// fields, either accepted), a public client by its id alone (it must
    /// send no secret).
    ///
    /// # Errors
    /// [`ClientAuthError`].
    pub async fn authenticate_client(
        &self,
        client_id: &str,
        secret: Option<&str>,
    ) -> Result<OAuthClient, ClientAuthError> {
        if client_id.is_empty() || client_id.len() > 100 {
            return Err(ClientAuthError::Invalid);
        }
        let client = self.ports.clients.get(client_id).await?;
        match (client, secret) {
            (Some(c), None) if c.auth_method == AuthMethod::None => Ok(c),
            (Some(c), Some(s)) if c.auth_method != AuthMethod::None && c.secret_matches(s) => Ok(c),
            _ => Err(ClientAuthError::Invalid),
        }
    }

    /// `grant_type=authorization_code`: a single-use code, its redirect
    /// URI and the PKCE verifier. A replayed code is refused and the grant
    /// its first exchange opened is revoked.
    ///
    /// # Errors
    /// [`GrantError`]; a refused request changes nothing stored (but a
    /// replay, which revokes).
    pub async fn exchange_code(
        &self,
        client: &OAuthClient,
        code: Option<&str>,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
        caller: &Caller,
    ) -> Result<TokenResponse, GrantError> {
        if !client.allows(GrantType::AuthorizationCode) {
            return Err(GrantError::UnauthorizedClient);
        }
        let code = code
            .filter(|c| !c.is_empty())
            .ok_or(GrantError::InvalidRequest("code is required"))?;
        let redirect_uri = redirect_uri.ok_or(GrantError::InvalidRequest("redirect_uri is required"))?;
        let verifier = verifier.ok_or(GrantError::InvalidRequest("code_verifier is required"))?;
        if !verifier_ok(verifier) {
            return Err(GrantError::InvalidGrant("code_verifier is malformed"));
        }
        let now = self.core.now();
        let hash = code_hash(code);
        let stored = self
            .ports
            .grants
            .code(&hash, now)
            .await?
            .ok_or(GrantError::InvalidGrant("the code is unknown or expired"))?;
        if stored.client_id != client.client_id {
            return Err(GrantError::InvalidGrant("the code was issued to another client"));
        }
        if stored.redirect_uri != redirect_uri {
            return Err(GrantError::InvalidGrant(
                "redirect_uri differs from the authorization request",
            ));
        }
        if base64url(&Sha256::digest(verifier.as_bytes())) != stored.code_challenge {
            return Err(GrantError::InvalidGrant(
                "code_verifier does not match the code_challenge",
            ));
        }
        let stored = match self.ports.grants.take_code(&hash, now).await? {
            CodeTake::Taken(stored) => stored,
            CodeTake::Replayed(grant) => {
                if let Some(grant) = grant {
                    self.revoke_replayed(grant, caller).await?;
                }
                return Err(GrantError::InvalidGrant(
                    "the code was already used; its tokens are revoked",
                ));
            }
            CodeTake::Unknown => return Err(GrantError::InvalidGrant("the code is unknown or expired")),
        };
        let user = self
            .users
            .by_id(stored.user_id)
            .await?
            .ok_or(GrantError::InvalidGrant("the account is gone"))?;
        let grant_caller = Caller {
            contract: GRANT,
            ..caller.clone()
        };
        let pair = match self
            .issuer
            .open_session(
                &user,
                &grant_caller,
                scopes_of(&stored.amr).map(str::to_owned).collect(),
            )
            .await
        {
            Ok(pair) => pair,
            Err(OpenError::Disabled) => return Err(GrantError::InvalidGrant("the account is disabled")),
            Err(OpenError::Internal(e)) => return Err(e.into()),
        };
        let sid = pair.access.claims.sid;
        let grant = Grant {
            session_id: sid,
            client_id: client.client_id.clone(),
            browser_session: Some(stored.browser_session),
            scope: stored.scope.clone(),
            auth_time: stored.auth_time,
            amr: stored.amr.clone(),
        };
        self.ports.grants.put_grant(&grant).await?;
        self.ports.grants.bind_code(&hash, sid).await?;
        // A replay that arrived before the binding could not name the
        // grant; it marked the code, which is read back here. The grant is
        // revoked and no token leaves: an access token handed out now would
        // still verify offline until it expires, whoever sent this exchange.
        if self.ports.grants.code_replayed(&hash).await? {
            self.revoke_replayed(sid, caller).await?;
            return Err(GrantError::InvalidGrant(
                "the code was already used; its tokens are revoked",
            ));
        }
        let refresh = client
            .allows(GrantType::RefreshToken)
            .then_some(pair.refresh.token);
        self.user_tokens(client, &user, &grant, stored.nonce, refresh)
    }

    async fn revoke_replayed(&self, grant: SessionId, caller: &Caller) -> Result<(), PortError> {
        let now = self.core.now();
        let session = self.issuer.sessions().get(grant).await?;
        self.issuer
            .revoker
            .revoke_and_announce(grant, RevokeReason::RefreshReuse, now)
            .await?;
        self.core
            .audit(
                AuditKind::TokenReuse,
                session.map(|s| s.user_id),
                Some(grant),
                caller,
            )
            .await;
        Ok(())
    }

    /// The access token, ID token and refresh token of a user's grant.
    fn user_tokens(
        &self,
        client: &OAuthClient,
        user: &User,
        grant: &Grant,
        nonce: Option<String>,
        refresh_token: Option<String>,
    ) -> Result<TokenResponse, GrantError> {
        let now = self.core.now();
        let ttl = self.core.policy().access_ttl;
        let access_token = self.ports.signer.sign_client_access(&ClientAccessClaims {
            sub: user.uuid.to_string(),
            client_id: client.client_id.clone(),
            scope: grant.scope.clone(),
            sid: Some(grant.session_id),
            auth_time: Some(grant.auth_time.timestamp()),
            jti: self.core.random_token_id(),
            iat: now.timestamp(),
            exp: (now + ttl).timestamp(),
        })?;
        let has = |s: &str| scopes_of(&grant.scope).any(|g| g == s);
        let id_token = if has("openid") {
            let claims = IdTokenClaims {
                sub: user.uuid,
                client_id: client.client_id.clone(),
                iat: now.timestamp(),
                exp: (now + ttl).timestamp(),
                auth_time: grant.auth_time.timestamp(),
                nonce,
                sid: grant.session_id,
                at_hash: Some(client.id_token_alg.at_hash(&access_token)),
                amr: scopes_of(&grant.amr).map(str::to_owned).collect(),
                profile: has("profile").then(|| profile_of(user)),
                email: has("email").then(|| (user.email.as_str().to_owned(), user.email_verified)),
            };
            Some(self.ports.signer.sign_id_token(client.id_token_alg, &claims)?)
        } else {
            None
        };
        Ok(TokenResponse {
            access_token,
            expires_in: ttl.num_seconds(),
            scope: grant.scope.clone(),
            id_token,
            refresh_token,
        })
    }

    /// `grant_type=refresh_token`: rotates a refresh token of this client's
    /// grant, with the contracts' reuse detection; `scope` may narrow the
    /// new access token's scopes.
    ///
    /// # Errors
    /// [`GrantError`]; a token of another client changes nothing.
    pub async fn refresh(
        &self,
        client: &OAuthClient,
        refresh_token: Option<&str>,
        scope: Option<&str>,
        caller: &Caller,
    ) -> Result<TokenResponse, GrantError> {
        if !client.allows(GrantType::RefreshToken) {
            return Err(GrantError::UnauthorizedClient);
        }
        let token = refresh_token
            .filter(|t| !t.is_empty())
            .ok_or(GrantError::InvalidRequest("refresh_token is required"))?;
        let invalid = || GrantError::InvalidGrant("the refresh token is invalid, expired or revoked");
        let claims: RefreshClaims = self
            .issuer
            .tokens
            .verify_refresh(token, self.core.now())
            .map_err(|_| invalid())?;
        let mut grant = self.ports.grants.grant(claims.sid).await?.ok_or_else(invalid)?;
        if grant.client_id != client.client_id {
            return Err(GrantError::InvalidGrant(
                "the refresh token was issued to another client",
            ));
        }
        if let Some(scope) = scope.map(str::trim).filter(|s| !s.is_empty()) {
            if let Some(extra) = scopes_of(scope).find(|s| !scopes_of(&grant.scope).any(|g| g == *s)) {
                return Err(GrantError::InvalidScope(format!(
                    "scope {extra:?} was not granted"
                )));
            }
            grant.scope = scopes_of(scope).collect::<Vec<_>>().join(" ");
        }
        let rotated = self
            .sessions
            .rotate_checked(token, caller, |c| c.sid == grant.session_id)
            .await;
        let (_, next, touched) = match rotated {
            Ok(r) => r,
            Err(RotateRefusal::Port(e)) => return Err(e.into()),
            Err(RotateRefusal::Reused) => {
                return Err(GrantError::InvalidGrant(
                    "the refresh token was already used; the grant is revoked",
                ));
            }
            Err(RotateRefusal::Invalid | RotateRefusal::Mismatch) => return Err(invalid()),
        };
        if !touched {
            self.issuer
                .sessions()
                .touch(grant.session_id, self.core.now())
                .await?;
        }
        let user = self
            .users
            .by_uuid(claims.sub)
            .await?
            .filter(|u| u.disabled_at.is_none())
            .ok_or_else(invalid)?;
        self.user_tokens(client, &user, &grant, None, Some(next.token))
    }

    /// `grant_type=client_credentials`: an access token for the client
    /// itself (`sub` is its id). Without `scope`, every registered scope
    /// but the OpenID ones (`openid`, `offline_access`, `profile`,
    /// `email`), which need a user.
    ///
    /// # Errors
    /// [`GrantError`].
    pub fn client_credentials(
        &self,
        client: &OAuthClient,
        scope: Option<&str>,
    ) -> Result<TokenResponse, GrantError> {
        const USER_SCOPES: [&str; 4] = ["openid", "offline_access", "profile", "email"];
        if !client.allows(GrantType::ClientCredentials) || client.is_public() {
            return Err(GrantError::UnauthorizedClient);
        }
        let scopes: Vec<&str> = match scope.map(str::trim).filter(|s| !s.is_empty()) {
            Some(scope) => {
                let scopes: Vec<&str> = scopes_of(scope).collect();
                if let Some(bad) = scopes
                    .iter()
                    .find(|s| USER_SCOPES.contains(s) || !client.scopes.iter().any(|c| c == *s))
                {
                    return Err(GrantError::InvalidScope(format!(
                        "the client may not ask for scope {bad:?}"
                    )));
                }
                scopes
            }
            None => client
                .scopes
                .iter()
                .map(String::as_str)
                .filter(|s| !USER_SCOPES.contains(s))
                .collect(),
        };
        let now = self.core.now();
        let ttl = self.core.policy().access_ttl;
        let scope = scopes.join(" ");
        let access_token = self.ports.signer.sign_client_access(&ClientAccessClaims {
            sub: client.client_id.clone(),
            client_id: client.client_id.clone(),
            scope: scope.clone(),
            sid: None,
            auth_time: None,
            jti: self.core.random_token_id(),
            iat: now.timestamp(),
            exp: (now + ttl).timestamp(),
        })?;
        Ok(TokenResponse {
            access_token,
            expires_in: ttl.num_seconds(),
            scope,
            id_token: None,
            refresh_token: None,
        })
    }

    /// The claims an access token's scopes grant (OpenID Connect Core
    /// §5.3): only for a live user grant with `openid`.
    ///
    /// # Errors
    /// [`UserinfoError`].
    pub async fn userinfo(&self, access_token: &str) -> Result<UserInfo, UserinfoError> {
        let claims = self
            .ports
            .signer
            .verify_client_access(access_token, self.core.now())
            .map_err(|_| UserinfoError::InvalidToken)?;
        if claims.sid.is_none() {
            return Err(UserinfoError::InvalidToken);
        }
        if !scopes_of(&claims.scope).any(|s| s == "openid") {
            return Err(UserinfoError::InsufficientScope);
        }
        if !self.client_token_live(&claims).await? {
            return Err(UserinfoError::InvalidToken);
        }
        let uuid = uuid::Uuid::parse_str(&claims.sub).map_err(|_| UserinfoError::InvalidToken)?;
        let user = self
            .users
            .by_uuid(uuid)
            .await?
            .filter(|u| u.disabled_at.is_none())
            .ok_or(UserinfoError::InvalidToken)?;
        let has = |s: &str| scopes_of(&claims.scope).any(|g| g == s);
        Ok(UserInfo {
            sub: user.uuid.to_string(),
            profile: has("profile").then(|| profile_of(&user)),
            email: has("email").then(|| (user.email.as_str().to_owned(), user.email_verified)),
        })
    }

    /// Whether a verified client access token still stands: its client is
    /// registered and, for a user's token, its grant session is live.
    async fn client_token_live(&self, claims: &ClientAccessClaims) -> Result<bool, PortError> {
        if self.ports.clients.get(&claims.client_id).await?.is_none() {
            return Ok(false);
        }
        match claims.sid {
            Some(sid) => Ok(self
                .issuer
                .sessions()
                .get(sid)
                .await?
                .is_some_and(|s| s.is_live())),
            None => Ok(true),
        }
    }

    /// RFC 7662 for the tokens of OpenID clients: the claims of a live
    /// RFC 9068 access token (signature, expiry, client still registered,
    /// grant session live), `None` for anything else.
    ///
    /// # Errors
    /// [`PortError`].
    pub async fn introspect_client_access(
        &self,
        token: &str,
    ) -> Result<Option<ClientAccessClaims>, PortError> {
        let Ok(claims) = self.ports.signer.verify_client_access(token, self.core.now()) else {
            return Ok(None);
        };
        Ok(self.client_token_live(&claims).await?.then_some(claims))
    }

    /// RFC 7009: revokes the grant a refresh or access token of this client
    /// belongs to (its session ends: every token of the grant stops). A
    /// token that is not the client's, or not ours, changes nothing and is
    /// not an error (§2.2).
    ///
    /// # Errors
    /// [`PortError`].
    pub async fn revoke_token(
        &self,
        client: &OAuthClient,
        token: &str,
        caller: &Caller,
    ) -> Result<(), PortError> {
        let now = self.core.now();
        let sid = if let Ok(claims) = self.issuer.tokens.verify_refresh(token, now) {
            Some(claims.sid)
        } else {
            match self.ports.signer.verify_client_access(token, now) {
                Ok(c) if c.client_id == client.client_id => c.sid,
                Ok(_) | Err(TokenError::Invalid | TokenError::Expired) => None,
            }
        };
        let Some(sid) = sid else {
            return Ok(());
        };
        let Some(grant) = self.ports.grants.grant(sid).await? else {
            return Ok(());
        };
        if grant.client_id != client.client_id {
            return Ok(());
        }
        let session = self.issuer.sessions().get(sid).await?;
        if self
            .issuer
            .revoker
            .revoke_and_announce(sid, RevokeReason::Logout, now)
            .await?
        {
            self.core
                .audit(AuditKind::Logout, session.map(|s| s.user_id), Some(sid), caller)
                .await;
        }
        Ok(())
    }
}

fn profile_of(user: &User) -> ProfileClaims {
    ProfileClaims {
        name: user.name.clone(),
        preferred_username: user.login_id.as_ref().map(|l| l.as_str().to_owned()),
        picture: user.profile_image.clone(),
    }
}
