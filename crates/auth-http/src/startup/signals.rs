//! The back-channel logout deliveries of this instance: a task that keeps
//! up to `AUTH_BACKCHANNEL_CONCURRENCY` posts in flight and records each
//! as it ends, so a receiver that hangs holds up only its own posts. It
//! takes what is due ([`auth_domain::oidc::signals::Signals::take_due`])
//! when a session ends (the event bus: this instance's ends and, through
//! PostgreSQL `LISTEN/NOTIFY`, every other's), when posts end and room
//! frees, and at least every second (retries, leases run out, an
//! announcement missed); it purges old signals hourly and keeps the
//! `auth_backchannel_*` metrics. Signing happens in the post's own task,
//! so the runtime's threads sign in parallel.

use std::time::{Duration, Instant};

use auth_domain::AuthService;
use auth_domain::oidc::signals::LogoutSender as _;
use auth_domain::oidc::signals::{DeliveryPolicy, DeliveryReport, Signal, Signals};
use auth_domain::sessions::events::Event;
use auth_infra::HttpLogoutSender;
use tokio::sync::broadcast;
use tokio::task::JoinSet;

use super::StartupError;
use crate::settings::SignalSettings;

/// How often the task looks for due work without being woken.
const TICK: Duration = Duration::from_secs(1);
/// How often old signals are purged.
const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// The longest a finished post's outcome waits to be written with others.
const FLUSH: Duration = Duration::from_millis(50);

type Posted = (Signal, Result<(), String>);

/// The running deliveries: [`Deliveries::finish`] at shutdown, or dropped
/// with the runtime (what is leased and not yet recorded is then taken
/// again when its lease ends).
pub(super) struct Deliveries {
    task: tokio::task::JoinHandle<()>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Deliveries {
    /// Takes what is due once more (the sessions ended by the last
    /// requests), lets the posts in flight end and records them, within
    /// `within`; then stops. Returns whether it finished in time (if not,
    /// the rest is left to the lease, as after a crash).
    pub(super) async fn finish(self, within: Duration) -> bool {
        let _ = self.stop.send(true);
        let mut task = self.task;
        match tokio::time::timeout(within, &mut task).await {
            Ok(_) => true,
            Err(_) => {
                task.abort();
                false
            }
        }
    }
}

/// Starts the deliveries.
///
/// # Errors
/// [`StartupError::Signals`] when the HTTP client cannot be built.
pub(super) fn spawn_deliveries(
    auth: AuthService,
    settings: &SignalSettings,
    wake: broadcast::Receiver<Event>,
) -> Result<Deliveries, StartupError> {
    let sender = HttpLogoutSender::new(settings.timeout).map_err(|e| StartupError::Signals(e.to_string()))?;
    let delivery = Delivery {
        signals: auth.signals().clone(),
        sender,
        policy: settings.policy(),
        capacity: settings.concurrency as usize,
        retention: chrono::TimeDelta::from_std(settings.retention.max(settings.retry_for))
            .unwrap_or(chrono::TimeDelta::MAX),
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    Ok(Deliveries {
        task: tokio::spawn(delivery.run(wake, stopped)),
        stop,
    })
}

struct Delivery {
    signals: Signals,
    sender: HttpLogoutSender,
    policy: DeliveryPolicy,
    capacity: usize,
    retention: chrono::TimeDelta,
}

impl Delivery {
    async fn run(self, mut wake: broadcast::Receiver<Event>, mut stop: tokio::sync::watch::Receiver<bool>) {
        // Once stopping: one last take, then only the posts in flight.
        let mut stopping = false;
        let mut last_take = false;
        let mut in_flight: JoinSet<Posted> = JoinSet::new();
        // Outcomes not yet written: flushed in one write per batch or per
        // FLUSH, whichever comes first (a delivery's lease covers the gap).
        let mut finished: Vec<Posted> = Vec::new();
        let mut flush_at = tokio::time::Instant::now();
        let mut purged = Instant::now();
        let mut look = true;
        let mut next_tick = tokio::time::Instant::now() + TICK;
        loop {
            if !finished.is_empty()
                && (finished.len() >= self.policy.batch as usize || tokio::time::Instant::now() >= flush_at)
            {
                self.record(&std::mem::take(&mut finished)).await;
            }
            if look && !last_take {
                look = self.fill(&mut in_flight).await;
                last_take = stopping;
            }
            if stopping && in_flight.is_empty() {
                if !finished.is_empty() {
                    self.record(&finished).await;
                }
                return;
            }
            if !stopping && tokio::time::Instant::now() >= next_tick {
                next_tick = tokio::time::Instant::now() + TICK;
                look = true;
                self.gauges().await;
                if purged.elapsed() >= PURGE_EVERY {
                    purged = Instant::now();
                    self.purge().await;
                }
            }
            tokio::select! {
                Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                    if finished.is_empty() {
                        flush_at = tokio::time::Instant::now() + FLUSH;
                    }
                    finished.extend(done);
                    while let Some(more) = in_flight.try_join_next() {
                        finished.extend(more);
                    }
                    // A quarter of the slots free: more may be due (a take
                    // per freed slot would cost a transaction each).
                    look |= in_flight.len() <= self.capacity * 3 / 4;
                }
                () = tokio::time::sleep_until(flush_at), if !finished.is_empty() => {}
                changed = stop.changed(), if !stopping => {
                    stopping = true;
                    look = changed.is_ok();
                }
                event = wake.recv(), if !stopping => {
                    match event {
                        Ok(Event::SessionsRevoked { .. }) | Err(broadcast::error::RecvError::Lagged(_)) => look = true,
                        Ok(_) => {}
                        Err(broadcast::error::RecvError::Closed) => {
                            // No more wake-ups: the tick alone then.
                            tokio::time::sleep_until(next_tick).await;
                        }
                    }
                    while wake.try_recv().is_ok() {}
                }
                () = tokio::time::sleep_until(next_tick), if !stopping => {}
            }
        }
    }

    /// Takes what is due into free slots; whether a full take suggests more.
    async fn fill(&self, in_flight: &mut JoinSet<Posted>) -> bool {
        let room = self.capacity.saturating_sub(in_flight.len());
        if room == 0 {
            return false;
        }
        let limit = u32::try_from(room).unwrap_or(u32::MAX).min(self.policy.batch);
        match self.signals.take_due(&self.policy, limit).await {
            Ok(taken) => {
                count(&DeliveryReport {
                    failed: taken.failed,
                    ..DeliveryReport::default()
                });
                let full = taken.due.len() + taken.failed >= limit as usize;
                for (signal, target) in taken.due {
                    let signals = self.signals.clone();
                    let sender = self.sender.clone();
                    in_flight.spawn(async move {
                        let outcome = match signals.logout_token(&signal, &target) {
                            Ok(token) => sender.send(&target.uri, &token).await,
                            Err(e) => Err(format!("cannot sign: {e}")),
                        };
                        (signal, outcome)
                    });
                }
                full
            }
            Err(e) => {
                tracing::warn!(error = %e, "back-channel logout: cannot read the outbox; retrying");
                false
            }
        }
    }

    async fn record(&self, finished: &[Posted]) {
        match self.signals.record(finished, &self.policy).await {
            Ok(report) => count(&report),
            // Not recorded: taken again when the lease ends.
            Err(e) => {
                tracing::warn!(error = %e, "back-channel logout: cannot record outcomes; retried after the lease")
            }
        }
    }

    async fn gauges(&self) {
        match self.signals.backlog().await {
            Ok(backlog) => {
                metrics::gauge!("auth_backchannel_pending").set(backlog.pending as f64);
                let age = backlog.oldest.map_or(0.0, |t| {
                    (chrono::Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0
                });
                metrics::gauge!("auth_backchannel_oldest_pending_seconds").set(age);
            }
            Err(e) => tracing::debug!(error = %e, "back-channel logout: cannot count the backlog"),
        }
    }

    async fn purge(&self) {
        match self.signals.purge(self.retention).await {
            Ok(n) if n > 0 => tracing::info!(signals = n, "purged old session signals"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot purge old session signals"),
        }
    }
}

/// `# HELP` of the `auth_backchannel_*` families (see `crate::metrics`).
pub(crate) fn describe_metrics() {
    use metrics::{Unit, describe_counter, describe_gauge};
    describe_counter!(
        "auth_backchannel_delivered_total",
        "Back-channel logout tokens a client answered with 2xx."
    );
    describe_counter!(
        "auth_backchannel_retried_total",
        "Back-channel logout posts that failed and were scheduled again."
    );
    describe_counter!(
        "auth_backchannel_failed_total",
        "Back-channel logout events given up (retry time over, or the client gone)."
    );
    describe_gauge!(
        "auth_backchannel_pending",
        "Back-channel logout events neither delivered nor given up."
    );
    describe_gauge!(
        "auth_backchannel_oldest_pending_seconds",
        Unit::Seconds,
        "Age of the oldest pending back-channel logout event (0 when none)."
    );
}

fn count(report: &DeliveryReport) {
    metrics::counter!("auth_backchannel_delivered_total").increment(report.delivered as u64);
    metrics::counter!("auth_backchannel_retried_total").increment(report.retried as u64);
    metrics::counter!("auth_backchannel_failed_total").increment(report.failed as u64);
    if report.failed > 0 {
        tracing::warn!(events = report.failed, "back-channel logout events given up");
    }
}
