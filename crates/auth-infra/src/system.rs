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

/// [`Background`](auth_domain::ports::Background) on the current tokio
/// runtime (`tokio::spawn`). Tasks still running at shutdown are dropped;
/// the use cases that spawn them leave nothing half done when that happens.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioBackground;

impl auth_domain::ports::Background for TokioBackground {
    fn spawn(&self, task: auth_domain::ports::BackgroundTask) {
        tokio::spawn(task);
    }
}
