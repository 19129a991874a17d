//! [`OidcSigner`] with JWTs: ID tokens signed by the [`IdTokenKeys`] ring
//! of the client's algorithm, RFC 9068 access tokens (`typ: at+jwt`) by
//! the access-token ring, so verifiers check both against the one JWKS.

use auth_domain::PortError;
use auth_domain::oidc::client::IdTokenAlg;
use auth_domain::oidc::ports::{
    ClientAccessClaims, IdTokenClaims, LogoutClaims, OidcSigner, SessionRevokedSet,
};
use auth_domain::oidc::signals::{BACKCHANNEL_LOGOUT_EVENT, SESSION_REVOKED_EVENT};
use auth_domain::sessions::token::TokenError;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::id_keys::IdTokenKeys;
use crate::jwt::JwtCodec;
use crate::signing::SigningAlgorithm;

/// The header `typ` of RFC 9068 access tokens.
pub const AT_JWT: &str = "at+jwt";
/// The header `typ` of logout tokens (Back-Channel Logout 1.0 §2.4).
pub const LOGOUT_JWT: &str = "logout+jwt";
/// The header `typ` of Security Event Tokens (RFC 8417 §2.3).
pub const SECEVENT_JWT: &str = "secevent+jwt";

/// Signs the provider's tokens. Cheap to clone.
#[derive(Debug, Clone)]
pub struct JwtOidcSigner {
    access: JwtCodec,
    id_keys: IdTokenKeys,
    issuer: String,
    audience: String,
}

impl JwtOidcSigner {
    /// ID tokens from `id_keys`, access tokens from `access` (their `aud`
    /// is `audience`, the contracts' access-token audience), both with
    /// `iss` = `issuer`.
    pub fn new(access: JwtCodec, id_keys: IdTokenKeys, issuer: String, audience: String) -> Self {
        Self {
            access,
            id_keys,
            issuer,
            audience,
        }
    }
}

fn alg_of(alg: IdTokenAlg) -> SigningAlgorithm {
    match alg {
        IdTokenAlg::Rs256 => SigningAlgorithm::Rs256,
        IdTokenAlg::Es256 => SigningAlgorithm::Es256,
        IdTokenAlg::EdDsa => SigningAlgorithm::EdDsa,
    }
}

impl OidcSigner for JwtOidcSigner {
    fn issuer(&self) -> &str {
        &self.issuer
    }

    fn sign_id_token(&self, alg: IdTokenAlg, c: &IdTokenClaims) -> Result<String, PortError> {
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("sub".into(), json!(c.sub.to_string()));
        claims.insert("aud".into(), json!(c.client_id));
        claims.insert("azp".into(), json!(c.client_id));
        claims.insert("exp".into(), json!(c.exp));
        claims.insert("iat".into(), json!(c.iat));
        claims.insert("auth_time".into(), json!(c.auth_time));
        claims.insert("sid".into(), json!(c.sid.to_string()));
        if !c.amr.is_empty() {
            claims.insert("amr".into(), json!(c.amr));
        }
        if let Some(nonce) = &c.nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        if let Some(at_hash) = &c.at_hash {
            claims.insert("at_hash".into(), json!(at_hash));
        }
        if let Some(p) = &c.profile {
            claims.insert("name".into(), json!(p.name));
            if let Some(u) = &p.preferred_username {
                claims.insert("preferred_username".into(), json!(u));
            }
            if let Some(pic) = &p.picture {
                claims.insert("picture".into(), json!(pic));
            }
        }
        if let Some((email, verified)) = &c.email {
            claims.insert("email".into(), json!(email));
            claims.insert("email_verified".into(), json!(verified));
        }
        self.id_keys.sign(alg_of(alg), &Value::Object(claims))
    }

    fn verify_id_token_hint(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<(String, String, Option<String>), TokenError> {
        let claims = self.id_keys.verify(token, now, true)?;
        let text = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_owned);
        let sub = text("sub").ok_or(TokenError::Invalid)?;
        let aud = match claims.get("aud") {
            Some(Value::String(a)) => a.clone(),
            Some(Value::Array(a)) => a
                .first()
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or(TokenError::Invalid)?,
            _ => return Err(TokenError::Invalid),
        };
        Ok((sub, aud, text("sid")))
    }

    fn sign_client_access(&self, c: &ClientAccessClaims) -> Result<String, PortError> {
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("sub".into(), json!(c.sub));
        if !self.audience.is_empty() {
            claims.insert("aud".into(), json!(self.audience));
        }
        claims.insert("client_id".into(), json!(c.client_id));
        claims.insert("scope".into(), json!(c.scope));
        claims.insert("jti".into(), json!(c.jti));
        claims.insert("iat".into(), json!(c.iat));
        claims.insert("exp".into(), json!(c.exp));
        if let Some(sid) = c.sid {
            claims.insert("sid".into(), json!(sid.to_string()));
        }
        if let Some(t) = c.auth_time {
            claims.insert("auth_time".into(), json!(t));
        }
        self.access.sign_typed(AT_JWT, &Value::Object(claims))
    }

    fn verify_client_access(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<ClientAccessClaims, TokenError> {
        let claims = self.access.verify_typed(token, AT_JWT, now)?;
        let text = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_owned);
        let int = |k: &str| claims.get(k).and_then(Value::as_i64);
        if text("iss").as_deref() != Some(self.issuer.as_str()) {
            return Err(TokenError::Invalid);
        }
        Ok(ClientAccessClaims {
            sub: text("sub").ok_or(TokenError::Invalid)?,
            client_id: text("client_id").ok_or(TokenError::Invalid)?,
            scope: text("scope").unwrap_or_default(),
            sid: match text("sid") {
                Some(s) => Some(s.parse().map_err(|_| TokenError::Invalid)?),
                None => None,
            },
            auth_time: int("auth_time"),
            jti: text("jti").unwrap_or_default(),
            iat: int("iat").ok_or(TokenError::Invalid)?,
            exp: int("exp").ok_or(TokenError::Invalid)?,
        })
    }

    fn sign_logout_token(&self, alg: IdTokenAlg, c: &LogoutClaims) -> Result<String, PortError> {
        let claims = json!({
            "iss": self.issuer,
            "aud": c.client_id,
            "iat": c.iat,
            "exp": c.exp,
            "jti": c.jti,
            "sub": c.sub.to_string(),
            "sid": c.sid.to_string(),
            "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
        });
        self.id_keys.sign_typed(alg_of(alg), LOGOUT_JWT, &claims)
    }

    fn sign_session_revoked(&self, alg: IdTokenAlg, s: &SessionRevokedSet) -> Result<String, PortError> {
        let claims = json!({
            "iss": self.issuer,
            "aud": s.client_id,
            "iat": s.iat,
            "jti": s.jti,
            "sub_id": {
                "format": "complex",
                "user": {"format": "iss_sub", "iss": self.issuer, "sub": s.sub.to_string()},
                "session": {"format": "opaque", "id": s.sid.to_string()},
            },
            "events": {SESSION_REVOKED_EVENT: {
                "event_timestamp": s.event_timestamp,
                "initiating_entity": s.initiating_entity,
                "reason_admin": {"en": s.reason},
            }},
        });
        self.id_keys.sign_typed(alg_of(alg), SECEVENT_JWT, &claims)
    }
}
