//! Wiring for social login: the OAuth providers from settings and the
//! diesel stores behind [`SocialPorts`].

use std::sync::Arc;
use std::time::Duration;

use auth_domain::social::login::SocialPorts;
use auth_domain::social::{Provider, SocialPolicy};
use auth_infra::{Database, DieselLoginStateStore, DieselSocialIdentityStore, OAuth2Providers};

use super::StartupError;
use crate::settings::Settings;

/// The social-login adapters. Providers without a client id stay disabled
/// (their endpoints answer 404); each enabled one is logged with its
/// callback URL, the value to register in its console.
pub(super) fn ports(settings: &Settings, db: &Database) -> Result<SocialPorts, StartupError> {
    let prefix = &settings.contracts.picsel.prefix;
    let configs: Vec<_> = Provider::ALL
        .into_iter()
        .filter_map(|p| settings.oauth.provider(p, prefix).map(|c| (p, c)))
        .collect();
    for (provider, config) in &configs {
        tracing::info!(%provider, redirect_uri = %config.redirect_url, "social login enabled");
    }
    let timeout = settings.oauth.http_timeout.max(Duration::from_secs(1));
    Ok(SocialPorts {
        provider: Arc::new(OAuth2Providers::new(configs, timeout)?),
        identities: Arc::new(DieselSocialIdentityStore::new(db.clone())),
        states: Arc::new(DieselLoginStateStore::new(db.clone())),
    })
}

/// The social-login rules from settings.
pub(super) fn policy(settings: &Settings) -> SocialPolicy {
    SocialPolicy {
        state_ttl: settings.oauth.state_ttl,
    }
}
