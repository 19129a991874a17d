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
/// `GET /.well-known/oauth-authorization-server` (RFC 8414): the same
/// document.
pub const AS_METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
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

/// The discovery document (OpenID Connect Discovery 1.0, RFC 8414):
/// exactly what is served. ID tokens are signed with RS256 (the default),
/// ES256 or EdDSA, whatever signs the access tokens.
pub fn discovery(keys: &TokenKeys) -> Value {
    use crate::provider::{AUTHORIZE_PATH, LOGOUT_PATH, REVOKE_PATH, TOKEN_PATH, USERINFO_PATH};
    let issuer = &keys.issuer;
    let mut access_algs: Vec<&str> = keys
        .codec
        .ring()
        .describe(chrono::Utc::now())
        .iter()
        .filter(|k| k.state != auth_infra::KeyState::Retired)
        .map(|k| k.alg.as_str())
        .collect();
    access_algs.push(keys.alg.as_str());
    access_algs.sort_unstable();
    access_algs.dedup();
    let id_algs: Vec<&str> = auth_domain::oidc::client::IdTokenAlg::ALL
        .iter()
        .map(|a| a.as_str())
        .collect();
    let client_auth = ["client_secret_basic", "client_secret_post", "none"];
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}{AUTHORIZE_PATH}"),
        "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
        "userinfo_endpoint": format!("{issuer}{USERINFO_PATH}"),
        "revocation_endpoint": format!("{issuer}{REVOKE_PATH}"),
        "end_session_endpoint": format!("{issuer}{LOGOUT_PATH}"),
        "introspection_endpoint": format!("{issuer}{INTROSPECT_PATH}"),
        "jwks_uri": format!("{issuer}{JWKS_PATH}"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "id_token_signing_alg_values_supported": id_algs,
        "access_token_signing_alg_values_supported": access_algs,
        "token_endpoint_auth_methods_supported": client_auth,
        "revocation_endpoint_auth_methods_supported": client_auth,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic"],
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": [
            "iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "nonce", "sid", "at_hash", "amr",
            "name", "preferred_username", "picture", "email", "email_verified"
        ],
        "subject_types_supported": ["public"],
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
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
    /// The OpenID client a client access token (RFC 9068) was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    /// Its scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
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

/// Whether the caller is a registered application (Basic) or the admin
/// (bearer `AUTH_ADMIN_TOKEN`, the check of every admin route); `Err` is
/// the answer to give.
async fn authenticate_client(state: &AppState, req: &HttpRequest) -> Result<(), HttpResponse> {
    let refused = || oauth_error(401, "invalid_client", "client authentication failed");
    if let Some((id, secret)) = crate::provider::token::basic(req).and_then(Result::ok) {
        if id.starts_with("oc_") {
            return match state
                .auth
                .provider()
                .authenticate_client(&id, Some(&secret))
                .await
            {
                Ok(_) => Ok(()),
                Err(auth_domain::oidc::grants::ClientAuthError::Invalid) => Err(refused()),
                Err(auth_domain::oidc::grants::ClientAuthError::Internal(e)) => {
                    tracing::error!(error = %e, "introspection: cannot check the client");
                    Err(unavailable())
                }
            };
        }
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
        client_id: None,
        scope: None,
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
            client_id: None,
            scope: None,
        },
        Ok(None) => match state.auth.provider().introspect_client_access(&token).await {
            Ok(Some(c)) => Introspection {
                active: true,
                sub: Some(c.sub),
                sid: c.sid.map(|s| s.to_string()),
                exp: Some(c.exp),
                iat: Some(c.iat),
                iss: Some(keys.issuer.clone()),
                aud: non_empty(keys.codec.audience()),
                token_type: Some("Bearer".into()),
                client_id: Some(c.client_id),
                scope: Some(c.scope),
            },
            Ok(None) => inactive(),
            Err(e) => {
                tracing::error!(error = %e, "introspection failed");
                return unavailable();
            }
        },
        Err(e) => {
            tracing::error!(error = %e, "introspection failed");
            return unavailable();
        }
    };
    HttpResponse::Ok().json(answer)
}

fn discovery_doc(id: &'static str) -> Op {
    Op::new("service", id, "Discovery document (OpenID Connect Discovery 1.0, RFC 8414)")
        .describe(
            "Exactly what is served: the issuer (`AUTH_PUBLIC_URL`), the authorization, token, \
             userinfo, revocation, end-session and introspection endpoints, `jwks_uri`, response \
             type `code`, the grants, PKCE `S256`, the ID-token algorithms (RS256, ES256, EdDSA), \
             client authentication methods, scopes and claims. The same document at \
             `/.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`.",
        )
        .raw(
            200,
            "The document.",
            "application/json",
            json!({"type": "object", "required": ["issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "response_types_supported", "id_token_signing_alg_values_supported"],
                "properties": {"issuer": {"type": "string"}, "authorization_endpoint": {"type": "string"}, "token_endpoint": {"type": "string"}, "jwks_uri": {"type": "string"},
                    "response_types_supported": {"type": "array", "items": {"type": "string"}},
                    "id_token_signing_alg_values_supported": {"type": "array", "items": {"type": "string"}}}}),
        )
}

fn discovery_route(path: &'static str, id: &'static str) -> Route {
    Route {
        method: Method::Get,
        path,
        id,
        to: || web::get().to(openid_configuration),
        rate_limit: None,
        access: Access::Public,
        doc: if path == DISCOVERY_PATH {
            || discovery_doc("service.openid_configuration")
        } else {
            || discovery_doc("service.oauth_authorization_server")
        },
    }
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
        discovery_route(DISCOVERY_PATH, "service.openid_configuration"),
        discovery_route(AS_METADATA_PATH, "service.oauth_authorization_server"),
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
