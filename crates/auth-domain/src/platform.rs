//! The two ports every area uses, [`Clock`] and [`Random`]: what the
//! domain asks of the platform it runs on. A leaf module (re-exported by
//! [`crate::ports`]), so no area imports the ports façade.

use chrono::{DateTime, Utc};

/// The current time.
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// Cryptographically secure randomness.
pub trait Random: Send + Sync {
    /// Fills `buf` with random bytes from a CSPRNG.
    fn fill(&self, buf: &mut [u8]);
}
