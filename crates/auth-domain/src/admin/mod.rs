//! The administrator's use cases (the internal API and the `auth-server`
//! commands): finding users, disabling and enabling accounts, granting and
//! revoking the admin role ([`roles`]), listing and revoking sessions,
//! listing, deleting and re-keying applications. Every change is written to
//! the audit trail with what it acted on.

pub mod roles;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use crate::admin::roles::AdminRoleStore;
use crate::audit::AuditKind;
use crate::caller::Caller;
use crate::error::PortError;
use crate::identity::password::PasswordScheme;
use crate::identity::ports::{PasswordHasher, UserRepository};
use crate::identity::user::{User, UserId};
use crate::service_core::ServiceCore;
use crate::sessions::issuer::SessionRevoker;
use crate::sessions::session::{RevokeReason, Session, SessionId};
use crate::social::Provider;
use crate::social::SocialIdentityStore;

/// The admin view of one account.
#[derive(Debug, Clone)]
pub struct UserView {
    /// The account.
    pub user: User,
    /// How its password is stored.
    pub password_scheme: PasswordScheme,
    /// Its linked social providers.
    pub providers: Vec<Provider>,
    /// How many of its sessions can still be used now.
    pub live_sessions: usize,
    /// Its second factors, when the service has them.
    pub factors: Option<FactorSummary>,
    /// Whether it holds the admin role (may enter the admin console;
    /// `false` when the service keeps no roles). A disabled account may
    /// still hold it.
    pub admin: bool,
}

/// Which second factors a user has (what an administrator sees; never a
/// secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FactorSummary {
    /// A confirmed TOTP authenticator.
    pub totp: bool,
    /// Registered passkeys.
    pub passkeys: usize,
    /// Unspent recovery codes.
    pub recovery_codes_left: u32,
}

/// Most users one page of [`UserAdmin::search_users`] holds.
pub const MAX_USER_PAGE: u32 = 100;

/// Longest search text, in characters.
pub const MAX_USER_QUERY_CHARS: usize = 200;

/// One page of users, lowest ids first.
#[derive(Debug, Clone)]
pub struct UserPage {
    /// The users of this page.
    pub users: Vec<User>,
    /// The last id of this page when more may follow: pass it as `after`
    /// to get the next page.
    pub next_after: Option<UserId>,
}

/// What disabling or enabling an account did.
#[derive(Debug, Clone)]
pub struct AccountChange {
    /// The account as stored now.
    pub view: UserView,
    /// How many live sessions were revoked (0 for an enable).
    pub revoked_sessions: usize,
}

/// Why an admin use case refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No user has this id.
    #[error("unknown user")]
    UnknownUser,
    /// No session has this id.
    #[error("unknown session")]
    UnknownSession,
    /// No application has this id.
    #[error("unknown application")]
    UnknownApp,
    /// The search text is longer than [`MAX_USER_QUERY_CHARS`] or holds a
    /// control character.
    #[error("invalid query")]
    InvalidQuery,
    /// Infrastructure failure.
    #[error(transparent)]
    Internal(#[from] PortError),
}

/// The administrator's user use cases: finding users, viewing one,
/// disabling and enabling accounts, granting and revoking the admin role.
/// Cheap to clone.
#[derive(Clone)]
pub struct UserAdmin {
    core: ServiceCore,
    users: Arc<dyn UserRepository>,
    identities: Arc<dyn SocialIdentityStore>,
    hasher: Arc<dyn PasswordHasher>,
    revoker: SessionRevoker,
    factors: Option<Arc<dyn crate::factors::FactorStore>>,
    roles: Option<Arc<dyn AdminRoleStore>>,
}

impl std::fmt::Debug for UserAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserAdmin { .. }")
    }
}

impl UserAdmin {
    /// The user use cases over `users`; a view names the account's linked
    /// providers (`identities`), its password scheme (`hasher`, which only
    /// reads the stored hash here) and its live sessions; a disable ends
    /// them through `revoker`.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use auth_domain::sessions::issuer::SessionRevoker;
    /// use auth_domain::admin::UserAdmin;
    /// use auth_domain::testing::social::MemIdentities;
    /// use auth_domain::testing::*;
    /// use auth_domain::AuthPolicy;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let admin = UserAdmin::new(
    ///     test_core(AuthPolicy::default()),
    ///     Arc::new(MemUsers::default()),
    ///     Arc::new(MemIdentities::default()),
    ///     Arc::new(FakeHasher::default()),
    ///     SessionRevoker::new(Arc::new(MemSessions::default()), Arc::new(RecordingBus::default())),
    /// );
    /// let page = admin.search_users(None, None, 10).await.expect("searched");
    /// assert!(page.users.is_empty() && page.next_after.is_none());
    /// # }
    /// ```
    pub fn new(
        core: ServiceCore,
        users: Arc<dyn UserRepository>,
        identities: Arc<dyn SocialIdentityStore>,
        hasher: Arc<dyn PasswordHasher>,
        revoker: SessionRevoker,
    ) -> Self {
        Self {
            core,
            users,
            identities,
            hasher,
            revoker,
            factors: None,
            roles: None,
        }
    }

    /// With the admin roles' store: views say whether each user holds the
    /// admin role, and [`Self::grant_admin`] and [`Self::revoke_admin`]
    /// work.
    #[must_use]
    pub fn with_roles(mut self, store: Arc<dyn AdminRoleStore>) -> Self {
        self.roles = Some(store);
        self
    }

    /// With the second factors' store: views show each user's factors and
    /// [`Self::reset_second_factors`] works.
    #[must_use]
    pub fn with_factors(mut self, store: Arc<dyn crate::factors::FactorStore>) -> Self {
        self.factors = Some(store);
        self
    }

    /// Removes every second factor of a user (authenticator, passkeys,
    /// recovery codes, pending steps): their next login takes no second
    /// step. Audited (`admin_mfa_reset`). Returns whether there was any.
    ///
    /// # Errors
    /// [`AdminError::UnknownUser`]; an outage, or a service built without
    /// second factors ([`PortError`]).
    pub async fn reset_second_factors(&self, id: UserId, caller: &Caller) -> Result<bool, AdminError> {
        let store = self
            .factors
            .as_ref()
            .ok_or_else(|| PortError::new("reset second factors", "no factor store is configured"))?;
        if self.users.by_id(id).await?.is_none() {
            return Err(AdminError::UnknownUser);
        }
        let removed = store.delete_all(id).await?;
        self.core
            .audit_admin(
                AuditKind::AdminMfaReset,
                Some(id),
                None,
                format!("user:{id}"),
                caller,
            )
            .await;
        Ok(removed)
    }

    /// Users whose login id, email or name contains `query` (all users
    /// when blank), at most `limit` (1 to [`MAX_USER_PAGE`]) with ids above
    /// `after`.
    ///
    /// # Errors
    /// [`AdminError::InvalidQuery`], or [`AdminError::Internal`].
    pub async fn search_users(
        &self,
        query: Option<&str>,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<UserPage, AdminError> {
        let query = query.map(str::trim).filter(|q| !q.is_empty());
        if query.is_some_and(|q| q.chars().count() > MAX_USER_QUERY_CHARS || q.chars().any(char::is_control))
        {
            return Err(AdminError::InvalidQuery);
        }
        let limit = limit.clamp(1, MAX_USER_PAGE);
        // One more than asked: whether another page follows, without a COUNT.
        let mut users = self.users.search(query, after, limit.saturating_add(1)).await?;
        let more = users.len() > limit as usize;
        users.truncate(limit as usize);
        let next_after = if more { users.last().map(|u| u.id) } else { None };
        Ok(UserPage { users, next_after })
    }

    /// One account with its password scheme, linked providers and live
    /// session count; `None` when there is no such user.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    pub async fn user_view(&self, id: UserId) -> Result<Option<UserView>, PortError> {
        let Some(user) = self.users.by_id(id).await? else {
            return Ok(None);
        };
        self.view_of(user).await.map(Some)
    }

    async fn view_of(&self, user: User) -> Result<UserView, PortError> {
        let providers = self.identities.providers_of(user.id).await?;
        let password_scheme = self.hasher.scheme(user.password_hash.as_ref());
        let live_sessions = self
            .revoker
            .sessions
            .active_sessions(user.id, self.core.now())
            .await?
            .len();
        let factors = match &self.factors {
            Some(store) => {
                let status = crate::factors::MfaStatus::read(store.as_ref(), user.id).await?;
                Some(FactorSummary {
                    totp: status.totp,
                    passkeys: status.passkeys.len(),
                    recovery_codes_left: status.recovery_codes_left,
                })
            }
            None => None,
        };
        let admin = self.is_admin(user.id).await?;
        Ok(UserView {
            user,
            password_scheme,
            providers,
            live_sessions,
            factors,
            admin,
        })
    }

    /// Whether the user holds the admin role: what the admin console asks
    /// before letting an account in (it checks `disabled` on its own).
    /// `false` for an unknown id, and when the service keeps no roles.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    pub async fn is_admin(&self, id: UserId) -> Result<bool, PortError> {
        match &self.roles {
            Some(store) => store.is_admin(id).await,
            None => Ok(false),
        }
    }

    /// Grants the admin role to an account (disabled or not). Granting a
    /// held role changes nothing and answers the same. Audited
    /// (`admin_role_grant`, target `user:<id>`) when it changed something,
    /// so of parallel grants exactly one is recorded.
    ///
    /// # Errors
    /// [`AdminError::UnknownUser`]; an outage, or a service built without
    /// roles ([`AdminError::Internal`]).
    pub async fn grant_admin(&self, id: UserId, caller: &Caller) -> Result<UserView, AdminError> {
        self.set_admin(id, true, AuditKind::AdminRoleGrant, caller).await
    }

    /// Takes the admin role from an account. Revoking a role not held
    /// changes nothing and answers the same. Audited (`admin_role_revoke`,
    /// target `user:<id>`) when it changed something.
    ///
    /// # Errors
    /// [`AdminError::UnknownUser`]; an outage, or a service built without
    /// roles ([`AdminError::Internal`]).
    pub async fn revoke_admin(&self, id: UserId, caller: &Caller) -> Result<UserView, AdminError> {
        self.set_admin(id, false, AuditKind::AdminRoleRevoke, caller)
            .await
    }

    async fn set_admin(
        &self,
        id: UserId,
        admin: bool,
        kind: AuditKind,
        caller: &Caller,
    ) -> Result<UserView, AdminError> {
        let store = self
            .roles
            .as_ref()
            .ok_or_else(|| PortError::new("change admin role", "no role store is configured"))?;
        let user = self.users.by_id(id).await?.ok_or(AdminError::UnknownUser)?;
        if store.set_admin(id, admin, self.core.now()).await? {
            self.core
                .audit_admin(kind, Some(id), None, format!("user:{id}"), caller)
                .await;
        }
        Ok(self.view_of(user).await?)
    }

    /// Disables an account: no login on any contract from now on, and
    /// every live session revoked at once (`LOGOUT` pushed to its
    /// sockets). Disabling a disabled account changes nothing but revokes
    /// any session left (none, normally) and answers the same.
    ///
    /// The flag is stored before the sessions are revoked, and a login
    /// re-reads it after storing its session (see `SessionIssuer::open_session`), so a
    /// login racing with this call either is revoked here or revokes itself.
    ///
    /// # Errors
    /// [`AdminError::UnknownUser`], or [`AdminError::Internal`].
    pub async fn disable_user(&self, id: UserId, caller: &Caller) -> Result<AccountChange, AdminError> {
        let now = self.core.now();
        let user = self
            .users
            .set_disabled(id, Some(now))
            .await?
            .ok_or(AdminError::UnknownUser)?;
        let revoked = self
            .revoker
            .revoke_all_and_announce(id, RevokeReason::AccountDisabled, now)
            .await?;
        self.core
            .audit_admin(
                AuditKind::AdminUserDisable,
                Some(id),
                None,
                format!("user:{id}"),
                caller,
            )
            .await;
        Ok(AccountChange {
            view: self.view_of(user).await?,
            revoked_sessions: revoked.len(),
        })
    }

    /// Enables a disabled account again (its revoked sessions stay
    /// revoked: the user logs in again). Enabling an enabled account
    /// changes nothing.
    ///
    /// # Errors
    /// [`AdminError::UnknownUser`], or [`AdminError::Internal`].
    pub async fn enable_user(&self, id: UserId, caller: &Caller) -> Result<AccountChange, AdminError> {
        let user = self
            .users
            .set_disabled(id, None)
            .await?
            .ok_or(AdminError::UnknownUser)?;
        self.core
            .audit_admin(
                AuditKind::AdminUserEnable,
                Some(id),
                None,
                format!("user:{id}"),
                caller,
            )
            .await;
        Ok(AccountChange {
            view: self.view_of(user).await?,
            revoked_sessions: 0,
        })
    }
}

/// The administrator's session use cases: listing a user's sessions and
/// revoking one or all of them. Cheap to clone.
#[derive(Clone)]
pub struct SessionAdmin {
    core: ServiceCore,
    users: Arc<dyn UserRepository>,
    revoker: SessionRevoker,
}

impl std::fmt::Debug for SessionAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionAdmin { .. }")
    }
}

impl SessionAdmin {
    /// The session use cases over the accounts of `users`, their sessions
    /// revoked (and announced) through `revoker`.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use auth_domain::admin::{AdminError, SessionAdmin};
    /// use auth_domain::sessions::issuer::SessionRevoker;
    /// use auth_domain::testing::*;
    /// use auth_domain::identity::user::UserId;
    /// use auth_domain::{AuthPolicy, Caller};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let admin = SessionAdmin::new(
    ///     test_core(AuthPolicy::default()),
    ///     Arc::new(MemUsers::default()),
    ///     SessionRevoker::new(Arc::new(MemSessions::default()), Arc::new(RecordingBus::default())),
    /// );
    /// let revoked = admin.revoke_user_sessions(UserId::new(7), &Caller::new("cli")).await;
    /// assert!(matches!(revoked, Err(AdminError::UnknownUser)));
    /// # }
    /// ```
    pub fn new(core: ServiceCore, users: Arc<dyn UserRepository>, revoker: SessionRevoker) -> Self {
        Self { core, users, revoker }
    }

    /// How many sessions of everyone can still be used now (the console's
    /// overview).
    ///
    /// # Errors
    /// [`PortError`].
    pub async fn live_session_count(&self) -> Result<u64, PortError> {
        self.revoker.sessions.count_active(self.core.now()).await
    }

    /// The user's sessions that can still be used, oldest first.
    ///
    /// # Errors
    /// [`AdminError::UnknownUser`], or [`AdminError::Internal`].
    pub async fn user_sessions(&self, id: UserId) -> Result<Vec<Session>, AdminError> {
        if self.users.by_id(id).await?.is_none() {
            return Err(AdminError::UnknownUser);
        }
        Ok(self.revoker.sessions.active_sessions(id, self.core.now()).await?)
    }

    /// Revokes one session (`LOGOUT` pushed to its sockets). Returns whether
    /// it was live: revoking a revoked session is not an error, and of
    /// concurrent revocations exactly one returns `true`.
    ///
    /// # Errors
    /// [`AdminError::UnknownSession`], or [`AdminError::Internal`].
    pub async fn revoke_session(&self, sid: SessionId, caller: &Caller) -> Result<bool, AdminError> {
        let Some(session) = self.revoker.sessions.get(sid).await? else {
            return Err(AdminError::UnknownSession);
        };
        let now = self.core.now();
        let revoked = self
            .revoker
            .revoke_and_announce(sid, RevokeReason::Admin, now)
            .await?;
        self.core
            .audit_admin(
                AuditKind::AdminSessionRevoke,
                Some(session.user_id),
                Some(sid),
                format!("session:{sid}"),
                caller,
            )
            .await;
        Ok(revoked)
    }

    /// Revokes every live session of a user (`LOGOUT` pushed to their
    /// sockets) and returns how many were live; of concurrent calls each
    /// session is counted by exactly one.
    ///
    /// # Errors
    /// [`AdminError::UnknownUser`], or [`AdminError::Internal`].
    pub async fn revoke_user_sessions(&self, id: UserId, caller: &Caller) -> Result<usize, AdminError> {
        if self.users.by_id(id).await?.is_none() {
            return Err(AdminError::UnknownUser);
        }
        let now = self.core.now();
        let revoked = self
            .revoker
            .revoke_all_and_announce(id, RevokeReason::Admin, now)
            .await?;
        self.core
            .audit_admin(
                AuditKind::AdminUserSessionsRevoke,
                Some(id),
                None,
                format!("user:{id}"),
                caller,
            )
            .await;
        Ok(revoked.len())
    }
}
