//! Every port: what the identity core needs from the outside world.
//!
//! Each area keeps its ports beside its types ([`crate::identity::ports`],
//! [`crate::sessions::ports`], [`crate::verification::ports`],
//! [`crate::social`], [`crate::chat`], [`crate::audit`], [`crate::admin::roles`],
//! [`crate::identity::throttle`], [`crate::housekeeping`]); this module re-exports
//! them all, with the two every area shares: [`Clock`] and [`Random`]
//! ([`crate::platform`]). It is the map for other crates; the domain's own
//! code imports each port from its area.
//!
//! Ports are named by role; adapters (in `auth-infra`) by technology. Each
//! method documents its errors. A [`PortError`](crate::PortError) always
//! means "the infrastructure failed", never "not found": absence is
//! `Ok(None)`.

pub use crate::platform::{Clock, Random};

pub use crate::admin::roles::AdminRoleStore;
pub use crate::audit::AuditLog;
pub use crate::chat::{AppRepository, AppTokens, ChatProfiles};
pub use crate::housekeeping::Housekeeping;
pub use crate::identity::ports::{
    Background, BackgroundTask, InsertUserError, PasswordHasher, UserRepository,
};
pub use crate::identity::throttle::{LoginThrottle, RequestRates};
pub use crate::sessions::ports::{EventBus, SessionStore, TokenCodec};
pub use crate::social::{LoginStateStore, SocialIdentityStore, SocialProvider, SocialProviderError};
pub use crate::verification::ports::{CodeStore, Mailer};
