//! Token responses and token errors, as lenient as the providers need.

use std::time::Duration;

use auth_domain::PortError;
use auth_domain::social::{Provider, SocialProviderError};
use oauth2::basic::BasicErrorResponse;
use oauth2::{AccessToken, RefreshToken, RequestTokenError, Scope, TokenResponse};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::transport::{TransportError, snippet};

/// An OAuth error body (`{"error": "...", "error_description": "..."}`).
#[derive(Deserialize)]
pub(super) struct ErrorBody {
    error: String,
    error_description: Option<String>,
}

pub(super) fn token_error(
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
pub(super) struct AnyTokenType(String);

impl oauth2::TokenType for AnyTokenType {}

/// A token response that accepts Naver's string `expires_in` and ignores
/// everything but what is used.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct LenientTokenResponse {
    access_token: AccessToken,
    #[serde(default = "bearer")]
    token_type: AnyTokenType,
    #[serde(default, deserialize_with = "number_or_string")]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<RefreshToken>,
}

pub(super) fn bearer() -> AnyTokenType {
    AnyTokenType("bearer".into())
}

pub(super) fn number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
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
    use super::*;

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
