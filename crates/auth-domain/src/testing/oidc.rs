//! In-memory fakes of the OpenID provider's ports.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::PortError;
use crate::identity::user::UserId;
use crate::oidc::client::{IdTokenAlg, OAuthClient};
use crate::oidc::ports::{
    ClientAccessClaims, CodeTake, Grant, IdTokenClaims, OAuthClientStore, OAuthGrantStore, OidcSigner,
    StoredCode,
};
use crate::oidc::ports::{LogoutClaims, SessionRevokedSet};
use crate::oidc::provider::OidcPorts;
use crate::sessions::session::SessionId;
use crate::sessions::token::TokenError;

/// Clients in a map.
#[derive(Debug, Default)]
pub struct MemClients(Mutex<Vec<OAuthClient>>);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[async_trait]
impl OAuthClientStore for MemClients {
    async fn create(&self, client: &OAuthClient) -> Result<(), PortError> {
        lock(&self.0).push(client.clone());
        Ok(())
    }
    async fn get(&self, client_id: &str) -> Result<Option<OAuthClient>, PortError> {
        Ok(lock(&self.0).iter().find(|c| c.client_id == client_id).cloned())
    }
    async fn list(&self) -> Result<Vec<OAuthClient>, PortError> {
        Ok(lock(&self.0).clone())
    }
    async fn update(&self, client: &OAuthClient) -> Result<bool, PortError> {
        let mut all = lock(&self.0);
        let Some(c) = all.iter_mut().find(|c| c.client_id == client.client_id) else {
            return Ok(false);
        };
        *c = OAuthClient {
            secret_hash: c.secret_hash.clone(),
            created_at: c.created_at,
            ..client.clone()
        };
        Ok(true)
    }
    async fn set_secret(
        &self,
        client_id: &str,
        secret_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let mut all = lock(&self.0);
        let Some(c) = all.iter_mut().find(|c| c.client_id == client_id) else {
            return Ok(false);
        };
        c.secret_hash = Some(secret_hash.to_owned());
        c.updated_at = now;
        Ok(true)
    }
    async fn delete(&self, client_id: &str) -> Result<bool, PortError> {
        let mut all = lock(&self.0);
        let before = all.len();
        all.retain(|c| c.client_id != client_id);
        Ok(all.len() < before)
    }
}

#[derive(Debug, Clone)]
struct CodeRow {
    code: StoredCode,
    used: bool,
    replayed: bool,
    grant: Option<SessionId>,
}

/// Codes, grants and consents in maps.
#[derive(Debug, Default)]
pub struct MemGrants {
    codes: Mutex<HashMap<String, CodeRow>>,
    grants: Mutex<HashMap<SessionId, Grant>>,
    consents: Mutex<HashMap<(UserId, String), String>>,
}

#[async_trait]
impl OAuthGrantStore for MemGrants {
    async fn put_code(&self, code: &StoredCode) -> Result<(), PortError> {
        lock(&self.codes).insert(
            code.code_hash.clone(),
            CodeRow {
                code: code.clone(),
                used: false,
                replayed: false,
                grant: None,
            },
        );
        Ok(())
    }
    async fn code(&self, code_hash: &str, now: DateTime<Utc>) -> Result<Option<StoredCode>, PortError> {
        Ok(lock(&self.codes)
            .get(code_hash)
            .filter(|r| r.code.expires_at > now)
            .map(|r| r.code.clone()))
    }
    async fn take_code(&self, code_hash: &str, now: DateTime<Utc>) -> Result<CodeTake, PortError> {
        let mut codes = lock(&self.codes);
        let Some(row) = codes.get_mut(code_hash).filter(|r| r.code.expires_at > now) else {
            return Ok(CodeTake::Unknown);
        };
        if row.used {
            row.replayed = true;
            return Ok(CodeTake::Replayed(row.grant));
        }
        row.used = true;
        Ok(CodeTake::Taken(Box::new(row.code.clone())))
    }
    async fn bind_code(&self, code_hash: &str, grant: SessionId) -> Result<(), PortError> {
        if let Some(row) = lock(&self.codes).get_mut(code_hash) {
            row.grant = Some(grant);
        }
        Ok(())
    }
    async fn code_replayed(&self, code_hash: &str) -> Result<bool, PortError> {
        Ok(lock(&self.codes).get(code_hash).is_some_and(|r| r.replayed))
    }
    async fn put_grant(&self, grant: &Grant) -> Result<(), PortError> {
        lock(&self.grants).insert(grant.session_id, grant.clone());
        Ok(())
    }
    async fn grant(&self, session: SessionId) -> Result<Option<Grant>, PortError> {
        Ok(lock(&self.grants).get(&session).cloned())
    }
    async fn grants_of_browser(&self, browser: SessionId) -> Result<Vec<Grant>, PortError> {
        Ok(lock(&self.grants)
            .values()
            .filter(|g| g.browser_session == Some(browser))
            .cloned()
            .collect())
    }
    async fn consent(&self, user: UserId, client_id: &str) -> Result<Option<String>, PortError> {
        Ok(lock(&self.consents).get(&(user, client_id.to_owned())).cloned())
    }
    async fn put_consent(
        &self,
        user: UserId,
        client_id: &str,
        scope: &str,
        _now: DateTime<Utc>,
    ) -> Result<(), PortError> {
        lock(&self.consents).insert((user, client_id.to_owned()), scope.to_owned());
        Ok(())
    }
    async fn purge_codes(&self, before: DateTime<Utc>) -> Result<u64, PortError> {
        let mut codes = lock(&self.codes);
        let n = codes.len();
        codes.retain(|_, r| r.code.expires_at >= before);
        Ok((n - codes.len()) as u64)
    }
}

/// Tokens as readable strings (`id:<alg>:<sub>:<aud>:<sid>`,
/// `at:<sub>|<client>|<scope>|<sid>|<exp>`), for use-case tests.
#[derive(Debug, Default)]
pub struct FakeOidcSigner;

impl OidcSigner for FakeOidcSigner {
    fn issuer(&self) -> &str {
        "https://issuer.test"
    }
    fn sign_id_token(&self, alg: IdTokenAlg, claims: &IdTokenClaims) -> Result<String, PortError> {
        Ok(format!(
            "id:{}:{}:{}:{}",
            alg.as_str(),
            claims.sub,
            claims.client_id,
            claims.sid
        ))
    }
    fn verify_id_token_hint(
        &self,
        token: &str,
        _now: DateTime<Utc>,
    ) -> Result<(String, String, Option<String>), TokenError> {
        let parts: Vec<&str> = token.split(':').collect();
        match parts.as_slice() {
            ["id", _, sub, aud, sid] => Ok(((*sub).to_owned(), (*aud).to_owned(), Some((*sid).to_owned()))),
            _ => Err(TokenError::Invalid),
        }
    }
    fn sign_client_access(&self, c: &ClientAccessClaims) -> Result<String, PortError> {
        let sid = c.sid.map(|s| s.to_string()).unwrap_or_default();
        Ok(format!(
            "at:{}|{}|{}|{}|{}|{}",
            c.sub, c.client_id, c.scope, sid, c.exp, c.jti
        ))
    }
    fn verify_client_access(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<ClientAccessClaims, TokenError> {
        let rest = token.strip_prefix("at:").ok_or(TokenError::Invalid)?;
        let parts: Vec<&str> = rest.split('|').collect();
        let [sub, client_id, scope, sid, exp, jti] = parts.as_slice() else {
            return Err(TokenError::Invalid);
        };
        let exp: i64 = exp.parse().map_err(|_| TokenError::Invalid)?;
        if exp <= now.timestamp() {
            return Err(TokenError::Expired);
        }
        Ok(ClientAccessClaims {
            sub: (*sub).to_owned(),
            client_id: (*client_id).to_owned(),
            scope: (*scope).to_owned(),
            sid: sid.parse().ok(),
            auth_time: None,
            jti: (*jti).to_owned(),
            iat: 0,
            exp,
        })
    }
    fn sign_logout_token(&self, alg: IdTokenAlg, c: &LogoutClaims) -> Result<String, PortError> {
        Ok(format!(
            "logout:{}:{}:{}:{}:{}",
            alg.as_str(),
            c.client_id,
            c.sub,
            c.sid,
            c.jti
        ))
    }
    fn sign_session_revoked(&self, alg: IdTokenAlg, s: &SessionRevokedSet) -> Result<String, PortError> {
        Ok(format!(
            "set:{}:{}:{}:{}:{}",
            alg.as_str(),
            s.client_id,
            s.jti,
            s.sid,
            s.reason
        ))
    }
}

/// The fakes, shared with the tests that inspect them.
#[derive(Debug, Clone, Default)]
pub struct OidcFakes {
    /// Clients.
    pub clients: Arc<MemClients>,
    /// Codes, grants, consents.
    pub grants: Arc<MemGrants>,
    /// The signal outbox.
    pub signals: Arc<super::signals::MemSignals>,
}

impl OidcFakes {
    /// The ports over these fakes.
    pub fn ports(&self) -> OidcPorts {
        OidcPorts {
            clients: self.clients.clone(),
            grants: self.grants.clone(),
            signer: Arc::new(FakeOidcSigner),
            signals: self.signals.clone(),
        }
    }
}
