//! Social login settings. They sit at the top level of [`super::Settings`]
//! (flattened), so the environment names are exactly `AUTH_PUBLIC_URL`,
//! `AUTH_OAUTH_SUCCESS_REDIRECT`, `AUTH_OAUTH_GOOGLE_CLIENT_ID`, … (figment
//! lowercases `AUTH_OAUTH_GOOGLE_CLIENT_ID` to the key
//! `oauth_google_client_id`).

use auth_domain::social::Provider;
use auth_infra::OAuthProviderConfig;
use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};

use super::SettingsError;

/// Social login configuration. A provider is enabled when its client id is
/// set (and not blank).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct OAuthSettings {
    /// This service's public base URL, as browsers and providers reach it
    /// (`AUTH_PUBLIC_URL`). Callback URLs are built from it:
    /// `{public_url}{picsel prefix}/api/auth/{provider}/callback`.
    pub public_url: String,
    /// Where a successful callback of a flow started in the browser (`GET
    /// /api/auth/{provider}`, bound by its cookie) sends the browser
    /// instead of answering JSON, with the tokens in the URL fragment
    /// (`AUTH_OAUTH_SUCCESS_REDIRECT`).
    pub oauth_success_redirect: Option<String>,
    /// Where a successful callback of a flow started by an application
    /// (`POST /api/auth/{provider}/login`, bound to no browser) sends the
    /// browser, with the tokens and the flow's `state` in the fragment
    /// (`AUTH_OAUTH_APP_REDIRECT`; an app's own scheme such as
    /// `com.example.app:/oauth` is allowed). Unset: such a callback answers
    /// the login JSON. Never the front end's redirect above: a flow not
    /// started in a browser must not be delivered as if it were (login
    /// CSRF).
    pub oauth_app_redirect: Option<String>,
    /// Seconds a started flow may take to come back
    /// (`AUTH_OAUTH_STATE_TTL_SECONDS`).
    pub oauth_state_ttl_seconds: i64,
    /// Seconds one request to a provider may take
    /// (`AUTH_OAUTH_HTTP_TIMEOUT_SECONDS`).
    pub oauth_http_timeout_seconds: u64,
    /// Google OAuth client ID (`AUTH_OAUTH_GOOGLE_CLIENT_ID`).
    #[serde(deserialize_with = "string_or_number")]
    pub oauth_google_client_id: Option<String>,
    /// Google client secret (`AUTH_OAUTH_GOOGLE_CLIENT_SECRET`).
    #[serde(
        deserialize_with = "secret_string_or_number",
        serialize_with = "super::strict::redacted"
    )]
    pub oauth_google_client_secret: Option<SecretString>,
    /// Google authorization endpoint (`AUTH_OAUTH_GOOGLE_AUTHORIZE_URL`).
    pub oauth_google_authorize_url: String,
    /// Google token endpoint (`AUTH_OAUTH_GOOGLE_TOKEN_URL`).
    pub oauth_google_token_url: String,
    /// Google user-info endpoint (`AUTH_OAUTH_GOOGLE_USERINFO_URL`).
    pub oauth_google_userinfo_url: String,
    /// Kakao REST API key (`AUTH_OAUTH_KAKAO_CLIENT_ID`).
    #[serde(deserialize_with = "string_or_number")]
    pub oauth_kakao_client_id: Option<String>,
    /// Kakao client secret, if the app enables one
    /// (`AUTH_OAUTH_KAKAO_CLIENT_SECRET`).
    #[serde(
        deserialize_with = "secret_string_or_number",
        serialize_with = "super::strict::redacted"
    )]
    pub oauth_kakao_client_secret: Option<SecretString>,
    /// Kakao authorization endpoint (`AUTH_OAUTH_KAKAO_AUTHORIZE_URL`).
    pub oauth_kakao_authorize_url: String,
    /// Kakao token endpoint (`AUTH_OAUTH_KAKAO_TOKEN_URL`).
    pub oauth_kakao_token_url: String,
    /// Kakao user-info endpoint (`AUTH_OAUTH_KAKAO_USERINFO_URL`).
    pub oauth_kakao_userinfo_url: String,
    /// Naver Client ID (`AUTH_OAUTH_NAVER_CLIENT_ID`).
    #[serde(deserialize_with = "string_or_number")]
    pub oauth_naver_client_id: Option<String>,
    /// Naver Client Secret (`AUTH_OAUTH_NAVER_CLIENT_SECRET`).
    #[serde(
        deserialize_with = "secret_string_or_number",
        serialize_with = "super::strict::redacted"
    )]
    pub oauth_naver_client_secret: Option<SecretString>,
    /// Naver authorization endpoint (`AUTH_OAUTH_NAVER_AUTHORIZE_URL`).
    pub oauth_naver_authorize_url: String,
    /// Naver token endpoint (`AUTH_OAUTH_NAVER_TOKEN_URL`).
    pub oauth_naver_token_url: String,
    /// Naver user-info endpoint (`AUTH_OAUTH_NAVER_USERINFO_URL`).
    pub oauth_naver_userinfo_url: String,
}

impl Default for OAuthSettings {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            oauth_success_redirect: None,
            oauth_app_redirect: None,
            oauth_state_ttl_seconds: 600,
            oauth_http_timeout_seconds: 10,
            oauth_google_client_id: None,
            oauth_google_client_secret: None,
            oauth_google_authorize_url: "https://accounts.google.com/o/oauth2/v2/auth".into(),
            oauth_google_token_url: "https://oauth2.googleapis.com/token".into(),
            oauth_google_userinfo_url: "https://openidconnect.googleapis.com/v1/userinfo".into(),
            oauth_kakao_client_id: None,
            oauth_kakao_client_secret: None,
            oauth_kakao_authorize_url: "https://kauth.kakao.com/oauth/authorize".into(),
            oauth_kakao_token_url: "https://kauth.kakao.com/oauth/token".into(),
            oauth_kakao_userinfo_url: "https://kapi.kakao.com/v2/user/me".into(),
            oauth_naver_client_id: None,
            oauth_naver_client_secret: None,
            oauth_naver_authorize_url: "https://nid.naver.com/oauth2.0/authorize".into(),
            oauth_naver_token_url: "https://nid.naver.com/oauth2.0/token".into(),
            oauth_naver_userinfo_url: "https://openapi.naver.com/v1/nid/me".into(),
        }
    }
}

/// figment reads an all-digit environment value as a number; a client id
/// or secret is a string all the same. (Leading zeros are lost by then:
/// quote such a value, `AUTH_OAUTH_KAKAO_CLIENT_ID='"0123…"'`.)
#[derive(Deserialize)]
#[serde(untagged)]
enum StringOrNumber {
    Text(String),
    Unsigned(u64),
    Signed(i64),
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<StringOrNumber>::deserialize(d)?.map(|v| match v {
        StringOrNumber::Text(s) => s,
        StringOrNumber::Unsigned(n) => n.to_string(),
        StringOrNumber::Signed(n) => n.to_string(),
    }))
}

fn secret_string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    Ok(string_or_number(d)?.map(SecretString::from))
}

/// Whether `url` is an absolute `http(s)` URL with a host.
fn is_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !r.chars().any(char::is_whitespace)
    })
}

impl OAuthSettings {
    /// Points every endpoint of every provider at `base` (for a local fake
    /// provider): `{base}/{provider}/authorize`, `/token`, `/userinfo`.
    pub fn point_all_providers_at(&mut self, base: &str) {
        let base = base.trim_end_matches('/');
        for (authorize, token, userinfo, name) in [
            (
                &mut self.oauth_google_authorize_url,
                &mut self.oauth_google_token_url,
                &mut self.oauth_google_userinfo_url,
                "google",
            ),
            (
                &mut self.oauth_kakao_authorize_url,
                &mut self.oauth_kakao_token_url,
                &mut self.oauth_kakao_userinfo_url,
                "kakao",
            ),
            (
                &mut self.oauth_naver_authorize_url,
                &mut self.oauth_naver_token_url,
                &mut self.oauth_naver_userinfo_url,
                "naver",
            ),
        ] {
            *authorize = format!("{base}/{name}/authorize");
            *token = format!("{base}/{name}/token");
            *userinfo = format!("{base}/{name}/userinfo");
        }
    }

    /// The callback URL registered with `provider`'s console.
    pub fn redirect_url(&self, provider: Provider, picsel_prefix: &str) -> String {
        format!(
            "{}{}/api/auth/{provider}/callback",
            self.public_url.trim_end_matches('/'),
            picsel_prefix.trim_end_matches('/'),
        )
    }

    /// `provider`'s configuration, or `None` when it has no client id.
    pub fn provider(&self, provider: Provider, picsel_prefix: &str) -> Option<OAuthProviderConfig> {
        let (id, secret, authorize, token, userinfo) = match provider {
            Provider::Google => (
                &self.oauth_google_client_id,
                &self.oauth_google_client_secret,
                &self.oauth_google_authorize_url,
                &self.oauth_google_token_url,
                &self.oauth_google_userinfo_url,
            ),
            Provider::Kakao => (
                &self.oauth_kakao_client_id,
                &self.oauth_kakao_client_secret,
                &self.oauth_kakao_authorize_url,
                &self.oauth_kakao_token_url,
                &self.oauth_kakao_userinfo_url,
            ),
            Provider::Naver => (
                &self.oauth_naver_client_id,
                &self.oauth_naver_client_secret,
                &self.oauth_naver_authorize_url,
                &self.oauth_naver_token_url,
                &self.oauth_naver_userinfo_url,
            ),
        };
        let id = id.as_deref().map(str::trim).filter(|id| !id.is_empty())?;
        Some(OAuthProviderConfig {
            client_id: id.to_owned(),
            client_secret: secret.clone(),
            authorize_url: authorize.trim().to_owned(),
            token_url: token.trim().to_owned(),
            userinfo_url: userinfo.trim().to_owned(),
            redirect_url: self.redirect_url(provider, picsel_prefix),
        })
    }

    /// Checks the values types cannot express.
    ///
    /// # Errors
    /// [`SettingsError`] naming the setting.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let bad = |msg: String| Err(SettingsError(msg));
        if !is_http_url(&self.public_url) || self.public_url.contains(['?', '#']) {
            return bad(format!(
                "public_url must be an absolute http(s) URL without query or fragment, not {:?}",
                self.public_url
            ));
        }
        if let Some(url) = &self.oauth_success_redirect
            && (!is_http_url(url) || url.contains('#'))
        {
            return bad(format!(
                "oauth_success_redirect must be an absolute http(s) URL without a fragment, not {url:?}"
            ));
        }
        if let Some(url) = &self.oauth_app_redirect
            && !is_app_redirect(url)
        {
            return bad(format!(
                "oauth_app_redirect must be an absolute URL (http(s) or an application's own scheme) \
                 without a fragment, not {url:?}"
            ));
        }
        if self.oauth_state_ttl_seconds <= 0 || self.oauth_http_timeout_seconds == 0 {
            return bad("oauth_state_ttl_seconds and oauth_http_timeout_seconds must be positive".into());
        }
        for provider in Provider::ALL {
            if let Some(c) = self.provider(provider, "") {
                for (what, url) in [
                    ("authorize_url", &c.authorize_url),
                    ("token_url", &c.token_url),
                    ("userinfo_url", &c.userinfo_url),
                ] {
                    if !is_http_url(url) {
                        return bad(format!(
                            "oauth_{provider}_{what} must be an absolute http(s) URL, not {url:?}"
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// An absolute URL a native application can receive: `http(s)`, or a
/// scheme of its own (RFC 3986: a letter, then letters, digits, `+`, `-`,
/// `.`), never one a browser runs or renders (`javascript:`, `data:`,
/// `vbscript:`, `file:`, `blob:`); no fragment of its own.
fn is_app_redirect(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let lower = scheme.to_ascii_lowercase();
    let runnable = matches!(
        lower.as_str(),
        "javascript" | "data" | "vbscript" | "file" | "blob"
    );
    let http = matches!(lower.as_str(), "http" | "https");
    scheme_ok
        && !runnable
        && !rest.is_empty()
        && !url.contains('#')
        && !url.chars().any(|c| c.is_control() || c == ' ')
        && (!http || is_http_url(url))
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::Figment;
    use figment::providers::Env;
    use secrecy::ExposeSecret;

    #[test]
    // `Jail`'s closure returns figment's own (large) error type.
    #[allow(clippy::result_large_err)]
    fn environment_names_map_to_the_flat_keys() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("AUTH_PUBLIC_URL", "https://auth.example.com");
            jail.set_env("AUTH_OAUTH_SUCCESS_REDIRECT", "https://app.example.com/done");
            jail.set_env(
                "AUTH_OAUTH_GOOGLE_CLIENT_ID",
                "123-abc.apps.googleusercontent.com",
            );
            jail.set_env("AUTH_OAUTH_GOOGLE_CLIENT_SECRET", "g-secret");
            jail.set_env("AUTH_OAUTH_KAKAO_CLIENT_ID", "123456789");
            jail.set_env("AUTH_OAUTH_NAVER_CLIENT_SECRET", "\"0042\"");
            jail.set_env("AUTH_OAUTH_NAVER_TOKEN_URL", "http://127.0.0.1:9/naver/token");
            jail.set_env("AUTH_OAUTH_STATE_TTL_SECONDS", "30");
            let s: super::super::Settings = Figment::new()
                .merge(Env::prefixed("AUTH_").split("__"))
                .extract()
                .unwrap();
            let o = &s.oauth;
            assert_eq!(o.public_url, "https://auth.example.com");
            assert_eq!(
                o.oauth_success_redirect.as_deref(),
                Some("https://app.example.com/done")
            );
            assert_eq!(o.oauth_state_ttl_seconds, 30);
            let g = o.provider(Provider::Google, "/picsel/").unwrap();
            assert_eq!(g.client_id, "123-abc.apps.googleusercontent.com");
            assert_eq!(
                g.redirect_url,
                "https://auth.example.com/picsel/api/auth/google/callback"
            );
            assert_eq!(g.token_url, "https://oauth2.googleapis.com/token");
            // An all-digit key is still a string.
            assert_eq!(o.provider(Provider::Kakao, "").unwrap().client_id, "123456789");
            assert_eq!(
                o.oauth_naver_client_secret
                    .as_ref()
                    .map(|s| s.expose_secret().to_owned()),
                Some("0042".to_owned())
            );
            assert!(o.provider(Provider::Naver, "").is_none());
            assert_eq!(o.oauth_naver_token_url, "http://127.0.0.1:9/naver/token");
            // Secrets never print.
            assert!(!format!("{s:?}").contains("g-secret"));
            o.validate().unwrap();
            Ok(())
        });
    }

    #[test]
    fn validation() {
        let mut o = OAuthSettings::default();
        o.validate().unwrap();
        o.oauth_google_client_id = Some("  ".into());
        assert!(o.provider(Provider::Google, "").is_none());
        o.oauth_google_client_id = Some("id".into());
        o.oauth_google_token_url = "oauth2.googleapis.com/token".into();
        assert!(o.validate().is_err());
        let mut o = OAuthSettings {
            oauth_success_redirect: Some("https://app.example.com/#x".into()),
            ..OAuthSettings::default()
        };
        assert!(o.validate().is_err());
        o.oauth_success_redirect = None;
        o.public_url = "auth.example.com".into();
        assert!(o.validate().is_err());
        let mut o = OAuthSettings::default();
        for good in [
            "https://app.example.com/oauth",
            "com.example.app:/oauth",
            "myapp://oauth/done",
        ] {
            o.oauth_app_redirect = Some(good.into());
            o.validate().unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for bad in [
            "",
            "/relative",
            "javascript:alert(1)",
            "data:text/html,x",
            "https://app.example.com/#x",
            "1app://x",
            "my app://x",
        ] {
            o.oauth_app_redirect = Some(bad.into());
            assert!(o.validate().is_err(), "{bad}");
        }
    }
}
