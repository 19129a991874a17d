//! Every way one provider differs from the others, in one place.
//!
//! - Google: scope `openid email profile`; PKCE S256; the client secret in
//!   HTTP Basic authentication (Google accepts both `client_secret_basic`
//!   and `client_secret_post`).
//! - Kakao: scope items are comma-separated
//!   (`account_email,profile_nickname,profile_image`); PKCE S256; the
//!   client secret, when the app has one, in the form body; user info with
//!   `secure_resource=true` so picture URLs are `https`.
//! - Naver: no scope and no PKCE; the token request carries `state` and the
//!   secret in the body; `expires_in` is a string (`super::token`); token
//!   errors may come with status 200 (`super::token::token_error`); user
//!   info is wrapped in `{resultcode, message, response}` (`super::profile`).

use auth_domain::social::Provider;
use oauth2::AuthType;

/// The scope each provider is asked for. Kakao separates consent items with
/// commas, so its list is one "scope" value.
pub(super) fn scopes(provider: Provider) -> &'static [&'static str] {
    match provider {
        Provider::Google => &["openid", "email", "profile"],
        Provider::Kakao => &["account_email,profile_nickname,profile_image"],
        Provider::Naver => &[],
    }
}

/// Where the client secret goes in the token request.
pub(super) fn auth_type(provider: Provider) -> AuthType {
    match provider {
        Provider::Google => AuthType::BasicAuth,
        Provider::Kakao | Provider::Naver => AuthType::RequestBody,
    }
}

/// Whether the token request must carry the flow's `state` (Naver's token
/// endpoint requires it).
pub(super) fn token_request_carries_state(provider: Provider) -> bool {
    provider == Provider::Naver
}

/// Extra query parameters of the user-info request (Kakao: `https` picture
/// URLs).
pub(super) fn userinfo_query(provider: Provider) -> &'static [(&'static str, &'static str)] {
    match provider {
        Provider::Kakao => &[("secure_resource", "true")],
        Provider::Google | Provider::Naver => &[],
    }
}
