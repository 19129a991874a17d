//! [`Accounts`]: the service of the account use cases (sign-up,
//! withdrawal and availability in `account.rs`; login and the password
//! gate in `login.rs`), kept apart from both so neither file imports the
//! other.

use std::sync::Arc;

use crate::identity::ports::{Background, PasswordHasher, UserRepository};
use crate::identity::throttle::LoginThrottle;
use crate::service_core::ServiceCore;
use crate::sessions::issuer::SessionIssuer;
use crate::verification::ports::CodeStore;

/// The account use cases: sign-up, password login (and the password gate
/// behind it), withdrawal, availability checks. Cheap to clone.
#[derive(Clone)]
pub struct Accounts {
    pub(super) core: ServiceCore,
    pub(super) issuer: SessionIssuer,
    pub(super) users: Arc<dyn UserRepository>,
    pub(super) hasher: Arc<dyn PasswordHasher>,
    pub(super) codes: Arc<dyn CodeStore>,
    pub(super) throttle: Arc<dyn LoginThrottle>,
    pub(super) background: Arc<dyn Background>,
    /// When set, a login of a user with a second factor takes a second step.
    pub(super) second_factors: Option<crate::factors::SecondFactors>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Accounts { .. }")
    }
}

impl Accounts {
    /// The account use cases: sessions opened and revoked through `issuer`
    /// (which also brings the clock, randomness, policy and audit trail),
    /// accounts in `users`, passwords through `hasher`, the sign-up gate's
    /// codes in `codes`, failed logins counted in `throttle`, password
    /// upgrades run on `background`.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use auth_domain::identity::accounts::Accounts;
    /// use auth_domain::identity::login::Identifier;
    /// use auth_domain::sessions::issuer::{SessionIssuer, SessionRevoker};
    /// use auth_domain::identity::account::SignUp;
    /// use auth_domain::testing::*;
    /// use auth_domain::Caller;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let users = Arc::new(MemUsers::default());
    /// let revoker = SessionRevoker::new(Arc::new(MemSessions::default()), Arc::new(RecordingBus::default()));
    /// let issuer = SessionIssuer::new(test_core(open_policy()), Arc::new(FakeTokens), users.clone(), revoker);
    /// let accounts = Accounts::new(
    ///     issuer,
    ///     users,
    ///     Arc::new(FakeHasher::default()),
    ///     Arc::new(MemCodes::default()),
    ///     Arc::new(MemThrottle::default()),
    ///     Arc::new(QueuedBackground::default()),
    /// );
    /// let sign_up = SignUp {
    ///     login_id: "kim".into(),
    ///     email: "kim@example.com".into(),
    ///     name: "Kim".into(),
    ///     password: "correct horse".into(),
    /// };
    /// accounts.sign_up(sign_up).await.expect("signed up");
    /// let login = accounts
    ///     .login(Identifier::LoginId("kim".into()), "correct horse", &Caller::new("standard"))
    ///     .await
    ///     .expect("logged in");
    /// assert_eq!(login.user.name.as_str(), "Kim");
    /// # }
    /// ```
    pub fn new(
        issuer: SessionIssuer,
        users: Arc<dyn UserRepository>,
        hasher: Arc<dyn PasswordHasher>,
        codes: Arc<dyn CodeStore>,
        throttle: Arc<dyn LoginThrottle>,
        background: Arc<dyn Background>,
    ) -> Self {
        Self {
            core: issuer.core.clone(),
            issuer,
            users,
            hasher,
            codes,
            throttle,
            background,
            second_factors: None,
        }
    }

    /// With second factors: a verified password of a user who has one ends
    /// in [`crate::identity::login::LoginError::SecondFactor`] instead of a
    /// session. Without this, logins never take a second step.
    #[must_use]
    pub fn with_second_factors(mut self, factors: crate::factors::SecondFactors) -> Self {
        self.second_factors = Some(factors);
        self
    }
}
