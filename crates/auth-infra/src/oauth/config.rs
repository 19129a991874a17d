//! What operators configure for a provider, and how it is checked.

use auth_domain::social::Provider;
use secrecy::SecretString;

/// One provider's registration, from configuration.
#[derive(Debug, Clone)]
pub struct OAuthProviderConfig {
    /// The client id (Google client ID, Kakao REST API key, Naver Client ID).
    pub client_id: String,
    /// The client secret; optional for Kakao (only when enabled in its
    /// console). Never logged.
    pub client_secret: Option<SecretString>,
    /// Authorization endpoint.
    pub authorize_url: String,
    /// Token endpoint.
    pub token_url: String,
    /// User-info endpoint.
    pub userinfo_url: String,
    /// This service's callback URL, as registered with the provider.
    pub redirect_url: String,
}

/// Why the providers could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum OAuthConfigError {
    /// An endpoint or the redirect URL is not an absolute `http(s)` URL.
    #[error("{provider}: {what} {url:?} is not an absolute http(s) URL")]
    InvalidUrl {
        /// The provider.
        provider: Provider,
        /// Which URL.
        what: &'static str,
        /// The value.
        url: String,
    },
    /// The HTTP client could not be built.
    #[error("HTTP client for OAuth: {0}")]
    HttpClient(#[source] reqwest::Error),
}

pub(super) fn http_url(
    provider: Provider,
    what: &'static str,
    url: &str,
) -> Result<reqwest::Url, OAuthConfigError> {
    let invalid = || OAuthConfigError::InvalidUrl {
        provider,
        what,
        url: url.to_owned(),
    };
    let parsed = reqwest::Url::parse(url.trim()).map_err(|_| invalid())?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(invalid());
    }
    Ok(parsed)
}
