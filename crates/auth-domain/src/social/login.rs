//! Social login (Google, Kakao, Naver): starting a flow, and the callback
//! that links or creates the user and opens a session.
//!
//! Linking rules:
//! - a (provider, subject) pair always maps to the user it was first linked
//!   to, whatever email the provider reports later;
//! - a new pair is linked by email to the account that has that address
//!   only when the provider states the address is verified
//!   ([`EmailTrust::Verified`]) **and** the account's own address was proven
//!   (it has a password, set at a sign-up that checked a mailed code, or an
//!   identity of a provider that attests emails). Otherwise nobody could
//!   attach themselves to an account through a provider that merely claims
//!   its address, nor join an account someone created on an address nobody
//!   proved;
//! - when no account has the address, a new account without a password is
//!   created for a verified address, or for one of the provider's own
//!   mailboxes ([`EmailTrust::ProviderMailbox`], Naver's `@naver.com`); an
//!   unverified address creates nothing (no account planted on an address
//!   someone else may own: pre-account takeover);
//! - a provider that gives no email cannot create or link an account
//!   (`users.email` is required and is the recovery address).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::error::PortError;
use crate::identity::ports::{InsertUserError, UserRepository};
use crate::identity::user::{Email, NewUser, UniqueField, User};
use crate::social::{
    BrowserNonce, EmailTrust, LoginState, LoginStateStore, PendingLogin, PkceVerifier, Provider,
    SocialIdentityStore, SocialProfile, SocialProvider, SocialProviderError, StateHash,
};

use crate::caller::Caller;
use crate::identity::login::Login;
use crate::service_core::ServiceCore;
use crate::sessions::issuer::SessionIssuer;

/// The adapters social login works through.
#[derive(Clone)]
pub struct SocialPorts {
    /// The OAuth 2.0 providers.
    pub provider: Arc<dyn SocialProvider>,
    /// Links of (provider, subject) pairs to users.
    pub identities: Arc<dyn SocialIdentityStore>,
    /// Started flows awaiting their callback.
    pub states: Arc<dyn LoginStateStore>,
}

impl std::fmt::Debug for SocialPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SocialPorts { .. }")
    }
}

/// Who will bring a flow back to the callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowOrigin {
    /// The browser that asked for the redirect (`GET /api/auth/{provider}`):
    /// the flow is bound to it with a [`BrowserNonce`] that the HTTP layer
    /// sets in a cookie and hands back at the callback.
    Browser,
    /// An application that receives the URL and opens it itself (`POST
    /// /api/auth/{provider}/login`), often in another browser or a web view
    /// where no cookie of ours would come back: the flow is not bound.
    App,
}

/// A finished social login: the session, and who started its flow. The
/// HTTP layer delivers the tokens by it: only a [`FlowOrigin::Browser`]
/// flow, bound to the browser that brought it back, may hand them to the
/// front end's redirect; an [`FlowOrigin::App`] flow's callback can be
/// replayed in anyone's browser (login CSRF) and is delivered apart.
#[derive(Debug, Clone)]
pub struct SocialLogin {
    /// The session opened.
    pub login: Login,
    /// How the flow was started.
    pub origin: FlowOrigin,
}

/// A started flow.
#[derive(Debug, Clone)]
pub struct SocialStart {
    /// The provider's authorization URL.
    pub url: String,
    /// For [`FlowOrigin::Browser`]: the nonce the browser must bring back
    /// to the callback (in a cookie).
    pub browser: Option<BrowserNonce>,
    /// When the flow's state stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// Why a flow could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SocialStartError {
    /// Not `google`, `kakao` or `naver`.
    #[error("unknown provider")]
    UnknownProvider,
    /// A known provider without configuration (no client id).
    #[error("provider not configured")]
    NotConfigured,
    /// Infrastructure failure.
    #[error(transparent)]
    Internal(#[from] PortError),
}

/// What the provider sent back to the callback.
#[derive(Debug, Clone)]
pub enum ProviderAnswer {
    /// `code=…`: the user consented.
    Code(String),
    /// `error=…`: the user refused (`access_denied`) or the provider failed.
    Error(String),
    /// Neither: not a callback the provider would send.
    Missing,
}

impl Social {
    /// With second factors: a social login of a user who has one ends in
    /// [`SocialLoginError::SecondFactor`] instead of a session.
    #[must_use]
    pub fn with_second_factors(mut self, factors: crate::factors::SecondFactors) -> Self {
        self.second_factors = Some(factors);
        self
    }
}

/// Why a social login callback failed.
#[derive(Debug, thiserror::Error)]
pub enum SocialLoginError {
    /// The provider vouched for a user who has a second factor: no session
    /// yet; the client finishes with the challenge's `mfaToken`.
    #[error("second factor required")]
    SecondFactor {
        /// The pending second step.
        challenge: crate::factors::Challenge,
        /// Who started the flow.
        origin: FlowOrigin,
    },
    /// Not `google`, `kakao` or `naver`.
    #[error("unknown provider")]
    UnknownProvider,
    /// A known provider without configuration.
    #[error("provider not configured")]
    NotConfigured,
    /// The `state` is unknown, was already used, expired, or belongs to a
    /// flow of another provider.
    #[error("invalid or expired state")]
    InvalidState,
    /// The flow was started by a browser, and this callback did not bring
    /// that browser's nonce (no cookie, or another flow's): a callback URL
    /// carried to another browser (login CSRF). The state is spent.
    #[error("callback from another browser than the one that started the flow")]
    BrowserMismatch,
    /// The callback carried neither `code` nor `error`.
    #[error("callback without code")]
    MissingCode,
    /// The user declined at the provider (`error=access_denied`).
    #[error("access denied by the user")]
    Denied,
    /// The provider answered the authorization request with another error
    /// code (kept for the client; it comes from the query string).
    #[error("provider error {0}")]
    ProviderError(String),
    /// The token endpoint refused the authorization code.
    #[error("authorization code rejected")]
    CodeRejected(#[source] PortError),
    /// The token endpoint failed.
    #[error("token exchange failed")]
    TokenExchange(#[source] PortError),
    /// The user-info endpoint failed.
    #[error("user info failed")]
    UserInfo(#[source] PortError),
    /// A new identity without an (usable) email.
    #[error("provider gave no email")]
    EmailMissing,
    /// A new identity whose email the provider does not vouch for.
    #[error("provider email not verified")]
    EmailNotVerified,
    /// A new identity whose email belongs to an existing account it may not
    /// join: the provider does not attest the address (Naver), or the
    /// account's own address was never proven (created from a Naver
    /// mailbox). The user logs in the way the account was created.
    #[error("email belongs to an account this identity may not join")]
    EmailTaken,
    /// The identity's account was disabled by an administrator.
    #[error("account disabled")]
    Disabled,
    /// Infrastructure failure.
    #[error(transparent)]
    Internal(#[from] PortError),
}

impl From<SocialProviderError> for SocialLoginError {
    fn from(e: SocialProviderError) -> Self {
        match e {
            SocialProviderError::CodeRejected(e) => Self::CodeRejected(e),
            SocialProviderError::TokenExchange(e) => Self::TokenExchange(e),
            SocialProviderError::UserInfo(e) => Self::UserInfo(e),
            SocialProviderError::NotConfigured => Self::NotConfigured,
        }
    }
}

/// How often linking is retried when a concurrent first login of the same
/// person changes the picture under it.
const LINK_ATTEMPTS: usize = 3;

/// Social login: starting a flow and completing it at the callback.
/// Cheap to clone.
#[derive(Clone)]
pub struct Social {
    core: ServiceCore,
    issuer: SessionIssuer,
    users: Arc<dyn UserRepository>,
    social: SocialPorts,
    second_factors: Option<crate::factors::SecondFactors>,
}

impl std::fmt::Debug for Social {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Social { .. }")
    }
}

impl Social {
    /// The social-login use cases: providers, identity links and pending
    /// flows through `social`, accounts linked or created in `users`,
    /// sessions opened by `issuer` exactly as a password login opens them.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use auth_domain::social::login::{FlowOrigin, Social, SocialStartError};
    /// use auth_domain::sessions::issuer::{SessionIssuer, SessionRevoker};
    /// use auth_domain::testing::social::SocialFakes;
    /// use auth_domain::testing::*;
    /// use auth_domain::AuthPolicy;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let users = Arc::new(MemUsers::default());
    /// let revoker = SessionRevoker::new(Arc::new(MemSessions::default()), Arc::new(RecordingBus::default()));
    /// let issuer = SessionIssuer::new(test_core(AuthPolicy::default()), Arc::new(FakeTokens), users.clone(), revoker);
    /// let social = Social::new(issuer, users, SocialFakes::default().ports());
    /// let start = social.start_social_login("myspace", FlowOrigin::Browser).await;
    /// assert!(matches!(start, Err(SocialStartError::UnknownProvider)));
    /// # }
    /// ```
    pub fn new(issuer: SessionIssuer, users: Arc<dyn UserRepository>, social: SocialPorts) -> Self {
        Self {
            second_factors: None,
            core: issuer.core.clone(),
            issuer,
            users,
            social,
        }
    }

    /// Starts a social login: stores a fresh single-use `state` (and a PKCE
    /// verifier where the provider supports PKCE, and for
    /// [`FlowOrigin::Browser`] the hash of a fresh [`BrowserNonce`]) for the
    /// policy's state lifetime, and returns the provider's authorization
    /// URL with the nonce.
    ///
    /// # Errors
    /// [`SocialStartError`].
    pub async fn start_social_login(
        &self,
        provider: &str,
        origin: FlowOrigin,
    ) -> Result<SocialStart, SocialStartError> {
        let provider = Provider::parse(provider).ok_or(SocialStartError::UnknownProvider)?;
        let social = &self.social;
        if !social.provider.is_enabled(provider) {
            return Err(SocialStartError::NotConfigured);
        }
        let mut bytes = [0u8; 32];
        self.core.fill(&mut bytes);
        let state = LoginState::from_random(bytes);
        let verifier = provider.supports_pkce().then(|| {
            let mut bytes = [0u8; 32];
            self.core.fill(&mut bytes);
            PkceVerifier::from_random(bytes)
        });
        let url = social
            .provider
            .authorize_url(provider, &state, verifier.as_ref())
            .ok_or(SocialStartError::NotConfigured)?;
        let browser = (origin == FlowOrigin::Browser).then(|| {
            let mut bytes = [0u8; 32];
            self.core.fill(&mut bytes);
            BrowserNonce::from_random(bytes)
        });
        let now = self.core.now();
        let pending = PendingLogin {
            state: state.hash(),
            provider,
            pkce_verifier: verifier,
            browser: browser.as_ref().map(BrowserNonce::hash),
            created_at: now,
            expires_at: now + self.core.policy().social.state_ttl,
        };
        social.states.put(&pending).await?;
        Ok(SocialStart {
            url,
            browser,
            expires_at: pending.expires_at,
        })
    }

    /// Completes a social login from the provider's callback: takes the
    /// flow's `state` (single use), exchanges the code, reads the profile,
    /// links or creates the user (see the module docs for the rules) and
    /// opens a session exactly as a password login does.
    ///
    /// A flow started by a browser needs that browser's nonce (`browser`,
    /// from the cookie); a flow started for an application ignores it. The
    /// answer says which it was ([`SocialLogin::origin`]).
    ///
    /// The state is spent even when the nonce is wrong, the provider reports
    /// an error or the exchange fails: a flow is tried once.
    ///
    /// # Errors
    /// [`SocialLoginError`].
    pub async fn social_login(
        &self,
        provider: &str,
        state: &str,
        browser: Option<&str>,
        answer: ProviderAnswer,
        caller: &Caller,
    ) -> Result<SocialLogin, SocialLoginError> {
        let provider = Provider::parse(provider).ok_or(SocialLoginError::UnknownProvider)?;
        let social = &self.social;
        if !social.provider.is_enabled(provider) {
            return Err(SocialLoginError::NotConfigured);
        }
        let pending = social.states.take(provider, &StateHash::of(state)).await?;
        let now = self.core.now();
        let Some(pending) = pending.filter(|p| p.provider == provider && p.expires_at > now) else {
            return Err(SocialLoginError::InvalidState);
        };
        if let Some(expected) = &pending.browser
            && browser.map(StateHash::of).as_ref() != Some(expected)
        {
            return Err(SocialLoginError::BrowserMismatch);
        }
        let origin = if pending.browser.is_some() {
            FlowOrigin::Browser
        } else {
            FlowOrigin::App
        };
        let code = match answer {
            ProviderAnswer::Code(code) => code,
            ProviderAnswer::Error(e) if e == "access_denied" => return Err(SocialLoginError::Denied),
            ProviderAnswer::Error(e) => return Err(SocialLoginError::ProviderError(e)),
            ProviderAnswer::Missing => return Err(SocialLoginError::MissingCode),
        };
        let profile = social
            .provider
            .fetch_profile(provider, &code, state, pending.pkce_verifier.as_ref())
            .await?;
        if profile.provider != provider || profile.subject.is_empty() {
            return Err(SocialLoginError::UserInfo(PortError::new(
                "read social profile",
                "the adapter returned a profile of another provider or without a subject",
            )));
        }
        let user = self.user_for_profile(&profile, caller).await?;
        if let Some(factors) = &self.second_factors {
            if user.disabled_at.is_some() {
                return Err(SocialLoginError::Disabled);
            }
            // RFC 8176 has no value for a federated first step: none is claimed.
            if let Some(challenge) = factors.challenge_for(&user, caller.contract, Vec::new()).await? {
                return Err(SocialLoginError::SecondFactor { challenge, origin });
            }
        }
        let tokens = self
            .issuer
            // RFC 8176 has no value for a federated sign-in: none is claimed.
            .open_session(&user, caller, Vec::new())
            .await
            .map_err(|e| match e {
                crate::sessions::issuer::OpenError::Disabled => SocialLoginError::Disabled,
                crate::sessions::issuer::OpenError::Internal(e) => SocialLoginError::Internal(e),
            })?;
        Ok(SocialLogin {
            login: Login { user, tokens },
            origin,
        })
    }

    /// The user behind a profile, linking or creating one by the rules.
    async fn user_for_profile(
        &self,
        profile: &SocialProfile,
        caller: &Caller,
    ) -> Result<User, SocialLoginError> {
        let identities = &self.social.identities;
        for _ in 0..LINK_ATTEMPTS {
            if let Some(id) = identities.user_for(profile.provider, &profile.subject).await? {
                match self.users.by_id(id).await? {
                    Some(user) => return Ok(user),
                    // Deleted between the two reads (the link went with it).
                    None => continue,
                }
            }
            let email = profile
                .email
                .as_deref()
                .and_then(|e| Email::parse(e.trim()).ok())
                .ok_or(SocialLoginError::EmailMissing)?;
            if profile.email_trust == EmailTrust::Unverified {
                return Err(SocialLoginError::EmailNotVerified);
            }
            let user = match self.users.by_email(&email).await? {
                Some(user) => {
                    if profile.email_trust != EmailTrust::Verified || !self.email_proven(&user).await? {
                        return Err(SocialLoginError::EmailTaken);
                    }
                    user
                }
                None => match self.create_social_user(profile, email).await? {
                    Some(user) => user,
                    // Someone took the email meanwhile (a concurrent first
                    // login of the same person, most likely): look again.
                    None => continue,
                },
            };
            let now = self.core.now();
            let owner = identities
                .link(profile.provider, &profile.subject, user.id, now)
                .await?;
            if owner == user.id {
                self.core
                    .audit(crate::audit::AuditKind::SocialLink, Some(user.id), None, caller)
                    .await;
                return Ok(user);
            }
            if let Some(owner) = self.users.by_id(owner).await? {
                return Ok(owner);
            }
        }
        Err(SocialLoginError::Internal(PortError::new(
            "link social identity",
            "the user or link kept changing under concurrent logins",
        )))
    }

    /// Whether `user`'s address was proven: never for an account imported
    /// with `emailVerified: false` whose owner has not proven it since
    /// (a password reset); otherwise a password (set at a sign-up,
    /// which checks a mailed code unless the operator switched that off), or
    /// a linked identity of a provider that attests emails (it was linked or
    /// created with a verified address). An account created from a Naver
    /// mailbox alone was not.
    async fn email_proven(&self, user: &User) -> Result<bool, PortError> {
        // Imported as unverified: whoever set that account's password
        // never proved the address, so joining it would hand the social
        // user's account to them (pre-account takeover).
        if !user.email_verified {
            return Ok(false);
        }
        if user.password_hash.is_some() {
            return Ok(true);
        }
        let providers = self.social.identities.providers_of(user.id).await?;
        Ok(providers.into_iter().any(Provider::attests_email))
    }

    /// Inserts a password-less user for a profile. `None` when the email was
    /// taken meanwhile.
    async fn create_social_user(
        &self,
        profile: &SocialProfile,
        email: Email,
    ) -> Result<Option<User>, SocialLoginError> {
        let name = profile
            .display_name(&email)
            .ok_or(SocialLoginError::EmailMissing)?;
        let new = NewUser {
            uuid: self.core.random_uuid(),
            login_id: None,
            email,
            name,
            profile_image: profile.picture_url(),
            password_hash: None,
            created_at: self.core.now(),
        };
        match self.users.insert(new).await {
            Ok(user) => Ok(Some(user)),
            Err(InsertUserError::Duplicate(UniqueField::Email)) => Ok(None),
            Err(InsertUserError::Duplicate(UniqueField::LoginId)) => {
                Err(SocialLoginError::Internal(PortError::new(
                    "create social user",
                    "a user without login id collided on login id",
                )))
            }
            Err(InsertUserError::Port(e)) => Err(e.into()),
        }
    }
}
