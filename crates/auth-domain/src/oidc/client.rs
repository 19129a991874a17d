//! OAuth clients (relying parties) an administrator registers: what each
//! may ask for, and the checks of a registration.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// The grants a client may use (RFC 6749 §1.3, OAuth 2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantType {
    /// `authorization_code` (with PKCE).
    AuthorizationCode,
    /// `refresh_token`.
    RefreshToken,
    /// `client_credentials` (confidential clients only).
    ClientCredentials,
}

impl GrantType {
    /// Every grant, in the order documents list them.
    pub const ALL: [Self; 3] = [
        Self::AuthorizationCode,
        Self::RefreshToken,
        Self::ClientCredentials,
    ];

    /// Its registered name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
        }
    }

    /// From its registered name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == raw)
    }
}

/// How a client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// HTTP Basic with the client id and secret.
    ClientSecretBasic,
    /// `client_id` and `client_secret` form fields.
    ClientSecretPost,
    /// A public client (no secret; PKCE is its proof).
    None,
}

impl AuthMethod {
    /// Every method.
    pub const ALL: [Self; 3] = [Self::ClientSecretBasic, Self::ClientSecretPost, Self::None];

    /// Its registered name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
        }
    }

    /// From its registered name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == raw)
    }
}

/// The algorithms an ID token can be signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdTokenAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (the default; every library has it).
    Rs256,
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// Ed25519.
    EdDsa,
}

impl IdTokenAlg {
    /// Every algorithm.
    pub const ALL: [Self; 3] = [Self::Rs256, Self::Es256, Self::EdDsa];

    /// Its JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// From its JOSE name (exact).
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == raw)
    }

    /// `at_hash` of `access_token` for an ID token of this algorithm
    /// (OpenID Connect Core §3.1.3.6): the left half of the hash the
    /// algorithm uses (SHA-256; SHA-512 for Ed25519), base64url.
    pub fn at_hash(self, access_token: &str) -> String {
        let digest: Vec<u8> = match self {
            Self::Rs256 | Self::Es256 => Sha256::digest(access_token.as_bytes()).to_vec(),
            Self::EdDsa => sha2::Sha512::digest(access_token.as_bytes()).to_vec(),
        };
        base64url(&digest[..digest.len() / 2])
    }
}

/// Base64url without padding (RFC 4648 §5).
pub(crate) fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// A registered client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    /// The `client_id`.
    pub client_id: String,
    /// A display name (the consent page shows it).
    pub name: String,
    /// SHA-256 (hex) of the secret; `None` for a public client.
    pub secret_hash: Option<String>,
    /// Where codes may be sent, compared exactly.
    pub redirect_uris: Vec<String>,
    /// Where `/oauth2/logout` may send the browser back, compared exactly.
    pub post_logout_redirect_uris: Vec<String>,
    /// The grants it may use.
    pub grant_types: Vec<GrantType>,
    /// How it authenticates.
    pub auth_method: AuthMethod,
    /// The scopes it may ask for.
    pub scopes: Vec<String>,
    /// First-party clients are not asked for consent.
    pub first_party: bool,
    /// The algorithm of its ID tokens.
    pub id_token_alg: IdTokenAlg,
    /// Where a back-channel logout token is posted, if anywhere.
    pub backchannel_logout_uri: Option<String>,
    /// Whether it hears of the end of every session of every user (a
    /// service that accepts the contracts' access tokens), not only of the
    /// sessions that issued it tokens: its back-channel logout URI and its
    /// feed (`POST /ssf/poll`) then carry them all. Confidential clients
    /// only.
    pub all_sessions: bool,
    /// Registration time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl OAuthClient {
    /// Whether it may use `grant`.
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Whether it is a public client (no secret).
    pub fn is_public(&self) -> bool {
        self.auth_method == AuthMethod::None
    }

    /// Whether `secret` is its secret (constant time over the digests).
    pub fn secret_matches(&self, secret: &str) -> bool {
        let Some(stored) = &self.secret_hash else {
            return false;
        };
        let given = secret_hash(secret);
        given.len() == stored.len()
            && given
                .bytes()
                .zip(stored.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// Whether every scope of `scopes` is registered for it.
    pub fn may_ask(&self, scopes: &[String]) -> bool {
        scopes.iter().all(|s| self.scopes.contains(s))
    }
}

/// How client secrets are stored: SHA-256, hex. Secrets are 256 random
/// bits made by this service, so a fast hash is enough: nothing to guess.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// What an administrator registers or changes (every field checked by
/// [`ClientSpec::check`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSpec {
    /// Display name, 1 to 100 characters.
    pub name: String,
    /// Redirect URIs (absolute, no fragment); at least one when the client
    /// may use `authorization_code`.
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URIs (absolute, no fragment).
    pub post_logout_redirect_uris: Vec<String>,
    /// Grants, at least one.
    pub grant_types: Vec<GrantType>,
    /// Authentication method.
    pub auth_method: AuthMethod,
    /// Scopes, at least one.
    pub scopes: Vec<String>,
    /// Skip consent.
    pub first_party: bool,
    /// ID token algorithm.
    pub id_token_alg: IdTokenAlg,
    /// Back-channel logout URI (absolute), if any.
    pub backchannel_logout_uri: Option<String>,
    /// Hear of every session's end ([`OAuthClient::all_sessions`]).
    pub all_sessions: bool,
}

/// Why a registration is refused: the field and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct SpecError {
    /// The JSON field (`redirectUris`, …).
    pub field: &'static str,
    /// What is wrong, in English.
    pub problem: String,
}

fn refuse(field: &'static str, problem: impl Into<String>) -> SpecError {
    SpecError {
        field,
        problem: problem.into(),
    }
}

/// Whether `uri` is an absolute URI we can redirect to: a scheme, no
/// fragment, no whitespace or control characters, at most 2,000 bytes; a
/// web URI needs a host.
pub fn is_redirect_uri(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme.len() >= 2
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let web = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    scheme_ok
        && uri.len() <= 2000
        && !uri.contains('#')
        && !uri.chars().any(|c| c.is_whitespace() || c.is_control())
        && (!web
            || rest
                .strip_prefix("//")
                .is_some_and(|r| !r.is_empty() && !r.starts_with('/')))
}

/// Whether `scope` is a scope token (RFC 6749 §3.3).
pub fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope.len() <= 100
        && scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

impl ClientSpec {
    /// Checks every field; duplicates are dropped.
    ///
    /// # Errors
    /// [`SpecError`] naming the first wrong field.
    pub fn check(mut self) -> Result<Self, SpecError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(refuse("name", "1 to 100 characters, no control characters"));
        }
        self.name = name.to_owned();
        for (field, uris) in [
            ("redirectUris", &mut self.redirect_uris),
            ("postLogoutRedirectUris", &mut self.post_logout_redirect_uris),
        ] {
            if uris.len() > 20 {
                return Err(refuse(field, "at most 20"));
            }
            if let Some(bad) = uris.iter().find(|u| !is_redirect_uri(u)) {
                return Err(refuse(
                    field,
                    format!("not an absolute URI without fragment: {bad:?}"),
                ));
            }
            dedup(uris);
        }
        dedup(&mut self.grant_types);
        if self.grant_types.is_empty() {
            return Err(refuse("grantTypes", "at least one grant"));
        }
        if self.grant_types.contains(&GrantType::AuthorizationCode) && self.redirect_uris.is_empty() {
            return Err(refuse("redirectUris", "authorization_code needs at least one"));
        }
        if self.auth_method == AuthMethod::None && self.grant_types.contains(&GrantType::ClientCredentials) {
            return Err(refuse(
                "grantTypes",
                "client_credentials needs a confidential client (not tokenEndpointAuthMethod none)",
            ));
        }
        dedup(&mut self.scopes);
        if self.scopes.is_empty() || self.scopes.len() > 50 {
            return Err(refuse("scopes", "1 to 50 scopes"));
        }
        if let Some(bad) = self.scopes.iter().find(|s| !is_scope_token(s)) {
            return Err(refuse("scopes", format!("not a scope token: {bad:?}")));
        }
        if let Some(uri) = &self.backchannel_logout_uri
            && !(is_redirect_uri(uri) && (uri.starts_with("http://") || uri.starts_with("https://")))
        {
            return Err(refuse("backchannelLogoutUri", "not an absolute http(s) URI"));
        }
        if self.all_sessions && self.auth_method == AuthMethod::None {
            return Err(refuse(
                "allSessions",
                "every session's end is for a confidential client (not tokenEndpointAuthMethod none)",
            ));
        }
        Ok(self)
    }
}

fn dedup<T: PartialEq + Clone>(items: &mut Vec<T>) {
    let mut seen: Vec<T> = Vec::with_capacity(items.len());
    items.retain(|i| {
        if seen.contains(i) {
            false
        } else {
            seen.push(i.clone());
            true
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_rfc_4648_vectors() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn pkce_s256_of_the_rfc_7636_example() {
        // RFC 7636 appendix B.
        let challenge = base64url(&Sha256::digest(b"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assert_eq!(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn redirect_uris_must_be_absolute_without_fragment() {
        assert!(is_redirect_uri("https://app.example.com/cb"));
        assert!(is_redirect_uri("http://127.0.0.1:3000/cb?x=1"));
        assert!(is_redirect_uri("com.example.app:/callback"));
        for bad in [
            "/cb",
            "https://app/cb#x",
            "https:///cb",
            "javascript",
            "https://a b",
            "x:y",
        ] {
            assert!(!is_redirect_uri(bad), "{bad}");
        }
    }
}
