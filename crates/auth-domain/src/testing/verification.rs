//! In-memory fakes of the verification area's ports: codes and the mailer.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::Ordering;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use crate::error::PortError;
use crate::identity::user::*;
use crate::ports::*;
use crate::verification::*;

/// When a decoy's cooldown started and when it ends.
pub type DecoyCooldown = (DateTime<Utc>, DateTime<Utc>);

/// Codes and decoys in memory. One mutex per map makes every conditional
/// method atomic, as the port requires of the database.
#[derive(Default)]
pub struct MemCodes {
    pub rows: Mutex<HashMap<String, StoredCode>>,
    /// Decoy key (hex) to when its cooldown started and ends.
    pub decoys: Mutex<HashMap<String, DecoyCooldown>>,
}

#[async_trait]
impl CodeStore for MemCodes {
    async fn put(&self, code: &StoredCode, cooldown: TimeDelta) -> Result<PutOutcome, PortError> {
        let mut rows = self.rows.lock().unwrap();
        if let Some(old) = rows.get(code.email.as_str())
            && code.sent_at - old.sent_at < cooldown
        {
            return Ok(PutOutcome::Cooldown(old.sent_at + cooldown));
        }
        rows.insert(code.email.as_str().to_owned(), code.clone());
        Ok(PutOutcome::Stored)
    }
    async fn get(&self, email: &Email) -> Result<Option<StoredCode>, PortError> {
        Ok(self.rows.lock().unwrap().get(email.as_str()).cloned())
    }
    async fn reserve_attempt(
        &self,
        email: &Email,
        hash: &CodeHash,
        now: DateTime<Utc>,
        max: u32,
    ) -> Result<bool, PortError> {
        let mut rows = self.rows.lock().unwrap();
        match rows.get_mut(email.as_str()) {
            Some(c)
                if &c.hash == hash && c.consumed_at.is_none() && c.expires_at > now && c.attempts < max =>
            {
                c.attempts += 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn mark_verified(
        &self,
        email: &Email,
        hash: &CodeHash,
        now: DateTime<Utc>,
        max: u32,
        login_id: Option<&LoginId>,
    ) -> Result<bool, PortError> {
        let mut rows = self.rows.lock().unwrap();
        match rows.get_mut(email.as_str()) {
            Some(c)
                if &c.hash == hash
                    && c.consumed_at.is_none()
                    && c.expires_at > now
                    && c.attempts <= max
                    && login_id.is_none_or(|l| c.login_id.as_ref().is_none_or(|b| b == l)) =>
            {
                c.verified_at = Some(now);
                c.attempts = c.attempts.saturating_sub(1);
                if let Some(l) = login_id {
                    c.login_id = Some(l.clone());
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn consume(
        &self,
        email: &Email,
        hash: &CodeHash,
        now: DateTime<Utc>,
        max: u32,
    ) -> Result<bool, PortError> {
        let mut rows = self.rows.lock().unwrap();
        match rows.get_mut(email.as_str()) {
            Some(c)
                if &c.hash == hash && c.consumed_at.is_none() && c.expires_at > now && c.attempts <= max =>
            {
                c.consumed_at = Some(now);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn consume_sign_up(
        &self,
        email: &Email,
        hash: &CodeHash,
        login_id: &LoginId,
        verified_since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let mut rows = self.rows.lock().unwrap();
        match rows.get_mut(email.as_str()) {
            Some(c)
                if &c.hash == hash
                    && c.purpose == CodePurpose::SignUp
                    && c.login_id.as_ref() == Some(login_id)
                    && c.consumed_at.is_none()
                    && c.verified_at.is_some_and(|t| t >= verified_since) =>
            {
                c.consumed_at = Some(now);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn discard(&self, email: &Email, hash: &CodeHash) -> Result<(), PortError> {
        let mut rows = self.rows.lock().unwrap();
        if rows.get(email.as_str()).is_some_and(|c| &c.hash == hash) {
            rows.remove(email.as_str());
        }
        Ok(())
    }
    async fn put_decoy(
        &self,
        key: &DecoyKey,
        now: DateTime<Utc>,
        cooldown: TimeDelta,
    ) -> Result<PutOutcome, PortError> {
        let mut decoys = self.decoys.lock().unwrap();
        if let Some(&(sent, _)) = decoys.get(key.as_str())
            && now - sent < cooldown
        {
            return Ok(PutOutcome::Cooldown(sent + cooldown));
        }
        decoys.insert(key.as_str().to_owned(), (now, now + cooldown));
        Ok(PutOutcome::Stored)
    }
    async fn purge_expired(&self, now: DateTime<Utc>, horizon: TimeDelta) -> Result<usize, PortError> {
        let cutoff = now - horizon;
        let mut rows = self.rows.lock().unwrap();
        let before = rows.len();
        rows.retain(|_, c| {
            !(c.expires_at <= now && c.sent_at <= cutoff && c.verified_at.is_none_or(|t| t <= cutoff))
        });
        let mut gone = before - rows.len();
        let mut decoys = self.decoys.lock().unwrap();
        let before = decoys.len();
        decoys.retain(|_, (_, ends)| *ends > now);
        gone += before - decoys.len();
        Ok(gone)
    }
}

#[derive(Default)]
pub struct RecordingMailer {
    pub sent: Mutex<Vec<OutgoingMail>>,
    pub down: std::sync::atomic::AtomicBool,
}

impl RecordingMailer {
    /// The code in the last mail to `to`.
    pub fn last_code(&self, to: &str) -> Option<String> {
        let sent = self.sent.lock().unwrap();
        let mail = sent.iter().rev().find(|m| m.to.as_str() == to)?;
        mail.code().map(str::to_owned)
    }
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), PortError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(PortError::new("send mail", "connection refused"));
        }
        self.sent.lock().unwrap().push(mail.clone());
        Ok(())
    }
}
