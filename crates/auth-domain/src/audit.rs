//! The audit trail: security-relevant events, stored with time, user,
//! session, client IP and user agent — never a password, token or code.
//!
//! Recording is best effort, like announcing events: the use case's state
//! change is what matters, so an [`AuditLog`] failure never fails it
//! (adapters log their own failures).

use std::net::IpAddr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::PortError;
use crate::identity::user::UserId;
use crate::sessions::session::SessionId;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditKind {
    /// A password login succeeded (any contract).
    LoginSuccess,
    /// A password check failed (login or withdrawal), or was refused while
    /// throttled.
    LoginFailure,
    /// A session was logged out.
    Logout,
    /// A spent refresh token was presented again; its session was revoked.
    TokenReuse,
    /// A password was reset with an emailed code.
    PasswordReset,
    /// An account was deleted.
    Withdrawal,
    /// A social identity was linked to an account (first social login).
    SocialLink,
    /// A password stored with an older or foreign scheme was re-hashed with
    /// the current argon2id parameters after a successful login.
    PasswordUpgraded,
    /// An administrator disabled an account (`target`: `user:<id>`).
    AdminUserDisable,
    /// An administrator enabled an account again.
    AdminUserEnable,
    /// An administrator revoked one session (`target`: `session:<sid>`).
    AdminSessionRevoke,
    /// An administrator revoked every session of a user.
    AdminUserSessionsRevoke,
    /// An administrator registered an application (`target`: `app:<id>`).
    AdminAppCreate,
    /// An administrator deleted an application.
    AdminAppDelete,
    /// An administrator replaced an application's secret.
    AdminAppSecretRotate,
    /// An administrator imported accounts (`target`:
    /// `import:imported=N,skipped=N,rejected=N`; dry runs are not recorded).
    AdminUserImport,
    /// An administrator sent a notification to a user's sockets (`target`:
    /// `user:<id>`; the text is not recorded).
    AdminNotification,
    /// An administrator registered an OAuth client (`target`:
    /// `oauth_client:<id>`).
    AdminOAuthClientCreate,
    /// An administrator changed an OAuth client's settings.
    AdminOAuthClientUpdate,
    /// An administrator deleted an OAuth client.
    AdminOAuthClientDelete,
    /// An administrator replaced an OAuth client's secret.
    AdminOAuthClientSecretRotate,
    /// A user turned a second factor on (`target`: `totp`, `passkey:<id>`).
    MfaEnroll,
    /// A user removed a second factor (`target`: `totp`, `passkey:<id>`).
    MfaRemove,
    /// A user replaced their recovery codes.
    MfaRecoveryCodes,
    /// A second step succeeded (`target`: `totp`, `recovery`, `passkey:<id>`).
    MfaSuccess,
    /// A second step failed (`target`: the method tried).
    MfaFailure,
    /// A passwordless passkey sign-in succeeded (`target`: `passkey:<id>`).
    PasskeyLogin,
    /// A passkey's signature counter went backwards; the assertion was refused (`target`: `passkey:<id>`).
    PasskeyCounterRegressed,
    /// An administrator removed every second factor of a user (`target`: `user:<id>`).
    AdminMfaReset,
    /// A signed-in user changed their password (the account page).
    PasswordChange,
    /// An administrator granted the admin role to an account (`target`:
    /// `user:<id>`; only a grant that changed something).
    AdminRoleGrant,
    /// An administrator took the admin role from an account (`target`:
    /// `user:<id>`; only a revocation that changed something).
    AdminRoleRevoke,
}

impl AuditKind {
    /// The stored name (`login_success`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginSuccess => "login_success",
            Self::LoginFailure => "login_failure",
            Self::Logout => "logout",
            Self::TokenReuse => "token_reuse",
            Self::PasswordReset => "password_reset",
            Self::Withdrawal => "withdrawal",
            Self::SocialLink => "social_link",
            Self::PasswordUpgraded => "password_upgraded",
            Self::AdminUserDisable => "admin_user_disable",
            Self::AdminUserEnable => "admin_user_enable",
            Self::AdminSessionRevoke => "admin_session_revoke",
            Self::AdminUserSessionsRevoke => "admin_user_sessions_revoke",
            Self::AdminAppCreate => "admin_app_create",
            Self::AdminAppDelete => "admin_app_delete",
            Self::AdminAppSecretRotate => "admin_app_secret_rotate",
            Self::AdminUserImport => "admin_user_import",
            Self::AdminNotification => "admin_notification",
            Self::AdminOAuthClientCreate => "admin_oauth_client_create",
            Self::AdminOAuthClientUpdate => "admin_oauth_client_update",
            Self::AdminOAuthClientDelete => "admin_oauth_client_delete",
            Self::AdminOAuthClientSecretRotate => "admin_oauth_client_secret_rotate",
            Self::MfaEnroll => "mfa_enroll",
            Self::MfaRemove => "mfa_remove",
            Self::MfaRecoveryCodes => "mfa_recovery_codes",
            Self::MfaSuccess => "mfa_success",
            Self::MfaFailure => "mfa_failure",
            Self::PasskeyLogin => "passkey_login",
            Self::PasskeyCounterRegressed => "passkey_counter_regressed",
            Self::AdminMfaReset => "admin_mfa_reset",
            Self::PasswordChange => "password_change",
            Self::AdminRoleGrant => "admin_role_grant",
            Self::AdminRoleRevoke => "admin_role_revoke",
        }
    }

    /// Every kind, in declaration order (the console's filter lists them).
    pub const ALL: [Self; 32] = [
        Self::LoginSuccess,
        Self::LoginFailure,
        Self::Logout,
        Self::TokenReuse,
        Self::PasswordReset,
        Self::Withdrawal,
        Self::SocialLink,
        Self::PasswordUpgraded,
        Self::AdminUserDisable,
        Self::AdminUserEnable,
        Self::AdminSessionRevoke,
        Self::AdminUserSessionsRevoke,
        Self::AdminAppCreate,
        Self::AdminAppDelete,
        Self::AdminAppSecretRotate,
        Self::AdminUserImport,
        Self::AdminNotification,
        Self::AdminOAuthClientCreate,
        Self::AdminOAuthClientUpdate,
        Self::AdminOAuthClientDelete,
        Self::AdminOAuthClientSecretRotate,
        Self::MfaEnroll,
        Self::MfaRemove,
        Self::MfaRecoveryCodes,
        Self::MfaSuccess,
        Self::MfaFailure,
        Self::PasskeyLogin,
        Self::PasskeyCounterRegressed,
        Self::AdminMfaReset,
        Self::PasswordChange,
        Self::AdminRoleGrant,
        Self::AdminRoleRevoke,
    ];

    /// The kind of a stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub kind: AuditKind,
    /// Whose account, when known (not for a failure on an unknown id).
    pub user_id: Option<UserId>,
    /// Which session, when one is involved.
    pub session_id: Option<SessionId>,
    /// The client IP, when the use case was given it.
    pub ip: Option<IpAddr>,
    /// The client's `User-Agent`, when given (cut to 256 characters).
    pub user_agent: Option<String>,
    /// What an administrator's action acted on (`user:7`, `session:<sid>`,
    /// `app:<id>`); never a secret. `None` for other events.
    pub target: Option<String>,
}

/// Stores the audit trail.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Stores one event. Best effort: failures are the adapter's to log.
    async fn record(&self, event: AuditEvent);

    /// The latest events, newest first, of one user or of everyone.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    async fn recent(&self, user: Option<UserId>, limit: u32) -> Result<Vec<AuditEvent>, PortError>;
}

/// Reading the audit trail (the administrator's view of it). Cheap to
/// clone.
#[derive(Clone)]
pub struct AuditTrail {
    log: std::sync::Arc<dyn AuditLog>,
}

impl std::fmt::Debug for AuditTrail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditTrail { .. }")
    }
}

impl AuditTrail {
    /// The trail stored in `log`.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use auth_domain::audit::AuditTrail;
    /// use auth_domain::testing::RecordingAudit;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let trail = AuditTrail::new(Arc::new(RecordingAudit::default()));
    /// assert!(trail.recent(None, 50).await.expect("read").is_empty());
    /// # }
    /// ```
    pub fn new(log: std::sync::Arc<dyn AuditLog>) -> Self {
        Self { log }
    }

    /// The latest audit events, newest first, of one user or of everyone
    /// (`limit` at most 1000).
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    pub async fn recent(&self, user: Option<UserId>, limit: u32) -> Result<Vec<AuditEvent>, PortError> {
        self.log.recent(user, limit.clamp(1, 1000)).await
    }
}

#[cfg(test)]
mod tests {
    use super::AuditKind;

    #[test]
    fn every_kind_is_listed_once_and_parses_back() {
        let mut names: Vec<&str> = AuditKind::ALL.iter().map(|k| k.as_str()).collect();
        for k in AuditKind::ALL {
            assert_eq!(AuditKind::parse(k.as_str()), Some(k));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), AuditKind::ALL.len());
        assert_eq!(AuditKind::parse("nope"), None);
    }
}
