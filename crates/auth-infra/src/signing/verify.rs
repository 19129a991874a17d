//! What every verifier of our JWTs shares: the refusal of headers that
//! point at a key of their own, and the decode with the key's algorithm
//! pinned (access tokens, typed `at+jwt` tokens and ID tokens).

use auth_domain::sessions::token::TokenError;

use super::SigningKey;

/// The header of `token`, refused when it points at a key of its own
/// (`jku`, `x5u`, `jwk`, `x5c`) or asks for extensions (`crit`): every
/// token of ours is verified with a key of our rings only, looked up by
/// `kid`. The one place the access, typed and ID-token verifiers check it.
///
/// # Errors
/// [`TokenError::Invalid`].
pub(crate) fn own_key_header(token: &str) -> Result<jsonwebtoken::Header, TokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
    if header.jku.is_some()
        || header.x5u.is_some()
        || header.jwk.is_some()
        || header.x5c.is_some()
        || header.crit.is_some()
    {
        return Err(TokenError::Invalid);
    }
    Ok(header)
}

/// The claims of `token` signed by `key`: the header's `alg` must be the
/// key's (pinned), the signature valid and `required` claims present;
/// expiry and audience are the caller's to check (against its clock).
///
/// # Errors
/// [`TokenError::Invalid`].
pub(crate) fn decode_with<T: serde::de::DeserializeOwned>(
    token: &str,
    header: &jsonwebtoken::Header,
    key: &SigningKey,
    required: &[&str],
) -> Result<T, TokenError> {
    if header.alg != key.alg().jwt() {
        return Err(TokenError::Invalid);
    }
    let mut validation = jsonwebtoken::Validation::new(key.alg().jwt());
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.leeway = 0;
    validation.set_required_spec_claims(required);
    jsonwebtoken::decode::<T>(token, key.decoding(), &validation)
        .map(|data| data.claims)
        .map_err(|_| TokenError::Invalid)
}
