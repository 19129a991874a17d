//! The `oauth2` client types every provider uses.

use oauth2::basic::{BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse};
use oauth2::{EndpointNotSet, EndpointSet, StandardRevocableToken};

use super::token::LenientTokenResponse;

/// The `oauth2` client type used for every provider: auth and token
/// endpoints set, the others not; a token response lenient enough for Naver.
pub(super) type ProviderClient = oauth2::Client<
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
pub(super) type BareClient = oauth2::Client<
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

/// One enabled provider: its client and where its user info is read.
pub(super) struct Configured {
    pub(super) client: ProviderClient,
    pub(super) userinfo_url: reqwest::Url,
}
