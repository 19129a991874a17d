//! The client endpoints: `POST /oauth2/token` (RFC 6749 §3.2, OAuth 2.1),
//! `GET|POST /oauth2/userinfo` (OpenID Connect Core §5.3) and
//! `POST /oauth2/revoke` (RFC 7009). Errors are RFC 6749 §5.2 JSON
//! (`{"error", "error_description"}`), never a 5xx but 503
//! `temporarily_unavailable`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use auth_domain::oidc::client::OAuthClient;
use auth_domain::oidc::grants::{ClientAuthError, GrantError, TokenResponse, UserinfoError};

use super::Form;
use crate::body::read_bytes;
use crate::contracts::bearer_token;
use crate::openapi::Op;
use crate::state::AppState;

/// An OAuth error (RFC 6749 §5.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthErrorBody {
    /// The error code.
    error: String,
    /// What is wrong.
    error_description: String,
}

/// The answer of a grant (RFC 6749 §5.1).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenBody {
    /// An RFC 9068 access token (`typ: at+jwt`).
    access_token: String,
    /// `Bearer`.
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: i64,
    /// The granted scopes.
    scope: String,
    /// The ID token, when `openid` was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
    /// A refresh token, when the client may use the `refresh_token` grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

fn no_store(mut reply: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    reply
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")));
    reply
}

/// An RFC 6749 §5.2 error; 401 `invalid_client` carries
/// `WWW-Authenticate: Basic`.
pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    let mut reply = no_store(HttpResponse::build(status));
    if status == StatusCode::UNAUTHORIZED {
        reply.insert_header((
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"oauth2\""),
        ));
    }
    reply.content_type(ContentType::json()).json(OAuthErrorBody {
        error: error.to_owned(),
        error_description: description.to_owned(),
    })
}

fn unavailable(e: &dyn std::fmt::Display) -> HttpResponse {
    tracing::error!(error = %e, "oauth endpoint failed");
    oauth_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "the service cannot answer now",
    )
}

fn invalid_request(description: &str) -> HttpResponse {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// The form body of a client request: `application/x-www-form-urlencoded`,
/// no repeated parameter.
pub async fn client_form(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<Form, HttpResponse> {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let bytes = read_bytes(payload, state.max_body_bytes)
        .await
        .map_err(|_| invalid_request("the body is unreadable or too large"))?;
    if !is_form && !bytes.is_empty() {
        return Err(invalid_request(
            "send the parameters as application/x-www-form-urlencoded",
        ));
    }
    std::str::from_utf8(&bytes)
        .ok()
        .and_then(Form::parse)
        .ok_or_else(|| invalid_request("malformed or repeated parameters"))
}

/// HTTP Basic credentials (RFC 6749 §2.3.1: form-encoded, then base64),
/// `Some(Err)` when the header is Basic but unreadable.
pub(crate) fn basic(req: &HttpRequest) -> Option<Result<(String, String), ()>> {
    use base64::Engine as _;
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|d| String::from_utf8(d).ok());
    let Some((id, secret)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
        return Some(Err(()));
    };
    let unescape = |s: &str| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
            .ok()
            .and_then(|v| v.into_iter().next().map(|(_, v)| v))
    };
    Some(match (unescape(id), unescape(secret)) {
        (Some(i), Some(s)) => Ok((i, s)),
        _ => Err(()),
    })
}

/// Authenticates the client of a request: HTTP Basic, or `client_id` (and
/// `client_secret`) form fields; both at once is `invalid_request`.
pub async fn client_of(
    state: &AppState,
    req: &HttpRequest,
    form: &Form,
) -> Result<OAuthClient, HttpResponse> {
    let refused = || {
        oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        )
    };
    let (id, secret) = match basic(req) {
        Some(Ok(_)) if form.get("client_secret").is_some() => {
            return Err(invalid_request("use one client authentication method"));
        }
        Some(Ok((id, secret))) => {
            if form.get("client_id").is_some_and(|f| f != id) {
                return Err(invalid_request("client_id differs from the authenticated client"));
            }
            (id, Some(secret))
        }
        Some(Err(())) => return Err(refused()),
        None => match form.get("client_id") {
            Some(id) => (id.to_owned(), form.get("client_secret").map(str::to_owned)),
            None => return Err(refused()),
        },
    };
    match state
        .auth
        .provider()
        .authenticate_client(&id, secret.as_deref())
        .await
    {
        Ok(client) => Ok(client),
        Err(ClientAuthError::Invalid) => Err(refused()),
        Err(ClientAuthError::Internal(e)) => Err(unavailable(&e)),
    }
}

fn grant_error(e: GrantError) -> HttpResponse {
    let bad = StatusCode::BAD_REQUEST;
    match e {
        GrantError::InvalidRequest(d) => oauth_error(bad, "invalid_request", d),
        GrantError::InvalidGrant(d) => oauth_error(bad, "invalid_grant", d),
        GrantError::UnauthorizedClient => oauth_error(
            bad,
            "unauthorized_client",
            "the client may not use this grant type",
        ),
        GrantError::InvalidScope(d) => oauth_error(bad, "invalid_scope", &d),
        GrantError::Internal(e) => unavailable(&e),
    }
}

fn tokens(t: TokenResponse) -> HttpResponse {
    no_store(HttpResponse::Ok()).json(TokenBody {
        access_token: t.access_token,
        token_type: "Bearer",
        expires_in: t.expires_in,
        scope: t.scope,
        id_token: t.id_token,
        refresh_token: t.refresh_token,
    })
}

/// `POST /oauth2/token`.
pub async fn token(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let form = match client_form(&state, &req, payload).await {
        Ok(f) => f,
        Err(a) => return a,
    };
    let client = match client_of(&state, &req, &form).await {
        Ok(c) => c,
        Err(a) => return a,
    };
    let provider = state.auth.provider();
    let caller = state.caller("oidc", &req);
    let answer = match form.get("grant_type") {
        Some("authorization_code") => {
            provider
                .exchange_code(
                    &client,
                    form.get("code"),
                    form.get("redirect_uri"),
                    form.get("code_verifier"),
                    &caller,
                )
                .await
        }
        Some("refresh_token") => {
            provider
                .refresh(&client, form.get("refresh_token"), form.get("scope"), &caller)
                .await
        }
        Some("client_credentials") => provider.client_credentials(&client, form.get("scope")),
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "this grant type is not supported",
            );
        }
        None => return invalid_request("grant_type is required"),
    };
    match answer {
        Ok(t) => tokens(t),
        Err(e) => grant_error(e),
    }
}

fn bearer_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    let challenge = format!("Bearer error=\"{error}\", error_description=\"{description}\"");
    let mut reply = no_store(HttpResponse::build(status));
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        reply.insert_header((header::WWW_AUTHENTICATE, v));
    }
    reply.json(json!({"error": error, "error_description": description}))
}

/// `GET|POST /oauth2/userinfo` with the access token as a bearer token
/// (or, in a POST, the form field `access_token`).
pub async fn userinfo(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let from_header = bearer_token(&req).map(str::to_owned);
    let token = match from_header {
        Some(t) => Some(t),
        None if req.method() == actix_web::http::Method::POST => {
            match client_form(&state, &req, payload).await {
                Ok(f) => f.get("access_token").map(str::to_owned),
                Err(a) => return a,
            }
        }
        None => None,
    };
    let Some(token) = token else {
        let mut reply = no_store(HttpResponse::Unauthorized());
        reply.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        return reply
            .json(json!({"error": "invalid_request", "error_description": "an access token is required"}));
    };
    match state.auth.provider().userinfo(&token).await {
        Ok(info) => {
            let mut claims = Map::new();
            claims.insert("sub".into(), Value::String(info.sub));
            if let Some(p) = info.profile {
                claims.insert("name".into(), Value::String(p.name));
                if let Some(u) = p.preferred_username {
                    claims.insert("preferred_username".into(), Value::String(u));
                }
                if let Some(pic) = p.picture {
                    claims.insert("picture".into(), Value::String(pic));
                }
            }
            if let Some((email, verified)) = info.email {
                claims.insert("email".into(), Value::String(email));
                claims.insert("email_verified".into(), Value::Bool(verified));
            }
            no_store(HttpResponse::Ok()).json(Value::Object(claims))
        }
        Err(UserinfoError::InvalidToken) => bearer_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is invalid, expired or revoked",
        ),
        Err(UserinfoError::InsufficientScope) => bearer_error(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "the openid scope was not granted",
        ),
        Err(UserinfoError::Internal(e)) => unavailable(&e),
    }
}

/// `POST /oauth2/revoke` `token` (`token_type_hint` is optional and not
/// needed): 200 whether or not the token was live (RFC 7009 §2.2).
pub async fn revoke(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let form = match client_form(&state, &req, payload).await {
        Ok(f) => f,
        Err(a) => return a,
    };
    let client = match client_of(&state, &req, &form).await {
        Ok(c) => c,
        Err(a) => return a,
    };
    let Some(token) = form.get("token") else {
        return invalid_request("token is required");
    };
    let caller = state.caller("oidc", &req);
    match state.auth.provider().revoke_token(&client, token, &caller).await {
        Ok(()) => no_store(HttpResponse::Ok()).finish(),
        Err(e) => unavailable(&e),
    }
}

fn form_body(op: Op, description: &str, example: &str) -> Op {
    op.raw_body("application/x-www-form-urlencoded", description, example)
}

fn errors(op: Op) -> Op {
    op.reply::<OAuthErrorBody>(
        400,
        "`invalid_request`, `invalid_grant`, `unauthorized_client`, `unsupported_grant_type`, `invalid_scope`.",
        json!({"error": "invalid_grant", "error_description": "the code is unknown or expired"}),
    )
    .reply::<OAuthErrorBody>(
        401,
        "`invalid_client` (with `WWW-Authenticate: Basic`).",
        json!({"error": "invalid_client", "error_description": "client authentication failed"}),
    )
    .reply::<OAuthErrorBody>(
        503,
        "The service cannot answer now.",
        json!({"error": "temporarily_unavailable", "error_description": "the service cannot answer now"}),
    )
}

/// The OpenAPI operation of `POST /oauth2/token`.
pub fn token_doc() -> Op {
    errors(
        form_body(
            Op::new("oidc", "oidc.token", "Token endpoint")
                .describe(
                    "`grant_type` `authorization_code` (`code`, `redirect_uri`, `code_verifier`), \
                     `refresh_token` (`refresh_token`, optional narrower `scope`) or `client_credentials` \
                     (`scope`). Client authentication: HTTP Basic or `client_id`/`client_secret` fields; a \
                     public client sends `client_id` only.",
                )
                .security_any(&["oauthClient"]),
            "The grant's parameters.",
            "grant_type=authorization_code&code=…&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&code_verifier=…",
        )
        .reply::<TokenBody>(
            200,
            "The tokens.",
            json!({"access_token": "eyJ…", "token_type": "Bearer", "expires_in": 1800, "scope": "openid profile", "id_token": "eyJ…", "refresh_token": "eyJ…"}),
        ),
    )
}

/// The OpenAPI operation of `GET /oauth2/userinfo`.
pub fn userinfo_doc() -> Op {
    userinfo_op("oidc.userinfo")
}

/// The OpenAPI operation of `POST /oauth2/userinfo`.
pub fn userinfo_post_doc() -> Op {
    userinfo_op("oidc.userinfo_post")
}

fn userinfo_op(id: &'static str) -> Op {
    Op::new("oidc", id, "UserInfo endpoint")
        .describe("The claims the access token's scopes grant: `sub`; `profile`: `name`, `preferred_username`, `picture`; `email`: `email`, `email_verified`.")
        .bearer("oauthAccessToken")
        .raw(
            200,
            "The claims.",
            "application/json",
            json!({"type": "object", "required": ["sub"], "properties": {"sub": {"type": "string"}}}),
        )
        .raw(
            401,
            "`invalid_token` (with `WWW-Authenticate: Bearer error=…`).",
            "application/json",
            json!({"type": "object"}),
        )
        .raw(403, "`insufficient_scope`: `openid` was not granted.", "application/json", json!({"type": "object"}))
        .raw(400, "`invalid_request`: an unreadable POST body.", "application/json", json!({"type": "object"}))
        .raw(503, "`temporarily_unavailable`.", "application/json", json!({"type": "object"}))
}

/// The OpenAPI operation of `POST /oauth2/revoke`.
pub fn revoke_doc() -> Op {
    errors(
        form_body(
            Op::new("oidc", "oidc.revoke", "Token revocation (RFC 7009)")
                .describe("Ends the grant a refresh or access token of the calling client belongs to. 200 whether or not it was live.")
                .security_any(&["oauthClient"]),
            "`token` (`token_type_hint` optional).",
            "token=eyJ…",
        )
        .empty(200, "Revoked (or nothing to revoke)."),
    )
}
