//! An in-memory [`SignalOutbox`], for the domain's tests.

use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::PortError;
use crate::oidc::signals::{Backlog, Due, Signal, SignalOutbox, Target};

/// One stored signal and its delivery state.
#[derive(Debug, Clone)]
pub struct MemSignal {
    /// The signal.
    pub signal: Signal,
    /// Where pushes go (`None`: the client cannot be reached).
    pub target: Option<Target>,
    /// Whether it is pushed at all.
    pub push: bool,
    /// The next attempt's time.
    pub next_attempt_at: DateTime<Utc>,
    /// When delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When given up.
    pub gave_up_at: Option<DateTime<Utc>>,
    /// The last delivery error.
    pub last_error: Option<String>,
    /// When acknowledged in the feed.
    pub acked_at: Option<DateTime<Utc>>,
}

/// Signals in a vector.
#[derive(Debug, Default)]
pub struct MemSignals(Mutex<Vec<MemSignal>>);

impl MemSignals {
    fn rows(&self) -> std::sync::MutexGuard<'_, Vec<MemSignal>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stores a signal, due at once when `target` is given.
    pub fn add(&self, signal: Signal, target: Option<Target>, push: bool) {
        let at = signal.ended_at;
        self.rows().push(MemSignal {
            signal,
            target,
            push,
            next_attempt_at: at,
            delivered_at: None,
            gave_up_at: None,
            last_error: None,
            acked_at: None,
        });
    }

    /// Every stored signal with its state.
    pub fn all(&self) -> Vec<MemSignal> {
        self.rows().clone()
    }
}

fn pending(r: &MemSignal) -> bool {
    r.push && r.delivered_at.is_none() && r.gave_up_at.is_none()
}

#[async_trait]
impl SignalOutbox for MemSignals {
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<Due>, PortError> {
        let mut rows = self.rows();
        let mut out = Vec::new();
        for r in rows.iter_mut() {
            if out.len() as u32 >= limit {
                break;
            }
            if pending(r) && r.next_attempt_at <= now {
                r.signal.attempts += 1;
                r.next_attempt_at = lease_until;
                out.push(Due {
                    signal: r.signal.clone(),
                    target: r.target.clone(),
                });
            }
        }
        Ok(out)
    }

    async fn delivered(&self, ids: &[i64], now: DateTime<Utc>) -> Result<(), PortError> {
        for r in self.rows().iter_mut().filter(|r| ids.contains(&r.signal.id)) {
            r.delivered_at = Some(now);
        }
        Ok(())
    }

    async fn retry_at(&self, id: i64, at: DateTime<Utc>, error: &str) -> Result<(), PortError> {
        for r in self.rows().iter_mut().filter(|r| r.signal.id == id) {
            r.next_attempt_at = at;
            r.last_error = Some(error.to_owned());
        }
        Ok(())
    }

    async fn give_up(&self, id: i64, now: DateTime<Utc>, error: &str) -> Result<(), PortError> {
        for r in self.rows().iter_mut().filter(|r| r.signal.id == id) {
            r.gave_up_at = Some(now);
            r.last_error = Some(error.to_owned());
        }
        Ok(())
    }

    async fn backlog(&self) -> Result<Backlog, PortError> {
        let rows = self.rows();
        let pending: Vec<_> = rows.iter().filter(|r| pending(r)).collect();
        Ok(Backlog {
            pending: pending.len() as u64,
            oldest: pending.iter().map(|r| r.signal.ended_at).min(),
        })
    }

    async fn feed(
        &self,
        client_id: &str,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Signal>, PortError> {
        Ok(self
            .rows()
            .iter()
            .filter(|r| r.signal.client_id == client_id && r.acked_at.is_none() && r.signal.ended_at > since)
            .take(limit as usize)
            .map(|r| r.signal.clone())
            .collect())
    }

    async fn ack(&self, client_id: &str, jtis: &[String], now: DateTime<Utc>) -> Result<u64, PortError> {
        let mut n = 0;
        for r in self.rows().iter_mut().filter(|r| {
            r.signal.client_id == client_id && r.acked_at.is_none() && jtis.contains(&r.signal.jti)
        }) {
            r.acked_at = Some(now);
            n += 1;
        }
        Ok(n)
    }

    async fn purge(&self, before: DateTime<Utc>) -> Result<u64, PortError> {
        let mut rows = self.rows();
        let n = rows.len();
        rows.retain(|r| pending(r) || r.signal.ended_at >= before);
        Ok((n - rows.len()) as u64)
    }
}
