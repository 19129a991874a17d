//! Every port: what the identity core needs from the outside world.
//!
//! Each area keeps its ports beside its types ([`crate::identity::ports`],
//! [`crate::sessions::ports`], [`crate::verification::ports`],
//! [`crate::social`], [`crate::chat`], [`crate::audit`],
//! [`crate::throttle`], [`crate::housekeeping`]); this module re-exports
//! them all, and defines the two every area shares: [`Clock`] and
//! [`Random`].
//!
//! Ports are named by role; adapters (in `auth-infra`) by technology. Each
//! method documents its errors. A [`PortError`](crate::PortError) always
//! means "the infrastructure failed", never "not found": absence is
//! `Ok(None)`.

use chrono::{DateTime, Utc};

pub use crate::audit::AuditLog;
pub use crate::chat::{AppRepository, AppTokens, ChatProfiles};
pub use crate::housekeeping::Housekeeping;
pub use crate::identity::ports::{
    Background, BackgroundTask, InsertUserError, PasswordHasher, UserRepository,
};
pub use crate::sessions::ports::{EventBus, SessionStore, TokenCodec};
pub use crate::social::{LoginStateStore, SocialIdentityStore, SocialProvider, SocialProviderError};
pub use crate::throttle::LoginThrottle;
pub use crate::verification::ports::{CodeStore, Mailer};

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
