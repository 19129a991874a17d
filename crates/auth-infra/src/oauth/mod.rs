//! [`SocialProvider`] over the `oauth2` crate (authorization URLs, code
//! exchange with PKCE) and reqwest (user info), for Google, Kakao and Naver.
//!
//! Provider quirks handled here:
//! - Google: scope `openid email profile`; PKCE S256; the client secret in
//!   HTTP Basic authentication (Google accepts both `client_secret_basic`
//!   and `client_secret_post`).
//! - Kakao: scope items are comma-separated
//!   (`account_email,profile_nickname,profile_image`); PKCE S256; the
//!   client secret, when the app has one, in the form body; user info with
//!   `secure_resource=true` so picture URLs are `https`.
//! - Naver: no scope and no PKCE; the token request carries `state` and the
//!   secret in the body; `expires_in` is a string; token errors may come
//!   with status 200; user info is wrapped in `{resultcode, message,
//!   response}`.
//!
//! The HTTP client follows no redirects and has a timeout; every failure is
//! a [`SocialProviderError`], never a panic.

//!
//! The parts: [`config`] (what operators configure), `client` (the
//! `oauth2` client types), `transport` (the HTTP client the `oauth2` crate
//! calls), `token` (the lenient token response and token errors), `quirks`
//! (every per-provider difference, in one place) and `profile` (each
//! provider's user-info JSON).

mod client;
pub mod config;
mod profile;
mod quirks;
mod token;
mod transport;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use auth_domain::PortError;
use auth_domain::social::{
    LoginState, PkceVerifier, Provider, SocialProfile, SocialProvider, SocialProviderError,
};
use oauth2::{
    AccessToken, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use reqwest::header::ACCEPT;
use secrecy::ExposeSecret;

use client::{BareClient, Configured};
use config::http_url;
pub use config::{OAuthConfigError, OAuthProviderConfig};

/// The configured providers. A provider without configuration is disabled.
pub struct OAuth2Providers {
    http: reqwest::Client,
    providers: BTreeMap<Provider, Configured>,
}

impl std::fmt::Debug for OAuth2Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth2Providers")
            .field("enabled", &self.providers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl OAuth2Providers {
    /// Sets up the given providers; each HTTP exchange (token or user info)
    /// gives up after `timeout`.
    ///
    /// # Errors
    /// [`OAuthConfigError`] for a malformed URL or an HTTP client failure.
    pub fn new(
        configs: impl IntoIterator<Item = (Provider, OAuthProviderConfig)>,
        timeout: Duration,
    ) -> Result<Self, OAuthConfigError> {
        let http = reqwest::Client::builder()
            // A token endpoint that redirects is misconfigured or hostile;
            // following it could leak the code (the oauth2 crate's advice).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(OAuthConfigError::HttpClient)?;
        let mut providers = BTreeMap::new();
        for (provider, c) in configs {
            let auth = http_url(provider, "authorize URL", &c.authorize_url)?;
            let token = http_url(provider, "token URL", &c.token_url)?;
            let userinfo_url = http_url(provider, "user-info URL", &c.userinfo_url)?;
            let redirect = http_url(provider, "redirect URL", &c.redirect_url)?;
            let mut client = BareClient::new(ClientId::new(c.client_id.trim().to_owned()))
                .set_auth_uri(AuthUrl::from_url(auth))
                .set_token_uri(TokenUrl::from_url(token))
                .set_redirect_uri(RedirectUrl::from_url(redirect))
                .set_auth_type(quirks::auth_type(provider));
            if let Some(secret) = c.client_secret.filter(|s| !s.expose_secret().is_empty()) {
                client = client.set_client_secret(ClientSecret::new(secret.expose_secret().to_owned()));
            }
            providers.insert(provider, Configured { client, userinfo_url });
        }
        Ok(Self { http, providers })
    }
}

#[async_trait]
impl SocialProvider for OAuth2Providers {
    fn is_enabled(&self, provider: Provider) -> bool {
        self.providers.contains_key(&provider)
    }

    fn authorize_url(
        &self,
        provider: Provider,
        state: &LoginState,
        pkce: Option<&PkceVerifier>,
    ) -> Option<String> {
        let c = self.providers.get(&provider)?;
        let state = state.expose().to_owned();
        let mut request = c.client.authorize_url(move || CsrfToken::new(state)).add_scopes(
            quirks::scopes(provider)
                .iter()
                .map(|s| Scope::new((*s).to_owned())),
        );
        if let Some(verifier) = pkce {
            // The oauth2 crate panics outside RFC 7636's 43..=128 characters;
            // the domain's verifiers are 64, so this only guards the rule.
            if !(43..=128).contains(&verifier.expose().len()) {
                tracing::error!(%provider, "PKCE verifier of unusable length; flow not started");
                return None;
            }
            let verifier = PkceCodeVerifier::new(verifier.expose().to_owned());
            request = request.set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(&verifier));
        }
        Some(request.url().0.to_string())
    }

    async fn fetch_profile(
        &self,
        provider: Provider,
        code: &str,
        state: &str,
        pkce: Option<&PkceVerifier>,
    ) -> Result<SocialProfile, SocialProviderError> {
        let c = self
            .providers
            .get(&provider)
            .ok_or(SocialProviderError::NotConfigured)?;
        let mut request = c.client.exchange_code(AuthorizationCode::new(code.to_owned()));
        if let Some(verifier) = pkce {
            request = request.set_pkce_verifier(PkceCodeVerifier::new(verifier.expose().to_owned()));
        }
        if quirks::token_request_carries_state(provider) {
            request = request.add_extra_param("state", state.to_owned());
        }
        let token = request
            .request_async(&transport::JsonLenientClient(&self.http))
            .await
            .map_err(|e| token::token_error(provider, e))?;
        self.user_info(provider, c, token.access_token()).await
    }
}

impl OAuth2Providers {
    async fn user_info(
        &self,
        provider: Provider,
        c: &Configured,
        token: &AccessToken,
    ) -> Result<SocialProfile, SocialProviderError> {
        let fail = |detail: String| {
            SocialProviderError::UserInfo(PortError::new(
                "read social user info",
                format!("{provider}: {detail}"),
            ))
        };
        let mut request = self
            .http
            .get(c.userinfo_url.clone())
            .bearer_auth(token.secret())
            .header(ACCEPT, "application/json");
        let query = quirks::userinfo_query(provider);
        if !query.is_empty() {
            request = request.query(query);
        }
        let response = request
            .send()
            .await
            .map_err(|e| fail(e.without_url().to_string()))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| fail(e.without_url().to_string()))?;
        if !status.is_success() {
            return Err(fail(format!("HTTP {status}: {}", transport::snippet(&body))));
        }
        profile::parse(provider, &body).map_err(|e| fail(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn config(provider: Provider) -> OAuthProviderConfig {
        let base = format!("https://{provider}.example");
        OAuthProviderConfig {
            client_id: format!("{provider}-client"),
            client_secret: Some("s3cret".into()),
            authorize_url: format!("{base}/authorize"),
            token_url: format!("{base}/token"),
            userinfo_url: format!("{base}/me"),
            redirect_url: format!("https://auth.example.com/api/auth/{provider}/callback"),
        }
    }

    fn query(url: &str) -> BTreeMap<String, String> {
        reqwest::Url::parse(url)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect()
    }

    #[test]
    fn authorize_urls_carry_each_providers_parameters() {
        let all =
            OAuth2Providers::new(Provider::ALL.map(|p| (p, config(p))), Duration::from_secs(5)).unwrap();
        let state = LoginState::from_random([1; 32]);
        let verifier = PkceVerifier::from_random([2; 32]);
        for provider in Provider::ALL {
            let pkce = provider.supports_pkce().then_some(&verifier);
            let url = all.authorize_url(provider, &state, pkce).unwrap();
            assert!(
                url.starts_with(&format!("https://{provider}.example/authorize?")),
                "{url}"
            );
            let q = query(&url);
            assert_eq!(q["client_id"], format!("{provider}-client"));
            assert_eq!(q["response_type"], "code");
            assert_eq!(q["state"], state.expose());
            assert_eq!(
                q["redirect_uri"],
                format!("https://auth.example.com/api/auth/{provider}/callback")
            );
            match provider {
                Provider::Google => assert_eq!(q["scope"], "openid email profile"),
                Provider::Kakao => assert_eq!(q["scope"], "account_email,profile_nickname,profile_image"),
                Provider::Naver => assert!(!q.contains_key("scope")),
            }
            if provider.supports_pkce() {
                assert_eq!(q["code_challenge_method"], "S256");
                assert_eq!(q["code_challenge"].len(), 43);
            } else {
                assert!(!q.contains_key("code_challenge"));
            }
            assert!(!url.contains("s3cret"));
        }
        assert!(!format!("{all:?}").contains("s3cret"));
    }

    #[test]
    fn unconfigured_and_malformed() {
        let only_google = OAuth2Providers::new(
            [(Provider::Google, config(Provider::Google))],
            Duration::from_secs(5),
        )
        .unwrap();
        assert!(only_google.is_enabled(Provider::Google));
        assert!(!only_google.is_enabled(Provider::Naver));
        assert!(
            only_google
                .authorize_url(Provider::Naver, &LoginState::from_random([0; 32]), None)
                .is_none()
        );
        let mut bad = config(Provider::Kakao);
        bad.token_url = "kauth.kakao.com/oauth/token".into();
        let err = OAuth2Providers::new([(Provider::Kakao, bad)], Duration::from_secs(5)).unwrap_err();
        assert!(err.to_string().contains("token URL"), "{err}");
    }
}
