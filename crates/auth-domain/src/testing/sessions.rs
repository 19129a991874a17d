//! In-memory fakes of the sessions area's ports: sessions and refresh records, token signing, the event bus.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::PortError;
use crate::identity::user::*;
use crate::ports::*;
use crate::sessions::events::Event;
use crate::sessions::session::*;
use crate::sessions::token::*;

#[derive(Default)]
pub struct MemSessions {
    pub sessions: Mutex<HashMap<SessionId, Session>>,
    pub refresh: Mutex<HashMap<RefreshTokenHash, RefreshRecord>>,
}

#[async_trait]
impl SessionStore for MemSessions {
    async fn create(&self, s: &Session, first: &RefreshRecord) -> Result<(), PortError> {
        self.sessions.lock().unwrap().insert(s.id, s.clone());
        self.refresh
            .lock()
            .unwrap()
            .insert(first.hash.clone(), first.clone());
        Ok(())
    }
    async fn get(&self, id: SessionId) -> Result<Option<Session>, PortError> {
        Ok(self.sessions.lock().unwrap().get(&id).cloned())
    }
    async fn refresh_record(&self, h: &RefreshTokenHash) -> Result<Option<RefreshRecord>, PortError> {
        Ok(self.refresh.lock().unwrap().get(h).cloned())
    }
    async fn rotate(
        &self,
        spent: &RefreshTokenHash,
        next: &RefreshRecord,
        now: DateTime<Utc>,
    ) -> Result<RotateOutcome, PortError> {
        let mut refresh = self.refresh.lock().unwrap();
        let Some(rec) = refresh.get_mut(spent) else {
            return Ok(RotateOutcome::Unknown);
        };
        if let Some(at) = rec.spent_at {
            return Ok(RotateOutcome::AlreadySpent(at));
        }
        let live = self
            .sessions
            .lock()
            .unwrap()
            .get(&rec.session_id)
            .is_some_and(Session::is_live);
        if !live {
            return Ok(RotateOutcome::SessionRevoked);
        }
        rec.spent_at = Some(now);
        refresh.insert(next.hash.clone(), next.clone());
        if let Some(s) = self.sessions.lock().unwrap().get_mut(&next.session_id) {
            s.last_refreshed_at = Some(now);
        }
        Ok(RotateOutcome::Rotated)
    }
    async fn add_refresh(&self, next: &RefreshRecord) -> Result<bool, PortError> {
        let live = self
            .sessions
            .lock()
            .unwrap()
            .get(&next.session_id)
            .is_some_and(Session::is_live);
        if live {
            self.refresh
                .lock()
                .unwrap()
                .insert(next.hash.clone(), next.clone());
        }
        Ok(live)
    }
    async fn revoke(
        &self,
        id: SessionId,
        reason: RevokeReason,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let mut s = self.sessions.lock().unwrap();
        match s.get_mut(&id) {
            Some(s) if s.is_live() => {
                s.revoked_at = Some(now);
                s.revoke_reason = Some(reason);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn refresh_expiry(&self, id: SessionId) -> Result<Option<DateTime<Utc>>, PortError> {
        Ok(self
            .refresh
            .lock()
            .unwrap()
            .values()
            .filter(|r| r.session_id == id && r.spent_at.is_none())
            .map(|r| r.expires_at)
            .max())
    }
    async fn live_sessions(&self, user: UserId) -> Result<Vec<Session>, PortError> {
        let mut live: Vec<Session> = self
            .sessions
            .lock()
            .unwrap()
            .values()
            .filter(|s| s.user_id == user && s.is_live())
            .cloned()
            .collect();
        live.sort_by_key(|s| s.created_at);
        Ok(live)
    }
    async fn revoke_all(
        &self,
        user: UserId,
        reason: RevokeReason,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionId>, PortError> {
        let mut out = vec![];
        for s in self.sessions.lock().unwrap().values_mut() {
            if s.user_id == user && s.is_live() {
                s.revoked_at = Some(now);
                s.revoke_reason = Some(reason);
                out.push(s.id);
            }
        }
        Ok(out)
    }
    async fn active_sessions(&self, user: UserId, now: DateTime<Utc>) -> Result<Vec<Session>, PortError> {
        let live = self.live_sessions(user).await?;
        let refresh = self.refresh.lock().unwrap();
        Ok(live
            .into_iter()
            .filter(|s| {
                refresh
                    .values()
                    .any(|r| r.session_id == s.id && r.spent_at.is_none() && r.expires_at > now)
            })
            .collect())
    }
    async fn count_active(&self, now: DateTime<Utc>) -> Result<u64, PortError> {
        let sessions = self.sessions.lock().unwrap();
        let refresh = self.refresh.lock().unwrap();
        Ok(sessions
            .values()
            .filter(|s| {
                s.is_live()
                    && refresh
                        .values()
                        .any(|r| r.session_id == s.id && r.spent_at.is_none() && r.expires_at > now)
            })
            .count() as u64)
    }
    async fn touch(&self, id: SessionId, now: DateTime<Utc>) -> Result<(), PortError> {
        if let Some(s) = self.sessions.lock().unwrap().get_mut(&id) {
            s.last_refreshed_at = Some(now);
        }
        Ok(())
    }
}

/// Tokens as readable strings: `A|sub|sid|iat|exp`, `R|sub|sid|jti|iat|exp`,
/// followed by `|amr,amr|auth_time` when the sign-in is recorded.
pub struct FakeTokens;

fn sign_in_suffix(s: &SignIn) -> String {
    if *s == SignIn::default() {
        return String::new();
    }
    format!(
        "|{}|{}",
        s.amr.join(","),
        s.auth_time.map_or(String::new(), |t| t.to_string())
    )
}

fn sign_in_of(rest: &[&str]) -> Result<SignIn, TokenError> {
    match rest {
        [] => Ok(SignIn::default()),
        [amr, time] => Ok(SignIn {
            amr: amr
                .split(',')
                .filter(|m| !m.is_empty())
                .map(str::to_owned)
                .collect(),
            auth_time: if time.is_empty() {
                None
            } else {
                Some(time.parse().map_err(|_| TokenError::Invalid)?)
            },
        }),
        _ => Err(TokenError::Invalid),
    }
}

impl TokenCodec for FakeTokens {
    fn sign_access(&self, c: &AccessClaims) -> Result<String, PortError> {
        Ok(format!(
            "A|{}|{}|{}|{}{}",
            c.sub,
            c.sid,
            c.iat,
            c.exp,
            sign_in_suffix(&c.sign_in)
        ))
    }
    fn sign_refresh(&self, c: &RefreshClaims) -> Result<String, PortError> {
        Ok(format!(
            "R|{}|{}|{}|{}|{}{}",
            c.sub,
            c.sid,
            c.jti,
            c.iat,
            c.exp,
            sign_in_suffix(&c.sign_in)
        ))
    }
    fn verify_access(
        &self,
        t: &str,
        now: DateTime<Utc>,
        allow_expired: bool,
    ) -> Result<AccessClaims, TokenError> {
        let p: Vec<&str> = t.split('|').collect();
        if p.len() < 5 || p[0] != "A" {
            return Err(TokenError::Invalid);
        }
        let c = AccessClaims {
            sub: p[1].parse().map_err(|_| TokenError::Invalid)?,
            sid: SessionId::from_uuid(p[2].parse().map_err(|_| TokenError::Invalid)?),
            iat: p[3].parse().map_err(|_| TokenError::Invalid)?,
            exp: p[4].parse().map_err(|_| TokenError::Invalid)?,
            sign_in: sign_in_of(&p[5..])?,
        };
        if !allow_expired && c.exp <= now.timestamp() {
            return Err(TokenError::Expired);
        }
        Ok(c)
    }
    fn verify_refresh(&self, t: &str, now: DateTime<Utc>) -> Result<RefreshClaims, TokenError> {
        let p: Vec<&str> = t.split('|').collect();
        if p.len() < 6 || p[0] != "R" {
            return Err(TokenError::Invalid);
        }
        let c = RefreshClaims {
            sub: p[1].parse().map_err(|_| TokenError::Invalid)?,
            sid: SessionId::from_uuid(p[2].parse().map_err(|_| TokenError::Invalid)?),
            jti: p[3].to_owned(),
            iat: p[4].parse().map_err(|_| TokenError::Invalid)?,
            exp: p[5].parse().map_err(|_| TokenError::Invalid)?,
            sign_in: sign_in_of(&p[6..])?,
        };
        if c.exp <= now.timestamp() {
            return Err(TokenError::Expired);
        }
        Ok(c)
    }
}

/// Records every published event.
#[derive(Default)]
pub struct RecordingBus {
    pub events: Mutex<Vec<Event>>,
}

#[async_trait]
impl EventBus for RecordingBus {
    async fn publish(&self, event: Event) {
        self.events.lock().unwrap().push(event);
    }
}
