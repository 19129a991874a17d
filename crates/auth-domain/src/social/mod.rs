//! Social login: the providers, the profile they yield, the flow state kept
//! between the redirect and the callback, and the ports that reach them.
//!
//! A flow has two legs. Start: a random `state` (and, where the provider
//! supports it, a PKCE verifier) is stored as a [`PendingLogin`] and the
//! browser is sent to the provider's authorization URL. Callback: the
//! `state` the provider hands back is taken from storage (once: a second
//! callback with the same state finds nothing), the authorization code is
//! exchanged with the verifier, and the provider's user info arrives here as
//! one normalised [`SocialProfile`], whatever the provider's own shape.
//!
//! The domain generates the state and the verifier from the
//! [`crate::platform::Random`] port and decides linking; the OAuth exchange
//! itself lives behind the [`SocialProvider`] port (in `auth-infra`).

pub mod login;

#[cfg(test)]
mod login_tests;

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

use crate::error::PortError;
use crate::identity::user::{DisplayName, Email, UserId};

/// A social login provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    /// Google (OpenID Connect user info).
    Google,
    /// Kakao (`v2/user/me`).
    Kakao,
    /// Naver (`v1/nid/me`).
    Naver,
}

/// A name that is no [`Provider`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown social login provider")]
pub struct UnknownProvider;

impl Provider {
    fn parse_named(raw: &str) -> Result<Self, UnknownProvider> {
        Self::parse(raw).ok_or(UnknownProvider)
    }
}

crate::conversions::validated_string!(name Provider, UnknownProvider, parse_named);

impl Provider {
    /// Every provider, in a stable order.
    pub const ALL: [Self; 3] = [Self::Google, Self::Kakao, Self::Naver];

    /// The lowercase name used in paths (`/api/auth/{provider}`) and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Google => "google",
            Self::Kakao => "kakao",
            Self::Naver => "naver",
        }
    }

    /// Parses a path segment. Names are lowercase; anything else is `None`.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == raw)
    }

    /// Whether the provider supports PKCE (RFC 7636) with `S256`: Google and
    /// Kakao do; Naver does not.
    pub fn supports_pkce(self) -> bool {
        matches!(self, Self::Google | Self::Kakao)
    }

    /// Whether the provider states, in its user info, that the user controls
    /// the email address: Google (`email_verified`) and Kakao
    /// (`is_email_valid` and `is_email_verified`) do; Naver never does.
    pub fn attests_email(self) -> bool {
        matches!(self, Self::Google | Self::Kakao)
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `state` of one flow: 32 bytes from a CSPRNG as 64 lowercase hex
/// characters. It travels through the browser; only its hash is stored.
/// `Debug` redacts it.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginState(String);

impl LoginState {
    /// Builds a state from 32 random bytes.
    pub fn from_random(bytes: [u8; 32]) -> Self {
        Self(hex::encode(bytes))
    }

    /// The value to put in the authorization URL.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The stored form.
    pub fn hash(&self) -> StateHash {
        StateHash::of(&self.0)
    }
}

impl fmt::Debug for LoginState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoginState(<redacted>)")
    }
}

/// SHA-256 (hex) of a `state` value, the key of a stored [`PendingLogin`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct StateHash(String);

impl StateHash {
    /// Hashes a `state` as received (from the callback's query string, say).
    pub fn of(state: &str) -> Self {
        Self(hex::encode(Sha256::digest(state.as_bytes())))
    }

    /// Wraps a hash read from storage.
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for StateHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StateHash({}…)", self.0.get(..8).unwrap_or(""))
    }
}

/// A PKCE code verifier: 32 random bytes as 64 lowercase hex characters
/// (RFC 7636 allows 43 to 128 unreserved characters). It is stored with the
/// flow and sent only to the token endpoint. `Debug` redacts it.
#[derive(Clone, PartialEq, Eq)]
pub struct PkceVerifier(String);

impl PkceVerifier {
    /// Builds a verifier from 32 random bytes.
    pub fn from_random(bytes: [u8; 32]) -> Self {
        Self(hex::encode(bytes))
    }

    /// Wraps a verifier read from storage.
    pub fn from_stored(verifier: String) -> Self {
        Self(verifier)
    }

    /// The verifier itself, for the token request and storage only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PkceVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PkceVerifier(<redacted>)")
    }
}

/// The secret that binds a browser-started flow to that browser: 32 bytes
/// from a CSPRNG as 64 lowercase hex characters, set in a short-lived
/// `HttpOnly` cookie when the flow starts and required back at the
/// callback. Only its hash is stored. A callback URL (code and state)
/// delivered to another browser therefore finds no matching cookie there,
/// which defeats login CSRF. `Debug` redacts it.
#[derive(Clone, PartialEq, Eq)]
pub struct BrowserNonce(String);

impl BrowserNonce {
    /// Builds a nonce from 32 random bytes.
    pub fn from_random(bytes: [u8; 32]) -> Self {
        Self(hex::encode(bytes))
    }

    /// The value to put in the cookie.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The stored form (SHA-256, hex, like a state's).
    pub fn hash(&self) -> StateHash {
        StateHash::of(&self.0)
    }
}

impl fmt::Debug for BrowserNonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BrowserNonce(<redacted>)")
    }
}

/// A flow between its start and its callback, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLogin {
    /// Hash of the flow's `state`.
    pub state: StateHash,
    /// The provider the flow was started for; a callback for another
    /// provider does not find it.
    pub provider: Provider,
    /// The PKCE verifier, for providers that support PKCE.
    pub pkce_verifier: Option<PkceVerifier>,
    /// Hash of the [`BrowserNonce`] of a flow started by a browser; the
    /// callback must present the nonce. `None` for a flow whose URL was
    /// handed to an application, which no cookie can follow.
    pub browser: Option<StateHash>,
    /// When the flow started.
    pub created_at: DateTime<Utc>,
    /// When the state stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// Rules for social login.
#[derive(Debug, Clone, Copy)]
pub struct SocialPolicy {
    /// How long a started flow may take to come back (default 10 minutes).
    pub state_ttl: TimeDelta,
}

impl Default for SocialPolicy {
    fn default() -> Self {
        Self {
            state_ttl: TimeDelta::minutes(10),
        }
    }
}

/// How far a provider vouches that its user controls a profile's email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailTrust {
    /// The provider states that the address is verified (Google
    /// `email_verified`; Kakao `is_email_valid` and `is_email_verified`).
    /// Enough to link to the account that has this address, or to create
    /// one.
    Verified,
    /// The provider states nothing, but the address is a mailbox of the
    /// provider's own mail service (Naver: `@naver.com`, which is what Naver
    /// returns unless the user chose another contact address). Enough to
    /// create a new account when no account has the address; never enough to
    /// link to an existing one, and an account created this way is not
    /// joined by other providers' identities by email either.
    ProviderMailbox,
    /// The provider says the address is not verified, or says nothing about
    /// an address elsewhere: neither links nor creates.
    Unverified,
}

/// What a provider says about its user, normalised from its own shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocialProfile {
    /// Who said it.
    pub provider: Provider,
    /// The provider's stable id of the user (Google `sub`, Kakao `id`,
    /// Naver `response.id`). Never empty.
    pub subject: String,
    /// The email, as given, if the user consented to share one.
    pub email: Option<String>,
    /// How far the provider vouches that the user controls `email`.
    pub email_trust: EmailTrust,
    /// The user's name, if given.
    pub name: Option<String>,
    /// A nickname, if given (Kakao's profile nickname, Naver's `nickname`).
    pub nickname: Option<String>,
    /// A profile picture URL, if given.
    pub picture: Option<String>,
}

impl SocialProfile {
    /// Longest profile picture URL kept.
    pub const MAX_PICTURE_LEN: usize = 2048;

    /// The display name for a new account: the name, else the nickname,
    /// else the email's local part; control characters removed and cut to
    /// 50 characters. `None` only when all three are unusable, which a
    /// parsed [`Email`] (non-empty local part) rules out.
    pub fn display_name(&self, email: &Email) -> Option<DisplayName> {
        let local = email.as_str().split('@').next().unwrap_or_default();
        [self.name.as_deref(), self.nickname.as_deref(), Some(local)]
            .into_iter()
            .flatten()
            .find_map(|raw| {
                let clean: String = raw
                    .chars()
                    .filter(|c| !c.is_control())
                    .collect::<String>()
                    .trim()
                    .chars()
                    .take(50)
                    .collect();
                DisplayName::parse(&clean).ok()
            })
    }

    /// The picture URL to store: only `http(s)` URLs without whitespace, at
    /// most [`Self::MAX_PICTURE_LEN`] bytes.
    pub fn picture_url(&self) -> Option<String> {
        let url = self.picture.as_deref()?.trim();
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        let clean = !url.chars().any(|c| c.is_whitespace() || c.is_control());
        (scheme_ok && clean && url.len() <= Self::MAX_PICTURE_LEN).then(|| url.to_owned())
    }
}

/// Why a provider could not turn an authorization code into a profile.
#[derive(Debug, thiserror::Error)]
pub enum SocialProviderError {
    /// The token endpoint refused the code (`invalid_grant`): expired,
    /// already used, or issued for another client or redirect URI.
    #[error("authorization code rejected")]
    CodeRejected(#[source] PortError),
    /// The token endpoint failed: unreachable, a redirect, a 5xx, an error
    /// other than `invalid_grant`, or an answer that is not a token.
    #[error("token exchange failed")]
    TokenExchange(#[source] PortError),
    /// The user-info endpoint failed or answered something that is not a
    /// profile (for Naver: a `resultcode` other than `"00"`).
    #[error("user info failed")]
    UserInfo(#[source] PortError),
    /// The provider is not configured here.
    #[error("provider not configured")]
    NotConfigured,
}

/// Talks OAuth 2.0 to the providers.
#[async_trait]
pub trait SocialProvider: Send + Sync {
    /// Whether `provider` is configured (it has a client id).
    fn is_enabled(&self, provider: Provider) -> bool;

    /// The authorization URL of one flow: `client_id`, `redirect_uri`,
    /// `response_type=code`, the provider's scope, `state`, and, when
    /// `pkce` is given, `code_challenge` (its S256) and
    /// `code_challenge_method=S256`. `None` when the provider is not
    /// configured.
    fn authorize_url(
        &self,
        provider: Provider,
        state: &LoginState,
        pkce: Option<&PkceVerifier>,
    ) -> Option<String>;

    /// Exchanges an authorization code at the token endpoint (sending the
    /// flow's PKCE verifier, and its `state` where the provider wants it),
    /// then reads the user info with the access token.
    ///
    /// # Errors
    /// [`SocialProviderError`]; never panics on a malformed answer.
    async fn fetch_profile(
        &self,
        provider: Provider,
        code: &str,
        state: &str,
        pkce: Option<&PkceVerifier>,
    ) -> Result<SocialProfile, SocialProviderError>;
}

/// Stores which user each (provider, subject) pair belongs to.
#[async_trait]
pub trait SocialIdentityStore: Send + Sync {
    /// The user a pair is linked to.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn user_for(&self, provider: Provider, subject: &str) -> Result<Option<UserId>, PortError>;

    /// The providers `user` has linked identities at (each once, any order).
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn providers_of(&self, user: UserId) -> Result<Vec<Provider>, PortError>;

    /// Links a pair to `user` at `now` and returns the user the pair belongs
    /// to afterwards: `user`, or, when the pair was already linked (a
    /// concurrent first login won), that earlier user. Decided by the
    /// database's unique (provider, subject) constraint.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure (a user that does not exist
    /// is one).
    async fn link(
        &self,
        provider: Provider,
        subject: &str,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<UserId, PortError>;
}

/// Stores started flows until their callback.
#[async_trait]
pub trait LoginStateStore: Send + Sync {
    /// Stores a started flow. Implementations may delete expired flows here.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    async fn put(&self, pending: &PendingLogin) -> Result<(), PortError>;

    /// Removes and returns the flow with this state hash and provider. Of
    /// any number of concurrent calls with one state, at most one returns
    /// it (a conditional delete decides). Expiry is the caller's to check.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn take(&self, provider: Provider, state: &StateHash) -> Result<Option<PendingLogin>, PortError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(name: Option<&str>, nickname: Option<&str>) -> SocialProfile {
        SocialProfile {
            provider: Provider::Kakao,
            subject: "1".into(),
            email: Some("hong.gildong@example.com".into()),
            email_trust: EmailTrust::Verified,
            name: name.map(Into::into),
            nickname: nickname.map(Into::into),
            picture: None,
        }
    }

    #[test]
    fn providers_round_trip_and_pkce() {
        for p in Provider::ALL {
            assert_eq!(Provider::parse(p.as_str()), Some(p));
        }
        assert_eq!(Provider::parse("Google"), None);
        assert_eq!(Provider::parse("github"), None);
        assert!(Provider::Google.supports_pkce() && Provider::Kakao.supports_pkce());
        assert!(!Provider::Naver.supports_pkce());
        assert!(Provider::Google.attests_email() && Provider::Kakao.attests_email());
        assert!(!Provider::Naver.attests_email());
    }

    #[test]
    fn names_fall_back_to_nickname_then_local_part() {
        let email = Email::parse("Hong.Gildong@example.com").unwrap();
        let name = |n, k| profile(n, k).display_name(&email).unwrap().as_str().to_owned();
        assert_eq!(name(Some(" 홍길동 "), Some("길동이")), "홍길동");
        assert_eq!(name(None, Some("길동이")), "길동이");
        assert_eq!(name(Some("  "), None), "hong.gildong");
        assert_eq!(name(Some("a\u{0}b"), None), "ab");
        assert_eq!(name(Some(&"가".repeat(80)), None).chars().count(), 50);
    }

    #[test]
    fn pictures_must_be_http_urls() {
        let mut p = profile(None, None);
        for (raw, kept) in [
            ("https://img.example.com/a.jpg", true),
            ("http://k.kakaocdn.net/a.jpg", true),
            ("javascript:alert(1)", false),
            ("https://a b", false),
        ] {
            p.picture = Some(raw.into());
            assert_eq!(p.picture_url().is_some(), kept, "{raw}");
        }
        p.picture = Some(format!("https://x/{}", "a".repeat(3000)));
        assert_eq!(p.picture_url(), None);
    }

    #[test]
    fn secrets_are_redacted_and_states_hashed() {
        let s = LoginState::from_random([7; 32]);
        assert_eq!(s.expose().len(), 64);
        assert!(!format!("{s:?}").contains(s.expose()));
        assert_eq!(s.hash(), StateHash::of(s.expose()));
        assert_ne!(s.hash().as_str(), s.expose());
        let v = PkceVerifier::from_random([9; 32]);
        assert_eq!(v.expose().len(), 64);
        assert!(!format!("{v:?}").contains(v.expose()));
        let n = BrowserNonce::from_random([5; 32]);
        assert_eq!(n.expose().len(), 64);
        assert!(!format!("{n:?}").contains(n.expose()));
        assert_eq!(n.hash(), StateHash::of(n.expose()));
    }
}
