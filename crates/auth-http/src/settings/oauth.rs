//! Social login settings. They sit at the top level of [`super::Settings`]
//! (flattened), so the environment names are exactly `AUTH_PUBLIC_URL`,
//! `AUTH_OAUTH_SUCCESS_REDIRECT`, `AUTH_OAUTH_GOOGLE_CLIENT_ID`, … (figment
//! lowercases `AUTH_OAUTH_GOOGLE_CLIENT_ID` to the key
//! `oauth_google_client_id`). Each provider is one [`ProviderSettings`],
//! read from and written to the keys `oauth_{provider}_{field}`.

use std::time::Duration;

use auth_domain::social::Provider;
use auth_infra::OAuthProviderConfig;
use chrono::TimeDelta;
use figment::Figment;
use figment::providers::Serialized;
use figment::value::{Dict, Value};
use secrecy::SecretString;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::SettingsError;
use super::typed;

/// Social login configuration. A provider is enabled when its client id is
/// set (and not blank).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct OAuthSettings {
    /// This service's public base URL, as browsers and providers reach it
    /// (`AUTH_PUBLIC_URL`). Callback URLs are built from it:
    /// `{public_url}{picsel prefix}/api/auth/{provider}/callback`. Unset:
    /// the address the server listens on ([`public_url_of`]), so the
    /// issuer names the port it serves on.
    pub public_url: String,
    /// Whether [`Self::public_url`] was derived from the listen address
    /// (not set): a server bound to port 0 derives it again from the port
    /// it got.
    #[serde(skip)]
    pub public_url_from_bind: bool,
    /// Where a successful callback of a flow started in the browser (`GET
    /// /api/auth/{provider}`, bound by its cookie) sends the browser
    /// instead of answering JSON, with the tokens in the URL fragment
    /// (`AUTH_OAUTH_SUCCESS_REDIRECT`).
    #[serde(rename = "oauth_success_redirect")]
    pub success_redirect: Option<String>,
    /// Where a successful callback of a flow started by an application
    /// (`POST /api/auth/{provider}/login`, bound to no browser) sends the
    /// browser, with the tokens and the flow's `state` in the fragment
    /// (`AUTH_OAUTH_APP_REDIRECT`; an app's own scheme such as
    /// `com.example.app:/oauth` is allowed). Unset: such a callback answers
    /// the login JSON. Never the front end's redirect above: a flow not
    /// started in a browser must not be delivered as if it were (login
    /// CSRF).
    #[serde(rename = "oauth_app_redirect")]
    pub app_redirect: Option<String>,
    /// How long a started flow may take to come back
    /// (`AUTH_OAUTH_STATE_TTL_SECONDS`).
    #[serde(rename = "oauth_state_ttl_seconds", with = "typed::delta_seconds")]
    pub state_ttl: TimeDelta,
    /// How long one request to a provider may take
    /// (`AUTH_OAUTH_HTTP_TIMEOUT_SECONDS`).
    #[serde(rename = "oauth_http_timeout_seconds", with = "typed::seconds")]
    pub http_timeout: Duration,
    /// Google (`AUTH_OAUTH_GOOGLE_*`).
    #[serde(skip)]
    pub google: ProviderSettings,
    /// Kakao (`AUTH_OAUTH_KAKAO_*`; the client id is the REST API key, the
    /// secret only if the app enables one).
    #[serde(skip)]
    pub kakao: ProviderSettings,
    /// Naver (`AUTH_OAUTH_NAVER_*`).
    #[serde(skip)]
    pub naver: ProviderSettings,
    /// The WebAuthn relying-party id of passkeys (`AUTH_WEBAUTHN_RP_ID`).
    /// Unset: the host of [`Self::public_url`]. Passkeys are bound to it:
    /// changing it later orphans every registered passkey.
    #[serde(rename = "webauthn_rp_id")]
    pub webauthn_rp_id: Option<String>,
    /// The origins passkey ceremonies are accepted from, comma-separated
    /// (`AUTH_WEBAUTHN_ORIGINS`). Unset: the origin of
    /// [`Self::public_url`].
    #[serde(rename = "webauthn_origins")]
    pub webauthn_origins: Option<String>,
}

/// One provider's client and endpoints (`oauth_{provider}_client_id`,
/// `_client_secret`, `_authorize_url`, `_token_url`, `_userinfo_url`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ProviderSettings {
    /// OAuth client ID (`AUTH_OAUTH_{PROVIDER}_CLIENT_ID`).
    #[serde(default, deserialize_with = "string_or_number")]
    pub client_id: Option<String>,
    /// Client secret (`AUTH_OAUTH_{PROVIDER}_CLIENT_SECRET`).
    #[serde(
        default,
        deserialize_with = "secret_string_or_number",
        serialize_with = "super::strict::redacted"
    )]
    pub client_secret: Option<SecretString>,
    /// Authorization endpoint (`AUTH_OAUTH_{PROVIDER}_AUTHORIZE_URL`).
    pub authorize_url: String,
    /// Token endpoint (`AUTH_OAUTH_{PROVIDER}_TOKEN_URL`).
    pub token_url: String,
    /// User-info endpoint (`AUTH_OAUTH_{PROVIDER}_USERINFO_URL`).
    pub userinfo_url: String,
}

impl ProviderSettings {
    /// `provider`'s public endpoints, no client.
    pub fn defaults(provider: Provider) -> Self {
        let (authorize, token, userinfo) = match provider {
            Provider::Google => (
                "https://accounts.google.com/o/oauth2/v2/auth",
                "https://oauth2.googleapis.com/token",
                "https://openidconnect.googleapis.com/v1/userinfo",
            ),
            Provider::Kakao => (
                "https://kauth.kakao.com/oauth/authorize",
                "https://kauth.kakao.com/oauth/token",
                "https://kapi.kakao.com/v2/user/me",
            ),
            Provider::Naver => (
                "https://nid.naver.com/oauth2.0/authorize",
                "https://nid.naver.com/oauth2.0/token",
                "https://openapi.naver.com/v1/nid/me",
            ),
        };
        Self {
            client_id: None,
            client_secret: None,
            authorize_url: authorize.into(),
            token_url: token.into(),
            userinfo_url: userinfo.into(),
        }
    }

    /// `provider`'s settings from the flat keys `oauth_{provider}_*` of
    /// `keys`, its defaults for the endpoints not set.
    fn from_keys(keys: &Dict, provider: Provider) -> Result<Self, Box<figment::Error>> {
        let prefix = format!("oauth_{provider}_");
        let defaults = Self::defaults(provider);
        let mut own = Dict::new();
        for (field, url) in [
            ("authorize_url", defaults.authorize_url),
            ("token_url", defaults.token_url),
            ("userinfo_url", defaults.userinfo_url),
        ] {
            own.insert(field.to_owned(), Value::from(url));
        }
        for (key, value) in keys {
            if let Some(field) = key.strip_prefix(&prefix) {
                own.insert(field.to_owned(), value.clone());
            }
        }
        Figment::from(Serialized::defaults(own))
            .extract()
            .map_err(|mut e: figment::Error| {
                if let Some(field) = e.path.first_mut() {
                    *field = format!("{prefix}{field}");
                }
                Box::new(e)
            })
    }
}

impl Default for OAuthSettings {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            public_url_from_bind: false,
            success_redirect: None,
            app_redirect: None,
            state_ttl: TimeDelta::seconds(600),
            http_timeout: Duration::from_secs(10),
            google: ProviderSettings::defaults(Provider::Google),
            kakao: ProviderSettings::defaults(Provider::Kakao),
            naver: ProviderSettings::defaults(Provider::Naver),
            webauthn_rp_id: None,
            webauthn_origins: None,
        }
    }
}

/// The flat keys, each provider's as `oauth_{provider}_{field}`.
impl Serialize for OAuthSettings {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("public_url", &self.public_url)?;
        map.serialize_entry("oauth_success_redirect", &self.success_redirect)?;
        map.serialize_entry("oauth_app_redirect", &self.app_redirect)?;
        map.serialize_entry("oauth_state_ttl_seconds", &self.state_ttl.num_seconds())?;
        map.serialize_entry("oauth_http_timeout_seconds", &self.http_timeout.as_secs())?;
        map.serialize_entry("webauthn_rp_id", &self.webauthn_rp_id)?;
        map.serialize_entry("webauthn_origins", &self.webauthn_origins)?;
        for provider in Provider::ALL {
            let fields =
                serde_json::to_value(self.provider_settings(provider)).map_err(serde::ser::Error::custom)?;
            if let serde_json::Value::Object(fields) = fields {
                for (field, value) in fields {
                    map.serialize_entry(&format!("oauth_{provider}_{field}"), &value)?;
                }
            }
        }
        map.end()
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

/// The public URL of a server listening on `addr`, for when
/// `AUTH_PUBLIC_URL` is not set: `http://` and the address, with a
/// wildcard address (`0.0.0.0`, `[::]`) read as the loopback one of its
/// family (what a client on the same machine reaches).
pub fn public_url_of(addr: std::net::SocketAddr) -> String {
    let ip = match addr.ip() {
        std::net::IpAddr::V4(v4) if v4.is_unspecified() => {
            std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
        }
        std::net::IpAddr::V6(v6) if v6.is_unspecified() => {
            std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
        }
        ip => ip,
    };
    format!("http://{}", std::net::SocketAddr::new(ip, addr.port()))
}

impl OAuthSettings {
    /// Reads the flow settings and each provider's from `figment`.
    ///
    /// # Errors
    /// figment's, with the flat key.
    pub(super) fn from_figment(figment: &Figment) -> Result<Self, Box<figment::Error>> {
        let mut settings: Self = figment.extract()?;
        let keys: Dict = figment.extract()?;
        for provider in Provider::ALL {
            *settings.provider_settings_mut(provider) = ProviderSettings::from_keys(&keys, provider)?;
        }
        Ok(settings)
    }

    /// `provider`'s settings.
    pub fn provider_settings(&self, provider: Provider) -> &ProviderSettings {
        match provider {
            Provider::Google => &self.google,
            Provider::Kakao => &self.kakao,
            Provider::Naver => &self.naver,
        }
    }

    /// `provider`'s settings, to change.
    pub fn provider_settings_mut(&mut self, provider: Provider) -> &mut ProviderSettings {
        match provider {
            Provider::Google => &mut self.google,
            Provider::Kakao => &mut self.kakao,
            Provider::Naver => &mut self.naver,
        }
    }

    /// Points every endpoint of every provider at `base` (for a local fake
    /// provider): `{base}/{provider}/authorize`, `/token`, `/userinfo`.
    pub fn point_all_providers_at(&mut self, base: &str) {
        let base = base.trim_end_matches('/');
        for provider in Provider::ALL {
            let p = self.provider_settings_mut(provider);
            p.authorize_url = format!("{base}/{provider}/authorize");
            p.token_url = format!("{base}/{provider}/token");
            p.userinfo_url = format!("{base}/{provider}/userinfo");
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
        let p = self.provider_settings(provider);
        let id = p
            .client_id
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty())?;
        Some(OAuthProviderConfig {
            client_id: id.to_owned(),
            client_secret: p.client_secret.clone(),
            authorize_url: p.authorize_url.trim().to_owned(),
            token_url: p.token_url.trim().to_owned(),
            userinfo_url: p.userinfo_url.trim().to_owned(),
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
        if let Some(url) = &self.success_redirect
            && (!is_http_url(url) || url.contains('#'))
        {
            return bad(format!(
                "oauth_success_redirect must be an absolute http(s) URL without a fragment, not {url:?}"
            ));
        }
        if let Some(url) = &self.app_redirect
            && !is_app_redirect(url)
        {
            return bad(format!(
                "oauth_app_redirect must be an absolute URL (http(s) or an application's own scheme) \
                 without a fragment, not {url:?}"
            ));
        }
        if self.state_ttl <= TimeDelta::zero() || self.http_timeout.is_zero() {
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

impl OAuthSettings {
    /// The passkey relying party: its id (`AUTH_WEBAUTHN_RP_ID`, else the
    /// public URL's host) and its allowed origins (`AUTH_WEBAUTHN_ORIGINS`,
    /// else the public URL's origin). Blank values count as unset.
    pub fn webauthn(&self) -> (String, Vec<String>) {
        let public = self.public_url.trim_end_matches('/');
        let after_scheme = public.split_once("://").map_or(public, |(_, rest)| rest);
        let authority = after_scheme.split('/').next().unwrap_or(after_scheme);
        let host = authority
            .rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(authority, |(host, _)| host);
        let rp_id = self
            .webauthn_rp_id
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .unwrap_or(host)
            .to_owned();
        let scheme_end = public.find("://").map_or(0, |i| i + 3);
        let origin = format!("{}{authority}", &public[..scheme_end]);
        let origins: Vec<String> = self
            .webauthn_origins
            .as_deref()
            .map(|v| {
                v.split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .filter(|o: &Vec<String>| !o.is_empty())
            .unwrap_or_else(|| vec![origin]);
        (rp_id, origins)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::Figment;
    use figment::providers::Env;
    use secrecy::ExposeSecret;

    #[test]
    fn the_passkey_relying_party_defaults_to_the_public_url_and_blanks_count_as_unset() {
        let mut s = OAuthSettings {
            public_url: "https://login.example.com:8443/auth/".into(),
            ..OAuthSettings::default()
        };
        let derived = (
            "login.example.com".to_owned(),
            vec!["https://login.example.com:8443".to_owned()],
        );
        assert_eq!(s.webauthn(), derived);
        s.webauthn_rp_id = Some("  ".into());
        s.webauthn_origins = Some(" , ".into());
        assert_eq!(s.webauthn(), derived, "blank settings are unset");
        s.webauthn_rp_id = Some("example.com".into());
        s.webauthn_origins = Some("https://a.example.com/, https://b.example.com".into());
        assert_eq!(
            s.webauthn(),
            (
                "example.com".to_owned(),
                vec![
                    "https://a.example.com".to_owned(),
                    "https://b.example.com".to_owned()
                ]
            )
        );
    }

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
            let s = super::super::Settings::from_figment(
                &Figment::new().merge(Env::prefixed("AUTH_").split("__")),
            )
            .unwrap();
            let o = &s.oauth;
            assert_eq!(o.public_url, "https://auth.example.com");
            assert_eq!(
                o.success_redirect.as_deref(),
                Some("https://app.example.com/done")
            );
            assert_eq!(o.state_ttl.num_seconds(), 30);
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
                o.naver
                    .client_secret
                    .as_ref()
                    .map(|s| s.expose_secret().to_owned()),
                Some("0042".to_owned())
            );
            assert!(o.provider(Provider::Naver, "").is_none());
            assert_eq!(o.naver.token_url, "http://127.0.0.1:9/naver/token");
            // Secrets never print.
            assert!(!format!("{s:?}").contains("g-secret"));
            o.validate().unwrap();
            Ok(())
        });
    }

    #[test]
    // `Jail`'s closure returns figment's own (large) error type.
    #[allow(clippy::result_large_err)]
    fn a_bad_provider_value_names_its_flat_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("AUTH_OAUTH_GOOGLE_TOKEN_URL", "5");
            let err = super::super::Settings::from_figment(
                &Figment::new().merge(Env::prefixed("AUTH_").split("__")),
            )
            .unwrap_err();
            assert_eq!(err.path, ["oauth_google_token_url"]);
            Ok(())
        });
    }

    #[test]
    fn validation() {
        let mut o = OAuthSettings::default();
        o.validate().unwrap();
        o.google.client_id = Some("  ".into());
        assert!(o.provider(Provider::Google, "").is_none());
        o.google.client_id = Some("id".into());
        o.google.token_url = "oauth2.googleapis.com/token".into();
        assert!(o.validate().is_err());
        let mut o = OAuthSettings {
            success_redirect: Some("https://app.example.com/#x".into()),
            ..OAuthSettings::default()
        };
        assert!(o.validate().is_err());
        o.success_redirect = None;
        o.public_url = "auth.example.com".into();
        assert!(o.validate().is_err());
        let mut o = OAuthSettings::default();
        for good in [
            "https://app.example.com/oauth",
            "com.example.app:/oauth",
            "myapp://oauth/done",
        ] {
            o.app_redirect = Some(good.into());
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
            o.app_redirect = Some(bad.into());
            assert!(o.validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn an_unset_public_url_is_the_listen_address() {
        let url = |a: &str| public_url_of(a.parse().unwrap());
        assert_eq!(url("127.0.0.1:18089"), "http://127.0.0.1:18089");
        assert_eq!(url("0.0.0.0:8080"), "http://127.0.0.1:8080");
        assert_eq!(url("[::]:8443"), "http://[::1]:8443");
        assert_eq!(url("[2001:db8::7]:80"), "http://[2001:db8::7]:80");
        assert_eq!(url("10.0.0.5:9000"), "http://10.0.0.5:9000");
    }
}
