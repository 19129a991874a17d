//! Tokens other services verify on their own: the public keys
//! (`GET /.well-known/jwks.json`), discovery
//! (`GET /.well-known/openid-configuration`), RFC 7662 introspection
//! (`POST /oauth2/introspect`). Key rotation (`POST /internal/keys/rotate`)
//! is the admin API's ([`crate::admin::keys`]). See
//! `docs/verify-tokens.md`.
//!
//! Fixed paths (no contract prefix applies), not rate limited: the
//! documents are cacheable and cost nothing, introspection is for
//! authenticated services whose secrets cannot be guessed online.

use actix_web::http::header::{self, ContentType, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::body::read_bytes;
use crate::openapi::Op;
use crate::routes::{Access, Method, Route};
use crate::startup::TokenKeys;
use crate::state::AppState;

/// `GET /.well-known/jwks.json`.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// `GET /.well-known/openid-configuration`.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
/// `POST /oauth2/introspect`.
pub const INTROSPECT_PATH: &str = "/oauth2/introspect";

/// Seconds verifiers may cache the key set: at most 5 minutes, and at most
/// half the pre-publication period, so a pre-published key reaches every
/// cache before it signs.
fn jwks_max_age(keys: &TokenKeys) -> i64 {
    (keys.prepublish.num_seconds() / 2).clamp(0, 300)
}

/// `GET /.well-known/jwks.json`: every public key that may verify a live
/// token (pending, active, retiring), with `kid`, `alg`, `use`: the access
/// keys (none in the HS256 mode) first, then the ID-token keys (RS256,
/// ES256, EdDSA).
pub async fn jwks(keys: web::Data<TokenKeys>) -> HttpResponse {
    let now = chrono::Utc::now();
    let mut body = keys.codec.ring().jwks(now);
    if let Some(Value::Array(published)) = body.get_mut("keys") {
        published.extend(keys.id_keys.jwks_keys(now));
    }
    HttpResponse::Ok()
        .insert_header((
            header::CACHE_CONTROL,
            format!("public, max-age={}", jwks_max_age(&keys)),
        ))
        .content_type("application/jwk-set+json")
        .json(body)
}

/// The discovery document.
fn discovery(keys: &TokenKeys) -> Value {
    let issuer = &keys.issuer;
    let algs: Vec<&str> = if keys.alg.is_asymmetric() {
        let mut algs: Vec<&str> = keys
            .codec
            .ring()
            .describe(chrono::Utc::now())
            .iter()
            .filter(|k| k.state != auth_infra::KeyState::Retired)
            .map(|k| k.alg.as_str())
            .collect();
        algs.push(keys.alg.as_str());
        algs.sort_unstable();
        algs.dedup();
        algs
    } else {
        vec![keys.alg.as_str()]
    };
    json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}{JWKS_PATH}"),
        "introspection_endpoint": format!("{issuer}{INTROSPECT_PATH}"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic"],
        "id_token_signing_alg_values_supported": algs,
        "access_token_signing_alg_values_supported": algs,
        "subject_types_supported": ["public"],
        "response_types_supported": ["token"],
        "grant_types_supported": ["password", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["none"],
        "claims_supported": ["iss", "aud", "sub", "sid", "iat", "exp", "typ"],
    })
}

/// `GET /.well-known/openid-configuration`.
pub async fn openid_configuration(keys: web::Data<TokenKeys>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            header::CACHE_CONTROL,
            format!("public, max-age={}", jwks_max_age(&keys)),
        ))
        .json(discovery(&keys))
}

/// RFC 7662 answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Introspection {
    /// Whether the token is a live access token.
    active: bool,
    /// The user's UUID.
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    /// The session.
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    /// Expiry, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    /// Issue time, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    /// The issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    /// The audience.
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
    /// `Bearer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<String>,
}

/// An OAuth error (RFC 6749 §5.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthError {
    /// `invalid_client`, `invalid_request`, `temporarily_unavailable`.
    error: String,
    /// What is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    error_description: Option<String>,
}

fn oauth_error(status: u16, error: &str, description: &str) -> HttpResponse {
    let mut reply = HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::BAD_REQUEST),
    );
    if status == 401 {
        reply.insert_header((
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"introspection\""),
        ));
    }
    reply.content_type(ContentType::json()).json(OAuthError {
        error: error.to_owned(),
        error_description: Some(description.to_owned()),
    })
}

/// HTTP Basic credentials, if the header is one.
fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    use base64::Engine as _;
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    // RFC 6749 §2.3.1: form-encoded before base64.
    let unescape = |s: &str| {
        web::Query::<std::collections::HashMap<String, String>>::from_query(&format!("v={s}"))
            .ok()
            .and_then(|q| q.get("v").cloned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

/// Whether the caller is a registered application (Basic) or the admin
/// (bearer `AUTH_ADMIN_TOKEN`, the check of every admin route); `Err` is
/// the answer to give.
async fn authenticate_client(state: &AppState, req: &HttpRequest) -> Result<(), HttpResponse> {
    let refused = || oauth_error(401, "invalid_client", "client authentication failed");
    if let Some((id, secret)) = basic_credentials(req) {
        return match state.auth.apps().verify_app_client(&id, &secret).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(refused()),
            Err(e) => {
                tracing::error!(error = %e, "introspection: cannot check the client");
                Err(unavailable())
            }
        };
    }
    crate::admin::authorize(state, req).map_err(|_| refused())
}

fn unavailable() -> HttpResponse {
    oauth_error(503, "temporarily_unavailable", "the service cannot answer now")
}

/// `POST /oauth2/introspect` with a form `token=`: whether it is a live
/// access token of ours, and its claims when it is.
pub async fn introspect(
    state: web::Data<AppState>,
    keys: web::Data<TokenKeys>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    if let Err(answer) = authenticate_client(&state, &req).await {
        return answer;
    }
    let Ok(bytes) = read_bytes(payload, state.max_body_bytes).await else {
        return oauth_error(400, "invalid_request", "the body is unreadable or too large");
    };
    let form = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|s| web::Query::<std::collections::HashMap<String, String>>::from_query(s).ok());
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let token = form
        .as_ref()
        .filter(|_| is_form)
        .and_then(|f| f.get("token").cloned())
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return oauth_error(
            400,
            "invalid_request",
            "send the token as an application/x-www-form-urlencoded `token` field",
        );
    };
    let inactive = || Introspection {
        active: false,
        sub: None,
        sid: None,
        exp: None,
        iat: None,
        iss: None,
        aud: None,
        token_type: None,
    };
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let answer = match state.auth.sessions().introspect(&token).await {
        Ok(Some(claims)) => Introspection {
            active: true,
            sub: Some(claims.sub.to_string()),
            sid: Some(claims.sid.as_uuid().to_string()),
            exp: Some(claims.exp),
            iat: Some(claims.iat),
            iss: non_empty(keys.codec.issuer()),
            aud: non_empty(keys.codec.audience()),
            token_type: Some("Bearer".into()),
        },
        Ok(None) => inactive(),
        Err(e) => {
            tracing::error!(error = %e, "introspection failed");
            return unavailable();
        }
    };
    HttpResponse::Ok().json(answer)
}

/// The routes.
pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: Method::Get,
            path: JWKS_PATH,
            id: "service.jwks",
            to: || web::get().to(jwks),
            rate_limit: None,
            access: Access::Public,
            doc: || {
                Op::new("service", "service.jwks", "Public keys of access and ID tokens (JWKS)")
                    .describe(
                        "Every key that may verify a live access token or ID token: the active \
                         ones, pre-published ones, and superseded ones until their tokens have \
                         expired. Access-token keys first (none in the legacy HS256 mode), then \
                         the ID-token keys, one or more each of RS256, ES256 and EdDSA (in every \
                         mode). Cacheable (`Cache-Control: public, max-age=…`); refetch on an \
                         unknown `kid`.",
                    )
                    .raw(
                        200,
                        "The key set (RFC 7517).",
                        "application/jwk-set+json",
                        json!({"type": "object", "required": ["keys"], "properties": {"keys": {"type": "array", "items": {
                            "type": "object", "required": ["kty", "kid", "alg", "use"],
                            "properties": {"kty": {"type": "string"}, "kid": {"type": "string"}, "alg": {"type": "string"}, "use": {"const": "sig"}},
                        }}}}),
                    )
            },
        },
        Route {
            method: Method::Get,
            path: DISCOVERY_PATH,
            id: "service.openid_configuration",
            to: || web::get().to(openid_configuration),
            rate_limit: None,
            access: Access::Public,
            doc: || {
                Op::new("service", "service.openid_configuration", "Discovery document")
                    .describe(
                        "`issuer` (`AUTH_PUBLIC_URL`), `jwks_uri`, `introspection_endpoint` and the \
                         signing algorithms, so a verifier configures itself from the issuer URL.",
                    )
                    .raw(
                        200,
                        "The document (OpenID Connect Discovery / RFC 8414 fields).",
                        "application/json",
                        json!({"type": "object", "required": ["issuer", "jwks_uri", "introspection_endpoint", "id_token_signing_alg_values_supported"],
                            "properties": {"issuer": {"type": "string"}, "jwks_uri": {"type": "string"}, "introspection_endpoint": {"type": "string"},
                                "id_token_signing_alg_values_supported": {"type": "array", "items": {"type": "string"}}}}),
                    )
            },
        },
        Route {
            method: Method::Post,
            path: INTROSPECT_PATH,
            id: "service.introspect",
            to: || web::post().to(introspect),
            rate_limit: None,
            access: Access::Public,
            doc: || {
                Op::new("service", "service.introspect", "Is this access token live? (RFC 7662)")
                    .describe(
                        "For services that need instant revocation: `{\"active\": false}` for \
                         anything that is not a live access token (expired, forged, logged out, \
                         revoked, user withdrawn, password reset, refresh tokens). Authenticated \
                         with HTTP Basic (a registered application's `appId` and `secret`) or the \
                         admin bearer token.",
                    )
                    .security_any(&["appClient", "adminToken"])
                    .raw_body(
                        "application/x-www-form-urlencoded",
                        "`token`: the access token (`token_type_hint` is ignored).",
                        "token=eyJhbGciOiJFUzI1NiIsImtpZCI6Ii4uLiJ9…",
                    )
                    .reply::<Introspection>(
                        200,
                        "The verdict.",
                        json!({"active": true, "sub": "550e8400-e29b-41d4-a716-446655440000", "sid": "0192f0c1-7c1e-7a55-9d8e-3f5b2a1c4d6e", "exp": 1_719_581_967, "iat": 1_719_580_167, "iss": "https://auth.example.com", "aud": "https://auth.example.com", "token_type": "Bearer"}),
                    )
                    .reply::<OAuthError>(
                        400,
                        "No `token` field in a form body.",
                        json!({"error": "invalid_request", "error_description": "send the token as an application/x-www-form-urlencoded `token` field"}),
                    )
                    .reply::<OAuthError>(
                        401,
                        "No or wrong client credentials (with `WWW-Authenticate: Basic`).",
                        json!({"error": "invalid_client", "error_description": "client authentication failed"}),
                    )
                    .reply::<OAuthError>(
                        503,
                        "The service cannot answer now.",
                        json!({"error": "temporarily_unavailable", "error_description": "the service cannot answer now"}),
                    )
            },
        },
    ]
}
