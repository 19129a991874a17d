//! The ends of sessions the server announces: back-channel logout tokens
//! (OpenID Connect Back-Channel Logout 1.0, pushed) and security event
//! tokens carrying a CAEP `session-revoked` event (RFC 8417, polled per
//! RFC 8936). Both are JWTs signed with a key of the issuer's JWKS and
//! addressed to [`crate::Builder::client_id`].

use jsonwebtoken::Validation;
use serde_json::{Map, Value};

use crate::revocation::RevocationListBuilder;
use crate::{AuthClient, Error};

/// The `events` member of a back-channel logout token.
pub(crate) const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// The CAEP event type of a revoked session.
pub(crate) const SESSION_REVOKED_EVENT: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";

/// Seconds since the epoch, now.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A verified back-channel logout token (Back-Channel Logout 1.0 §2.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutToken {
    /// Its unique id (a replay is refused).
    pub jti: String,
    /// When it was issued, seconds since the epoch.
    pub iat: i64,
    /// When it expires, if it says.
    pub exp: Option<i64>,
    /// The user whose sessions ended (all those issued at or before `iat`
    /// when there is no `sid`).
    pub sub: Option<String>,
    /// The session that ended.
    pub sid: Option<String>,
}

/// A verified security event token (RFC 8417) carrying a CAEP
/// `session-revoked` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRevoked {
    /// The SET's unique id (what a poller acknowledges).
    pub jti: String,
    /// When the SET was issued, seconds since the epoch.
    pub iat: i64,
    /// The revoked session (`sub_id.session`), if named.
    pub session: Option<String>,
    /// The user (`sub_id.user`): without a session, all their sessions
    /// issued at or before the event ended.
    pub user: Option<String>,
    /// When the session was revoked, if the event says.
    pub event_timestamp: Option<i64>,
    /// Who revoked it (`user`, `admin`, `policy`, `system`), if it says.
    pub initiating_entity: Option<String>,
}

/// Whether a header `typ` names the media type `expected` (`logout+jwt`,
/// `secevent+jwt`): case-insensitive, the `application/` prefix optional
/// (RFC 7515 §4.1.9).
fn is_typ(typ: &str, expected: &str) -> bool {
    let t = typ.to_ascii_lowercase();
    t.strip_prefix("application/").unwrap_or(&t) == expected
}

/// A NumericDate (an integer, or a number truncated to one).
fn numeric(value: Option<&Value>) -> Option<i64> {
    let value = value?;
    #[allow(clippy::cast_possible_truncation)] // A date in seconds: truncation is the point.
    value
        .as_i64()
        .or_else(|| value.as_f64().filter(|f| f.is_finite()).map(|f| f.floor() as i64))
}

fn string(claims: &Map<String, Value>, name: &str) -> Result<Option<String>, Error> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(Error::Invalid("malformed claims")),
    }
}

fn seconds(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl AuthClient {
    /// The validation settings of the revocation list, or its defaults.
    fn event_settings(&self) -> RevocationListBuilder {
        self.revocations().map(|l| l.config().clone()).unwrap_or_default()
    }

    /// Verifies the signature, `iss` and `aud` (= the client id) of an
    /// event JWT whose header `typ`, if any, must be `expected_typ`; checks
    /// `iat` (present, not in the future), `exp` (if present, not passed)
    /// and `jti` (present). Returns the claims.
    async fn verify_event_jwt(
        &self,
        token: &str,
        expected_typ: &'static str,
    ) -> Result<Map<String, Value>, Error> {
        let client_id = self
            .client_id()
            .ok_or_else(|| Error::Config("no client id: set Builder::client_id".into()))?;
        let (header, key, alg) = self.header_and_key(token, true).await?;
        if header.typ.as_deref().is_some_and(|t| !is_typ(t, expected_typ)) {
            return Err(Error::Invalid("wrong typ"));
        }
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[self.issuer()]);
        validation.set_audience(&[client_id]);
        validation.set_required_spec_claims(&["iss", "aud"]);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                match e.kind() {
                    ErrorKind::InvalidIssuer => Error::Invalid("wrong issuer"),
                    ErrorKind::InvalidAudience => Error::Invalid("wrong audience"),
                    ErrorKind::InvalidSignature => Error::Invalid("bad signature"),
                    _ => Error::Invalid("malformed claims"),
                }
            })?
            .claims;
        // `iss` is one string (the library also accepts an array).
        if claims.get("iss").and_then(Value::as_str) != Some(self.issuer()) {
            return Err(Error::Invalid("wrong issuer"));
        }
        let settings = self.event_settings();
        let (now, skew) = (unix_now(), seconds(settings.clock_skew));
        let iat = numeric(claims.get("iat")).ok_or(Error::Invalid("no iat"))?;
        if iat > now.saturating_add(skew) {
            return Err(Error::Invalid("iat in the future"));
        }
        if claims.contains_key("exp") {
            let exp = numeric(claims.get("exp")).ok_or(Error::Invalid("malformed claims"))?;
            if exp.saturating_add(skew) < now {
                return Err(Error::Expired);
            }
        }
        if string(&claims, "jti")?.is_none() {
            return Err(Error::Invalid("no jti"));
        }
        Ok(claims)
    }

    /// Verifies a back-channel logout token as OpenID Connect Back-Channel
    /// Logout 1.0 §2.6 says: the signature with a key of the issuer's JWKS
    /// (the algorithm pinned as in [`AuthClient::verify`]), header `typ`
    /// `logout+jwt` if present, `iss` = the issuer, `aud` = (or, an array,
    /// containing) [`crate::Builder::client_id`], `iat` present and not in
    /// the future (beyond the clock skew), `exp` if present not passed —
    /// without `exp`, `iat` not older than
    /// [`crate::RevocationListBuilder::logout_token_max_age`] —, `events`
    /// with a `http://schemas.openid.net/event/backchannel-logout` object,
    /// a `sub` or a `sid`, a `jti`, and no `nonce`.
    ///
    /// This does not check that the `jti` is new:
    /// [`AuthClient::receive_logout_token`] does (with the
    /// [`crate::RevocationList`]).
    ///
    /// # Errors
    /// [`Error::Invalid`] or [`Error::Expired`]; [`Error::Config`] without a
    /// client id; [`Error::Unavailable`] when the token names a key not
    /// cached and the key set cannot be fetched.
    pub async fn verify_logout_token(&self, token: &str) -> Result<LogoutToken, Error> {
        let claims = self.verify_event_jwt(token, "logout+jwt").await?;
        if claims.contains_key("nonce") {
            return Err(Error::Invalid("a logout token has no nonce"));
        }
        let event = claims
            .get("events")
            .and_then(Value::as_object)
            .and_then(|events| events.get(BACKCHANNEL_LOGOUT_EVENT));
        if !event.is_some_and(Value::is_object) {
            return Err(Error::Invalid("not a logout token"));
        }
        let iat = numeric(claims.get("iat")).ok_or(Error::Invalid("no iat"))?;
        let exp = numeric(claims.get("exp"));
        if exp.is_none() {
            let max_age = seconds(self.event_settings().logout_token_max_age);
            if unix_now().saturating_sub(iat) > max_age {
                return Err(Error::Expired);
            }
        }
        let (sub, sid) = (string(&claims, "sub")?, string(&claims, "sid")?);
        if sub.is_none() && sid.is_none() {
            return Err(Error::Invalid("neither sub nor sid"));
        }
        let jti = string(&claims, "jti")?.ok_or(Error::Invalid("no jti"))?;
        Ok(LogoutToken {
            jti,
            iat,
            exp,
            sub,
            sid,
        })
    }

    /// Verifies a back-channel logout token
    /// ([`AuthClient::verify_logout_token`]) and records it in the
    /// [`crate::Builder::revocations`] list: its `sid` ended, or without
    /// one, its `sub`'s sessions issued at or before its `iat`. A `jti`
    /// already received is refused. On any error nothing is recorded.
    ///
    /// # Errors
    /// As [`AuthClient::verify_logout_token`]; [`Error::Invalid`] for a
    /// replay; [`Error::Config`] without a revocation list.
    pub async fn receive_logout_token(&self, token: &str) -> Result<LogoutToken, Error> {
        let list = self
            .revocations()
            .ok_or_else(|| Error::Config("no revocation list: set Builder::revocations".into()))?;
        let logout = self.verify_logout_token(token).await?;
        list.record_logout(&logout)?;
        tracing::info!(sid = ?logout.sid, sub = ?logout.sub, "back-channel logout received");
        Ok(logout)
    }

    /// Verifies a security event token (RFC 8417) carrying a CAEP
    /// `session-revoked` event: the signature as for
    /// [`AuthClient::verify_logout_token`], header `typ` `secevent+jwt` if
    /// present, `iss`, `aud` (= the client id), `iat` (not in the future),
    /// `exp` if present, `jti`, and the event, whose subject
    /// (`sub_id`: `complex` with a `session` and/or `user`, or `iss_sub`)
    /// names a session or a user of this issuer.
    ///
    /// # Errors
    /// As [`AuthClient::verify_logout_token`].
    pub async fn verify_security_event(&self, set: &str) -> Result<SessionRevoked, Error> {
        let claims = self.verify_event_jwt(set, "secevent+jwt").await?;
        let event = claims
            .get("events")
            .and_then(Value::as_object)
            .and_then(|events| events.get(SESSION_REVOKED_EVENT))
            .and_then(Value::as_object)
            .ok_or(Error::Invalid("not a session-revoked event"))?;
        // `sub_id` (RFC 9493); early CAEP drafts put the subject in the
        // event.
        let subject = claims
            .get("sub_id")
            .or_else(|| event.get("subject"))
            .ok_or(Error::Invalid("no subject"))?;
        let (session, mut user) = self.subject(subject)?;
        if session.is_none() && user.is_none() {
            user = string(&claims, "sub")?;
        }
        if session.is_none() && user.is_none() {
            return Err(Error::Invalid("no subject"));
        }
        let iat = numeric(claims.get("iat")).ok_or(Error::Invalid("no iat"))?;
        let jti = string(&claims, "jti")?.ok_or(Error::Invalid("no jti"))?;
        Ok(SessionRevoked {
            jti,
            iat,
            session,
            user,
            event_timestamp: numeric(event.get("event_timestamp")),
            initiating_entity: event
                .get("initiating_entity")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }

    /// The (session, user) a subject identifier names.
    fn subject(&self, subject: &Value) -> Result<(Option<String>, Option<String>), Error> {
        let id = |v: &Value, member: &str| {
            v.get(member)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let user = |v: &Value| -> Result<Option<String>, Error> {
            match v.get("format").and_then(Value::as_str) {
                Some("iss_sub") => {
                    if v.get("iss").and_then(Value::as_str) != Some(self.issuer()) {
                        return Err(Error::Invalid("wrong issuer"));
                    }
                    Ok(id(v, "sub"))
                }
                Some("opaque") => Ok(id(v, "id")),
                _ => Err(Error::Invalid("unsupported subject format")),
            }
        };
        match subject.get("format").and_then(Value::as_str) {
            Some("complex") => {
                let session = match subject.get("session") {
                    None => None,
                    Some(s) if s.get("format").and_then(Value::as_str) == Some("opaque") => id(s, "id"),
                    Some(_) => return Err(Error::Invalid("unsupported subject format")),
                };
                let user = match subject.get("user") {
                    None => None,
                    Some(u) => user(u)?,
                };
                Ok((session, user))
            }
            Some("iss_sub") => Ok((None, user(subject)?)),
            _ => Err(Error::Invalid("unsupported subject format")),
        }
    }
}
