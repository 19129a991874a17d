//! In-memory fakes of the social-login ports, for unit tests only.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::PortError;
use crate::identity::user::UserId;
use crate::social::*;

use crate::social::login::SocialPorts;

/// One exchange as the fake saw it: provider, code, state, verifier.
pub type Exchange = (Provider, String, String, Option<String>);

/// A link: the user and when it was made.
pub type Link = (UserId, DateTime<Utc>);

/// What the fake provider answers for one code.
#[derive(Debug, Clone)]
pub enum FakeAnswer {
    Profile(SocialProfile),
    CodeRejected,
    TokenDown,
    UserInfoDown,
}

/// A provider that knows a table of codes. Every provider is enabled unless
/// listed in `disabled`.
#[derive(Default)]
pub struct FakeProvider {
    pub disabled: Mutex<HashSet<Provider>>,
    pub answers: Mutex<HashMap<String, FakeAnswer>>,
    /// `(provider, state, verifier)` of every authorization URL built.
    pub authorized: Mutex<Vec<(Provider, String, Option<String>)>>,
    /// `(provider, code, state, verifier)` of every exchange.
    pub exchanges: Mutex<Vec<Exchange>>,
}

impl FakeProvider {
    pub fn answer(&self, code: &str, answer: FakeAnswer) {
        self.answers.lock().unwrap().insert(code.into(), answer);
    }
}

#[async_trait]
impl SocialProvider for FakeProvider {
    fn is_enabled(&self, provider: Provider) -> bool {
        !self.disabled.lock().unwrap().contains(&provider)
    }
    fn authorize_url(
        &self,
        provider: Provider,
        state: &LoginState,
        pkce: Option<&PkceVerifier>,
    ) -> Option<String> {
        if !self.is_enabled(provider) {
            return None;
        }
        self.authorized.lock().unwrap().push((
            provider,
            state.expose().to_owned(),
            pkce.map(|v| v.expose().to_owned()),
        ));
        Some(format!(
            "https://{provider}.example/authorize?state={}",
            state.expose()
        ))
    }
    async fn fetch_profile(
        &self,
        provider: Provider,
        code: &str,
        state: &str,
        pkce: Option<&PkceVerifier>,
    ) -> Result<SocialProfile, SocialProviderError> {
        self.exchanges.lock().unwrap().push((
            provider,
            code.into(),
            state.into(),
            pkce.map(|v| v.expose().to_owned()),
        ));
        let fail = |what| PortError::new("fake provider", what);
        match self.answers.lock().unwrap().get(code).cloned() {
            Some(FakeAnswer::Profile(p)) => Ok(p),
            Some(FakeAnswer::CodeRejected) | None => {
                Err(SocialProviderError::CodeRejected(fail("invalid_grant")))
            }
            Some(FakeAnswer::TokenDown) => Err(SocialProviderError::TokenExchange(fail("HTTP 500"))),
            Some(FakeAnswer::UserInfoDown) => Err(SocialProviderError::UserInfo(fail("HTTP 500"))),
        }
    }
}

#[derive(Default)]
pub struct MemIdentities {
    pub rows: Mutex<HashMap<(Provider, String), Link>>,
}

#[async_trait]
impl SocialIdentityStore for MemIdentities {
    async fn user_for(&self, provider: Provider, subject: &str) -> Result<Option<UserId>, PortError> {
        Ok(self
            .rows
            .lock()
            .unwrap()
            .get(&(provider, subject.to_owned()))
            .map(|r| r.0))
    }
    async fn providers_of(&self, user: UserId) -> Result<Vec<Provider>, PortError> {
        let mut providers: Vec<Provider> = self
            .rows
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, (u, _))| *u == user)
            .map(|((p, _), _)| *p)
            .collect();
        providers.sort();
        providers.dedup();
        Ok(providers)
    }
    async fn link(
        &self,
        provider: Provider,
        subject: &str,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<UserId, PortError> {
        Ok(self
            .rows
            .lock()
            .unwrap()
            .entry((provider, subject.to_owned()))
            .or_insert((user, now))
            .0)
    }
}

#[derive(Default)]
pub struct MemStates {
    pub rows: Mutex<HashMap<StateHash, PendingLogin>>,
}

#[async_trait]
impl LoginStateStore for MemStates {
    async fn put(&self, pending: &PendingLogin) -> Result<(), PortError> {
        self.rows
            .lock()
            .unwrap()
            .insert(pending.state.clone(), pending.clone());
        Ok(())
    }
    async fn take(&self, provider: Provider, state: &StateHash) -> Result<Option<PendingLogin>, PortError> {
        let mut rows = self.rows.lock().unwrap();
        if rows.get(state).is_some_and(|p| p.provider == provider) {
            return Ok(rows.remove(state));
        }
        Ok(None)
    }
}

/// The social fakes of one [`super::InMemoryAuth`].
#[derive(Clone, Default)]
pub struct SocialFakes {
    pub provider: Arc<FakeProvider>,
    pub identities: Arc<MemIdentities>,
    pub states: Arc<MemStates>,
}

impl SocialFakes {
    pub fn ports(&self) -> SocialPorts {
        SocialPorts {
            provider: self.provider.clone(),
            identities: self.identities.clone(),
            states: self.states.clone(),
        }
    }
}
