//! The system clock and the operating system's randomness.

use auth_domain::ports::{Clock, Random};
use chrono::{DateTime, Utc};
use rand::Rng;

/// [`Clock`] reading the system time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// [`Random`] backed by `rand`'s thread-local CSPRNG (ChaCha, seeded and
/// periodically reseeded from the operating system).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        rand::rng().fill_bytes(buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_with_different_bytes() {
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        OsRandom.fill(&mut a);
        OsRandom.fill(&mut b);
        assert_ne!(a, [0u8; 32]);
        assert_ne!(a, b);
    }

    #[test]
    fn clock_is_close_to_now() {
        let d = Utc::now() - SystemClock.now();
        assert!(d.num_seconds().abs() < 5);
    }
}

/// [`Background`](auth_domain::ports::Background) on the tokio runtime that
/// was current when it was made (the server's main runtime, not an actix
/// worker's, which ends with its worker), counting what runs so that a
/// shutdown can wait for it ([`TokioBackground::drain`]). Tasks still
/// running when the runtime ends are dropped; the use cases that spawn
/// them leave nothing half done when that happens.
#[derive(Debug, Clone, Default)]
pub struct TokioBackground {
    runtime: Option<tokio::runtime::Handle>,
    running: std::sync::Arc<Running>,
}

#[derive(Debug, Default)]
struct Running {
    count: std::sync::atomic::AtomicUsize,
    idle: tokio::sync::Notify,
}

/// Counts a task out when it ends, or is dropped unfinished.
struct Counted(std::sync::Arc<Running>);

impl Drop for Counted {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, std::sync::atomic::Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl TokioBackground {
    /// Tasks run on the runtime current now (or, outside one, on the
    /// runtime current at each spawn).
    pub fn new() -> Self {
        Self {
            runtime: tokio::runtime::Handle::try_current().ok(),
            running: std::sync::Arc::default(),
        }
    }

    /// Tasks spawned and not yet ended.
    pub fn pending(&self) -> usize {
        self.running.count.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Waits until no task runs, or `within` has passed; returns how many
    /// still run (0: all ended).
    pub async fn drain(&self, within: std::time::Duration) -> usize {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let idle = self.running.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.pending() == 0 {
                return 0;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return self.pending();
            }
        }
    }
}

impl auth_domain::ports::Background for TokioBackground {
    fn spawn(&self, task: auth_domain::ports::BackgroundTask) {
        self.running
            .count
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        let counted = Counted(self.running.clone());
        let task = async move {
            let _counted = counted;
            task.await;
        };
        match &self.runtime {
            Some(runtime) => drop(runtime.spawn(task)),
            None => drop(tokio::spawn(task)),
        }
    }
}

#[cfg(test)]
mod background_tests {
    use super::TokioBackground;
    use auth_domain::ports::Background as _;
    use std::time::Duration;

    #[tokio::test]
    async fn drain_waits_for_running_tasks_and_gives_up_at_its_bound() {
        let background = TokioBackground::new();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = done.clone();
        background.spawn(Box::pin(async move {
            let _ = rx.await;
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }));
        assert_eq!(background.pending(), 1);
        assert_eq!(background.drain(Duration::from_millis(50)).await, 1);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let _ = tx.send(());
        });
        assert_eq!(background.drain(Duration::from_secs(10)).await, 0);
        assert!(done.load(std::sync::atomic::Ordering::SeqCst));
    }
}
