//! The use cases, as one service per area, and [`AuthService`], the
//! bundle of all of them that the HTTP layer holds.
//!
//! Each area service is a small, cheap-to-clone struct built from only the
//! ports its use cases work through, and exposes one method per use case;
//! each returns its own error enum. Handlers parse a request, call one
//! method (`auth.sessions().refresh(..)`), and render the result in their
//! contract's envelope.
//!
//! | Service | Use cases | Built from |
//! |---------|-----------|------------|
//! | [`Accounts`] | sign-up, login, withdrawal, availability | a [`SessionIssuer`], users, hasher, codes, throttle, background |
//! | [`Verification`] | send and check codes, password reset | a [`ServiceCore`], users, codes, mailer, hasher, a [`SessionRevoker`] |
//! | [`Sessions`] | verify, refresh, reissue, logout, live status, notify | a [`SessionIssuer`], users |
//! | [`Social`] | social login | a [`SessionIssuer`], users, [`SocialPorts`] |
//! | [`Apps`] | register, list, delete, re-key applications; client check | a [`ServiceCore`], app store, app tokens |
//! | [`Chat`] | chat login, chat socket identity | [`Sessions`], users, [`ChatPorts`] |
//! | [`UserAdmin`] | find, view, disable, enable users; grant and revoke the admin role | a [`ServiceCore`], users, identities, hasher, a [`SessionRevoker`], factors, roles |
//! | [`SessionAdmin`] | list and revoke a user's sessions | a [`ServiceCore`], users, a [`SessionRevoker`] |
//! | [`Import`] | import accounts with their hashes | a [`ServiceCore`], users, hasher |
//! | [`AuditTrail`] | read the audit trail | the audit log |
//! | [`ClientRegistry`] | register, list, change, re-key, delete OAuth clients | a [`ServiceCore`], the client store |
//! | [`SecondFactors`] | TOTP, passkeys and recovery codes; a login's second step; passkey sign-in | a [`SessionIssuer`], users, [`FactorPorts`], throttle |
//! | [`Provider`] | the OpenID provider: token grants, userinfo, logout | a [`SessionIssuer`], [`Sessions`], [`Accounts`], users, [`OidcPorts`] |
//! | [`Signals`] | session-ended signals to services: back-channel logout deliveries, the RFC 8936 feed | a [`ServiceCore`], the signal outbox, the signer |
//!
//! Three small pieces are shared between them: the [`ServiceCore`] (clock,
//! randomness, policy, and the audit trail's writer), the
//! [`SessionRevoker`] (revoking sessions and announcing it to devices) and
//! the [`SessionIssuer`] (signing token pairs and opening sessions, for
//! every area that logs a user in).
//!
//! The use cases live in their areas ([`crate::identity`],
//! [`crate::sessions`], [`crate::verification`], [`crate::social`],
//! [`crate::chat`], [`crate::import`], [`crate::admin`]); import their
//! services and types from there.

use std::sync::Arc;

use crate::admin::roles::AdminRoleStore;
use crate::admin::{SessionAdmin, UserAdmin};
use crate::audit::AuditTrail;
use crate::chat::use_cases::{Apps, Chat, ChatPorts};
use crate::factors::{FactorPorts, SecondFactors};
use crate::identity::accounts::Accounts;
use crate::import::use_cases::Import;
use crate::oidc::provider::{ClientRegistry, OidcPorts, Provider};
use crate::oidc::signals::Signals;
use crate::service_core::ServiceCore;
use crate::sessions::issuer::{SessionIssuer, SessionRevoker};
use crate::sessions::tokens::Sessions;
use crate::social::login::{Social, SocialPorts};
use crate::verification::codes::Verification;

use crate::policy::AuthPolicy;
use crate::ports::{
    AuditLog, Background, Clock, CodeStore, EventBus, LoginThrottle, Mailer, PasswordHasher, Random,
    SessionStore, TokenCodec, UserRepository,
};

/// The adapters an [`AuthService`] works through: every area's, for
/// [`AuthService::new`] to hand each area service the ones it uses.
#[derive(Clone)]
pub struct Ports {
    /// User storage.
    pub users: Arc<dyn UserRepository>,
    /// Session and refresh-token storage.
    pub sessions: Arc<dyn SessionStore>,
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Token signing and verification.
    pub tokens: Arc<dyn TokenCodec>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Randomness.
    pub random: Arc<dyn Random>,
    /// Verification-code storage.
    pub codes: Arc<dyn CodeStore>,
    /// Outgoing mail.
    pub mailer: Arc<dyn Mailer>,
    /// Announcements to connected devices.
    pub events: Arc<dyn EventBus>,
    /// Social login: providers, identity links, pending flows.
    pub social: SocialPorts,
    /// The `chat` contract: applications, their tokens, profiles.
    pub chat: ChatPorts,
    /// Failed-login counters per account key and client IP.
    pub throttle: Arc<dyn LoginThrottle>,
    /// The audit trail (best effort).
    pub audit: Arc<dyn AuditLog>,
    /// Work that must not delay an answer (password upgrades on login).
    pub background: Arc<dyn Background>,
    /// The OpenID provider: clients, codes and grants, its tokens.
    pub oidc: OidcPorts,
    /// Second factors: TOTP, passkeys, recovery codes, pending steps.
    pub factors: FactorPorts,
    /// Which accounts hold the admin role.
    pub roles: Arc<dyn AdminRoleStore>,
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ports { .. }")
    }
}

/// Every area service, over one set of [`Ports`]: what the HTTP layer
/// holds. Cheap to clone (one reference count).
///
/// It declares no use case itself: each accessor returns the area service
/// whose methods are the use cases (`auth.accounts().login(..)`,
/// `auth.sessions().refresh(..)`). Code that needs one area only (a
/// command, another service) builds that area's service from its ports
/// instead.
#[derive(Clone)]
pub struct AuthService {
    areas: Arc<Areas>,
}

/// The area services of one [`AuthService`].
struct Areas {
    core: ServiceCore,
    accounts: Accounts,
    verification: Verification,
    sessions: Sessions,
    social: Social,
    apps: Apps,
    chat: Chat,
    user_admin: UserAdmin,
    session_admin: SessionAdmin,
    import: Import,
    audit_trail: AuditTrail,
    provider: Provider,
    oauth_clients: ClientRegistry,
    signals: Signals,
    factors: SecondFactors,
}

impl std::fmt::Debug for AuthService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthService { .. }")
    }
}

impl AuthService {
    /// Builds every area service from its adapters and the policy; the
    /// areas that open sessions share one [`SessionIssuer`].
    pub fn new(ports: Ports, policy: AuthPolicy) -> Self {
        let core = ServiceCore::new(ports.clock, ports.random, ports.audit.clone(), policy);
        let revoker = SessionRevoker::new(ports.sessions, ports.events.clone());
        let issuer = SessionIssuer::new(core.clone(), ports.tokens, ports.users.clone(), revoker.clone());
        let sessions = Sessions::new(issuer.clone(), ports.users.clone());
        let factors = SecondFactors::new(
            issuer.clone(),
            ports.users.clone(),
            ports.factors.clone(),
            ports.throttle.clone(),
        );
        let accounts = Accounts::new(
            issuer.clone(),
            ports.users.clone(),
            ports.hasher.clone(),
            ports.codes.clone(),
            ports.throttle,
            ports.background,
        )
        .with_second_factors(factors.clone());
        let provider = Provider::new(
            issuer.clone(),
            sessions.clone(),
            accounts.clone(),
            ports.users.clone(),
            ports.oidc.clone(),
        );
        let areas = Areas {
            oauth_clients: ClientRegistry::new(core.clone(), ports.oidc.clients.clone()),
            signals: Signals::new(
                core.clone(),
                ports.oidc.signals.clone(),
                ports.oidc.signer.clone(),
            ),
            provider,
            accounts,
            verification: Verification::new(
                core.clone(),
                ports.users.clone(),
                ports.codes,
                ports.mailer,
                ports.hasher.clone(),
                revoker.clone(),
            ),
            social: Social::new(issuer.clone(), ports.users.clone(), ports.social.clone())
                .with_second_factors(factors.clone()),
            factors,
            apps: Apps::new(
                core.clone(),
                ports.chat.apps.clone(),
                ports.chat.tokens.clone(),
                ports.events.clone(),
            ),
            chat: Chat::new(sessions.clone(), ports.users.clone(), ports.chat),
            user_admin: UserAdmin::new(
                core.clone(),
                ports.users.clone(),
                ports.social.identities,
                ports.hasher.clone(),
                revoker.clone(),
            )
            .with_factors(ports.factors.store.clone())
            .with_roles(ports.roles),
            session_admin: SessionAdmin::new(core.clone(), ports.users.clone(), revoker),
            import: Import::new(core.clone(), ports.users, ports.hasher),
            audit_trail: AuditTrail::new(ports.audit),
            sessions,
            core,
        };
        Self {
            areas: Arc::new(areas),
        }
    }

    /// Second factors: enrolment, the login's second step, passkey sign-in.
    pub fn factors(&self) -> &SecondFactors {
        &self.areas.factors
    }

    /// The policy in force.
    pub fn policy(&self) -> &AuthPolicy {
        self.areas.core.policy()
    }

    /// Sign-up, password login, withdrawal, availability checks.
    pub fn accounts(&self) -> &Accounts {
        &self.areas.accounts
    }

    /// Emailed codes and password reset.
    pub fn verification(&self) -> &Verification {
        &self.areas.verification
    }

    /// Verifying access tokens, refresh, reissue, logout, whether a session
    /// is live, notifications.
    pub fn sessions(&self) -> &Sessions {
        &self.areas.sessions
    }

    /// Social login.
    pub fn social(&self) -> &Social {
        &self.areas.social
    }

    /// The `chat` contract's applications.
    pub fn apps(&self) -> &Apps {
        &self.areas.apps
    }

    /// The `chat` contract's login and socket identity.
    pub fn chat(&self) -> &Chat {
        &self.areas.chat
    }

    /// The administrator's user use cases.
    pub fn user_admin(&self) -> &UserAdmin {
        &self.areas.user_admin
    }

    /// The administrator's session use cases.
    pub fn session_admin(&self) -> &SessionAdmin {
        &self.areas.session_admin
    }

    /// Importing accounts.
    pub fn import(&self) -> &Import {
        &self.areas.import
    }

    /// Reading the audit trail.
    pub fn audit_trail(&self) -> &AuditTrail {
        &self.areas.audit_trail
    }

    /// The OpenID provider.
    pub fn provider(&self) -> &Provider {
        &self.areas.provider
    }

    /// The OpenID provider's clients (administration).
    pub fn oauth_clients(&self) -> &ClientRegistry {
        &self.areas.oauth_clients
    }

    /// Session-ended signals to services: back-channel logout, the feed.
    pub fn signals(&self) -> &Signals {
        &self.areas.signals
    }
}
