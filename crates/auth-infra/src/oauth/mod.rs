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

mod profile;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use auth_domain::PortError;
use auth_domain::social::{
    LoginState, PkceVerifier, Provider, SocialProfile, SocialProvider, SocialProviderError,
};
use oauth2::basic::{BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse};
use oauth2::{
    AccessToken, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    StandardRevocableToken, TokenResponse, TokenUrl,
};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

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

/// The `oauth2` client type used for every provider: auth and token
/// endpoints set, the others not; a token response lenient enough for Naver.
type ProviderClient = oauth2::Client<
    BasicErrorResponse,
    LenientTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// The same client before its endpoints are set.
type BareClient = oauth2::Client<
    BasicErrorResponse,
    LenientTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
>;

struct Configured {
    client: ProviderClient,
    userinfo_url: reqwest::Url,
}

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

fn http_url(provider: Provider, what: &'static str, url: &str) -> Result<reqwest::Url, OAuthConfigError> {
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
                .set_auth_type(match provider {
                    Provider::Google => AuthType::BasicAuth,
                    Provider::Kakao | Provider::Naver => AuthType::RequestBody,
                });
            if let Some(secret) = c.client_secret.filter(|s| !s.expose_secret().is_empty()) {
                client = client.set_client_secret(ClientSecret::new(secret.expose_secret().to_owned()));
            }
            providers.insert(provider, Configured { client, userinfo_url });
        }
        Ok(Self { http, providers })
    }
}

/// The scope each provider is asked for. Kakao separates consent items with
/// commas, so its list is one "scope" value.
fn scopes(provider: Provider) -> &'static [&'static str] {
    match provider {
        Provider::Google => &["openid", "email", "profile"],
        Provider::Kakao => &["account_email,profile_nickname,profile_image"],
        Provider::Naver => &[],
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
        let mut request = c
            .client
            .authorize_url(move || CsrfToken::new(state))
            .add_scopes(scopes(provider).iter().map(|s| Scope::new((*s).to_owned())));
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
        if provider == Provider::Naver {
            // Naver's token endpoint requires the flow's state.
            request = request.add_extra_param("state", state.to_owned());
        }
        let token = request
            .request_async(&JsonLenientClient(&self.http))
            .await
            .map_err(|e| token_error(provider, e))?;
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
        if provider == Provider::Kakao {
            request = request.query(&[("secure_resource", "true")]);
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
            return Err(fail(format!("HTTP {status}: {}", snippet(&body))));
        }
        profile::parse(provider, &body).map_err(|e| fail(e.to_string()))
    }
}

/// A short, printable excerpt of a body for the log.
fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(200).collect()
}

/// Why one HTTP exchange failed at the transport level.
#[derive(Debug, thiserror::Error)]
enum TransportError {
    #[error("{0}")]
    Reqwest(#[from] reqwest::Error),
    #[error("building the HTTP response: {0}")]
    Http(#[from] oauth2::http::Error),
}

/// The oauth2 crate's HTTP client: reqwest (redirects off). A body that is
/// JSON is labelled `application/json` whatever the provider said, since
/// the crate refuses any other content type and not every provider labels
/// its JSON.
struct JsonLenientClient<'a>(&'a reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for JsonLenientClient<'_> {
    type Error = TransportError;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<oauth2::HttpResponse, TransportError>> + Send + Sync + 'c,
        >,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(send(self.0, request))
    }
}

async fn send(
    http: &reqwest::Client,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, TransportError> {
    let request = reqwest::Request::try_from(request)?;
    let response = http.execute(request).await.map_err(reqwest::Error::without_url)?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .map_err(reqwest::Error::without_url)?
        .to_vec();
    let is_json = serde_json::from_slice::<Value>(&body).is_ok();
    let mut builder = oauth2::http::Response::builder().status(status);
    for (name, value) in &headers {
        if !(is_json && name == CONTENT_TYPE) {
            builder = builder.header(name, value);
        }
    }
    if is_json {
        builder = builder.header(CONTENT_TYPE, "application/json");
    }
    Ok(builder.body(body)?)
}

/// An OAuth error body (`{"error": "...", "error_description": "..."}`).
#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    error_description: Option<String>,
}

fn token_error(
    provider: Provider,
    e: RequestTokenError<TransportError, BasicErrorResponse>,
) -> SocialProviderError {
    let classify = |error: &str, description: Option<&str>| {
        let detail = format!("{provider}: {error}: {}", description.unwrap_or_default());
        let port = PortError::new("exchange social authorization code", detail);
        if error == "invalid_grant" {
            SocialProviderError::CodeRejected(port)
        } else {
            SocialProviderError::TokenExchange(port)
        }
    };
    let other = |detail: String| {
        SocialProviderError::TokenExchange(PortError::new(
            "exchange social authorization code",
            format!("{provider}: {detail}"),
        ))
    };
    match e {
        RequestTokenError::ServerResponse(r) => {
            classify(r.error().as_ref(), r.error_description().map(String::as_str))
        }
        // Naver answers errors with status 200: not a token, but an error.
        RequestTokenError::Parse(parse, body) => match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(b) => classify(&b.error, b.error_description.as_deref()),
            Err(_) => other(format!("unreadable token response ({parse}): {}", snippet(&body))),
        },
        RequestTokenError::Request(t) => other(t.to_string()),
        RequestTokenError::Other(s) => other(s),
    }
}

/// Any `token_type` (Google says `Bearer`, Kakao and Naver `bearer`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct AnyTokenType(String);

impl oauth2::TokenType for AnyTokenType {}

/// A token response that accepts Naver's string `expires_in` and ignores
/// everything but what is used.
#[derive(Debug, Serialize, Deserialize)]
struct LenientTokenResponse {
    access_token: AccessToken,
    #[serde(default = "bearer")]
    token_type: AnyTokenType,
    #[serde(default, deserialize_with = "number_or_string")]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<RefreshToken>,
}

fn bearer() -> AnyTokenType {
    AnyTokenType("bearer".into())
}

fn number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

impl TokenResponse for LenientTokenResponse {
    type TokenType = AnyTokenType;

    fn access_token(&self) -> &AccessToken {
        &self.access_token
    }
    fn token_type(&self) -> &AnyTokenType {
        &self.token_type
    }
    fn expires_in(&self) -> Option<Duration> {
        self.expires_in.map(Duration::from_secs)
    }
    fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }
    fn scopes(&self) -> Option<&Vec<Scope>> {
        None
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

    #[test]
    fn naver_token_response_parses() {
        let t: LenientTokenResponse = serde_json::from_str(
            r#"{"access_token":"AAAA","refresh_token":"c8ce","token_type":"bearer","expires_in":"3600"}"#,
        )
        .unwrap();
        assert_eq!(t.expires_in(), Some(Duration::from_secs(3600)));
        let t: LenientTokenResponse = serde_json::from_str(
            r#"{"access_token":"x","token_type":"Bearer","expires_in":3599,"scope":"openid","id_token":"a.b.c"}"#,
        )
        .unwrap();
        assert_eq!(t.access_token().secret(), "x");
        assert!(serde_json::from_str::<LenientTokenResponse>(r#"{"error":"invalid_request"}"#).is_err());
    }
}
