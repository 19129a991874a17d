//! The back-channel logout deliveries of this instance: a task that posts
//! what is due ([`auth_domain::oidc::signals::Signals::deliver_due`]) when
//! a session ends (the event bus: this instance's ends and, through
//! PostgreSQL `LISTEN/NOTIFY`, every other's) and at least every second
//! (retries, leases run out, an announcement missed), purges old signals
//! hourly, and keeps the `auth_backchannel_*` metrics.

use std::time::{Duration, Instant};

use auth_domain::AuthService;
use auth_domain::sessions::events::Event;
use auth_infra::HttpLogoutSender;
use tokio::sync::broadcast;

use super::StartupError;
use crate::settings::SignalSettings;

/// How often the task looks for due work without being woken.
const TICK: Duration = Duration::from_secs(1);
/// How often old signals are purged.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// Starts the deliveries; aborting the handle stops them (what is leased
/// and not yet recorded is taken again when its lease ends).
///
/// # Errors
/// [`StartupError::Signals`] when the HTTP client cannot be built.
pub(super) fn spawn_deliveries(
    auth: AuthService,
    settings: &SignalSettings,
    mut wake: broadcast::Receiver<Event>,
) -> Result<tokio::task::JoinHandle<()>, StartupError> {
    let sender = HttpLogoutSender::new(settings.timeout, settings.concurrency as usize)
        .map_err(|e| StartupError::Signals(e.to_string()))?;
    let policy = settings.policy();
    let retention = chrono::TimeDelta::from_std(settings.retention.max(settings.retry_for))
        .unwrap_or(chrono::TimeDelta::MAX);
    Ok(tokio::spawn(async move {
        let signals = auth.signals();
        let mut purged = Instant::now();
        loop {
            loop {
                match signals.deliver_due(&sender, &policy).await {
                    Ok(report) => {
                        metrics::counter!("auth_backchannel_delivered_total")
                            .increment(report.delivered as u64);
                        metrics::counter!("auth_backchannel_retried_total").increment(report.retried as u64);
                        metrics::counter!("auth_backchannel_failed_total").increment(report.failed as u64);
                        if report.failed > 0 {
                            tracing::warn!(events = report.failed, "back-channel logout events given up");
                        }
                        // A full batch: more may be due at once.
                        if report.taken < policy.batch as usize {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "back-channel logout: cannot read the outbox; retrying");
                        break;
                    }
                }
            }
            match signals.backlog().await {
                Ok(backlog) => {
                    metrics::gauge!("auth_backchannel_pending").set(backlog.pending as f64);
                    let age = backlog.oldest.map_or(0.0, |t| {
                        (chrono::Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0
                    });
                    metrics::gauge!("auth_backchannel_oldest_pending_seconds").set(age);
                }
                Err(e) => tracing::debug!(error = %e, "back-channel logout: cannot count the backlog"),
            }
            if purged.elapsed() >= PURGE_EVERY {
                purged = Instant::now();
                match signals.purge(retention).await {
                    Ok(n) if n > 0 => tracing::info!(signals = n, "purged old session signals"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "cannot purge old session signals"),
                }
            }
            // Wait for a session's end or the tick; then drain the wake-ups
            // that queued meanwhile (one pass serves them all).
            let _ = tokio::time::timeout(TICK, async {
                loop {
                    match wake.recv().await {
                        Ok(Event::SessionsRevoked { .. }) | Err(broadcast::error::RecvError::Lagged(_)) => {
                            break;
                        }
                        Ok(_) => {}
                        Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
                    }
                }
            })
            .await;
            while wake.try_recv().is_ok() {}
        }
    }))
}
