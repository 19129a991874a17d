//! OpenID Connect clients (`/internal/oauth-clients`,
//! `/internal/oauth-clients/{clientId}`,
//! `/internal/oauth-clients/{clientId}/secret`): register, list, show,
//! change, delete, rotate the secret. A secret is shown once, in the answer
//! that created it, and stored only as a hash. `auth-server clients …`
//! prints the same views ([`crate::cli`]).
// Same early-return pattern as the contract modules (see `contracts`).
#![allow(clippy::result_large_err)]

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use auth_domain::oidc::client::{AuthMethod, ClientSpec, GrantType, IdTokenAlg, OAuthClient};
use auth_domain::oidc::provider::{ClientAdminError, RegisteredClient};

use super::views::Message;
use super::{InternalError, failure, segment, sorted};
use crate::body::read_typed;
use crate::contracts::envelope::TOO_LARGE;
use crate::contracts::iso_millis;
use crate::openapi::Op;
use crate::routes::{Access, Method, Route};
use crate::state::AppState;

/// The answer naming a client that does not exist (404).
pub const NO_CLIENT: &str = "존재하지 않는 클라이언트입니다.";
/// The answer of a delete.
pub const CLIENT_DELETED: &str = "클라이언트가 삭제되었습니다.";

/// A client's settings, as registered (`POST`) or changed (`PATCH`: only
/// the fields given change).
#[derive(Debug, Default, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientRequest {
    /// A display name (the consent page shows it), 1 to 100 characters.
    #[schema(example = "Grafana")]
    pub name: Option<String>,
    /// Redirect URIs, compared exactly (at least one for `authorization_code`).
    pub redirect_uris: Option<Vec<String>>,
    /// Where `/oauth2/logout` may send the browser back.
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Of `authorization_code`, `refresh_token`, `client_credentials`
    /// (default: the first two).
    pub grant_types: Option<Vec<String>>,
    /// `client_secret_basic` (default), `client_secret_post`, or `none` (a
    /// public client, without a secret).
    pub token_endpoint_auth_method: Option<String>,
    /// Scopes it may ask for (default: `openid profile email offline_access`).
    pub scopes: Option<Vec<String>>,
    /// First-party clients are not asked for consent (default false).
    pub first_party: Option<bool>,
    /// `RS256` (default), `ES256` or `EdDSA`.
    pub id_token_signed_response_alg: Option<String>,
    /// Where back-channel logout tokens are posted, if anywhere.
    pub backchannel_logout_uri: Option<String>,
    /// Hear of the end of every user's sessions (a service accepting the
    /// contracts' tokens), not only of those that issued this client
    /// tokens: on the back-channel logout URI and at `POST /ssf/poll`
    /// (default false; confidential clients only).
    pub all_sessions: Option<bool>,
}

impl ClientRequest {
    /// The settings this request gives, over `base` (a `PATCH`) or the
    /// defaults (a registration).
    ///
    /// # Errors
    /// The message naming the wrong field.
    pub fn spec(self, base: Option<&OAuthClient>) -> Result<ClientSpec, String> {
        let name = match (self.name, base) {
            (Some(n), _) => n,
            (None, Some(b)) => b.name.clone(),
            (None, None) => return Err("name을 입력해주세요.".into()),
        };
        let grant_types = match self.grant_types {
            Some(g) => g
                .iter()
                .map(|g| GrantType::parse(g).ok_or_else(|| format!("grantTypes: unsupported grant {g:?}")))
                .collect::<Result<Vec<_>, _>>()?,
            None => base.map_or(vec![GrantType::AuthorizationCode, GrantType::RefreshToken], |b| {
                b.grant_types.clone()
            }),
        };
        let auth_method = match self.token_endpoint_auth_method {
            Some(m) => {
                AuthMethod::parse(&m).ok_or_else(|| format!("tokenEndpointAuthMethod: unsupported {m:?}"))?
            }
            None => base.map_or(AuthMethod::ClientSecretBasic, |b| b.auth_method),
        };
        let id_token_alg = match self.id_token_signed_response_alg {
            Some(a) => IdTokenAlg::parse(&a)
                .ok_or_else(|| format!("idTokenSignedResponseAlg: one of RS256, ES256, EdDSA, not {a:?}"))?,
            None => base.map_or(IdTokenAlg::Rs256, |b| b.id_token_alg),
        };
        let default_scopes = || {
            ["openid", "profile", "email", "offline_access"]
                .map(str::to_owned)
                .to_vec()
        };
        ClientSpec {
            name,
            redirect_uris: self
                .redirect_uris
                .unwrap_or_else(|| base.map(|b| b.redirect_uris.clone()).unwrap_or_default()),
            post_logout_redirect_uris: self.post_logout_redirect_uris.unwrap_or_else(|| {
                base.map(|b| b.post_logout_redirect_uris.clone())
                    .unwrap_or_default()
            }),
            grant_types,
            auth_method,
            scopes: self
                .scopes
                .unwrap_or_else(|| base.map_or_else(default_scopes, |b| b.scopes.clone())),
            first_party: self.first_party.unwrap_or(base.is_some_and(|b| b.first_party)),
            id_token_alg,
            backchannel_logout_uri: match self.backchannel_logout_uri {
                Some(u) if u.is_empty() => None,
                Some(u) => Some(u),
                None => base.and_then(|b| b.backchannel_logout_uri.clone()),
            },
            all_sessions: self.all_sessions.unwrap_or(base.is_some_and(|b| b.all_sessions)),
        }
        .check()
        .map_err(|e| e.to_string())
    }
}

/// A client as the admin API shows it (never its secret).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientView {
    /// The `client_id`.
    pub client_id: String,
    /// The name.
    pub name: String,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Grants.
    pub grant_types: Vec<String>,
    /// Authentication method.
    pub token_endpoint_auth_method: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Whether consent is skipped.
    pub first_party: bool,
    /// ID token algorithm.
    pub id_token_signed_response_alg: String,
    /// Back-channel logout URI.
    pub backchannel_logout_uri: Option<String>,
    /// Whether it hears of every session's end.
    pub all_sessions: bool,
    /// Registration time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

impl From<&OAuthClient> for ClientView {
    fn from(c: &OAuthClient) -> Self {
        Self {
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            redirect_uris: c.redirect_uris.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            grant_types: c.grant_types.iter().map(|g| g.as_str().to_owned()).collect(),
            token_endpoint_auth_method: c.auth_method.as_str().to_owned(),
            scopes: c.scopes.clone(),
            first_party: c.first_party,
            id_token_signed_response_alg: c.id_token_alg.as_str().to_owned(),
            backchannel_logout_uri: c.backchannel_logout_uri.clone(),
            all_sessions: c.all_sessions,
            created_at: iso_millis(c.created_at),
            updated_at: iso_millis(c.updated_at),
        }
    }
}

/// `{"success": true, "client": …}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientResponse {
    /// `true`.
    pub success: bool,
    /// The client.
    pub client: ClientView,
}

/// A registration or rotation: the client with its secret (shown once).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredClientResponse {
    /// `true`.
    pub success: bool,
    /// The `client_id`.
    pub client_id: String,
    /// The secret; `null` for a public client.
    pub client_secret: Option<String>,
    /// The client.
    pub client: ClientView,
}

impl From<&RegisteredClient> for RegisteredClientResponse {
    fn from(r: &RegisteredClient) -> Self {
        Self {
            success: true,
            client_id: r.client.client_id.clone(),
            client_secret: r.secret.clone(),
            client: ClientView::from(&r.client),
        }
    }
}

/// `{"success": true, "clients": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientListResponse {
    /// `true`.
    pub success: bool,
    /// Every client, oldest first.
    pub clients: Vec<ClientView>,
}

impl From<ClientAdminError> for InternalError {
    fn from(e: ClientAdminError) -> Self {
        match e {
            ClientAdminError::UnknownClient => Self::UnknownClient,
            ClientAdminError::Invalid(e) => Self::Rejected(e.to_string()),
            ClientAdminError::PublicClient => Self::Invalid("공개 클라이언트(none)에는 시크릿이 없습니다."),
            ClientAdminError::Internal(e) => e.into(),
        }
    }
}

/// `POST /internal/oauth-clients`: 201 with `clientId` and `clientSecret`.
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, InternalError> {
    let body: ClientRequest = read_typed(payload, state.max_body_bytes).await?;
    let spec = body.spec(None).map_err(InternalError::Rejected)?;
    let registered = state
        .auth
        .oauth_clients()
        .register_client(spec, &state.caller("internal", &req))
        .await?;
    Ok(sorted(
        StatusCode::CREATED,
        &RegisteredClientResponse::from(&registered),
    ))
}

/// `GET /internal/oauth-clients`.
pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, InternalError> {
    let clients = state.auth.oauth_clients().list_clients().await?;
    Ok(sorted(
        StatusCode::OK,
        &ClientListResponse {
            success: true,
            clients: clients.iter().map(ClientView::from).collect(),
        },
    ))
}

/// `GET /internal/oauth-clients/{clientId}`.
pub async fn show(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, InternalError> {
    let client = state
        .auth
        .oauth_clients()
        .client(segment(&req, "clientId"))
        .await?
        .ok_or(InternalError::UnknownClient)?;
    Ok(sorted(
        StatusCode::OK,
        &ClientResponse {
            success: true,
            client: ClientView::from(&client),
        },
    ))
}

/// `PATCH /internal/oauth-clients/{clientId}`: the fields given change.
pub async fn change(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, InternalError> {
    let body: ClientRequest = read_typed(payload, state.max_body_bytes).await?;
    let registry = state.auth.oauth_clients();
    let id = segment(&req, "clientId");
    let old = registry.client(id).await?.ok_or(InternalError::UnknownClient)?;
    let spec = body.spec(Some(&old)).map_err(InternalError::Rejected)?;
    let client = registry
        .change_client(id, spec, &state.caller("internal", &req))
        .await?;
    Ok(sorted(
        StatusCode::OK,
        &ClientResponse {
            success: true,
            client: ClientView::from(&client),
        },
    ))
}

/// `DELETE /internal/oauth-clients/{clientId}`.
pub async fn delete(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, InternalError> {
    state
        .auth
        .oauth_clients()
        .delete_client(segment(&req, "clientId"), &state.caller("internal", &req))
        .await?;
    Ok(sorted(StatusCode::OK, &Message::done(CLIENT_DELETED)))
}

/// `POST /internal/oauth-clients/{clientId}/secret`: a new secret; the old
/// one stops working at once.
pub async fn rotate_secret(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, InternalError> {
    let registered = state
        .auth
        .oauth_clients()
        .rotate_client_secret(segment(&req, "clientId"), &state.caller("internal", &req))
        .await?;
    Ok(sorted(
        StatusCode::OK,
        &RegisteredClientResponse::from(&registered),
    ))
}

fn example_client() -> serde_json::Value {
    json!({"clientId": "oc_0123456789abcdef01234567", "name": "Grafana", "redirectUris": ["https://grafana.example.com/login/generic_oauth"],
        "postLogoutRedirectUris": [], "grantTypes": ["authorization_code", "refresh_token"], "tokenEndpointAuthMethod": "client_secret_basic",
        "scopes": ["openid", "profile", "email", "offline_access"], "firstParty": true, "idTokenSignedResponseAlg": "RS256",
        "backchannelLogoutUri": null, "allSessions": false, "createdAt": "2026-12-07T09:00:00.000Z", "updatedAt": "2026-12-07T09:00:00.000Z"})
}

fn client_path(op: Op) -> Op {
    op.path_param("clientId", "The client id.", "oc_0123456789abcdef01234567")
        .reply::<Message>(404, "No such client.", failure(NO_CLIENT))
}

fn route(
    method: Method,
    path: &'static str,
    id: &'static str,
    to: fn() -> actix_web::Route,
    doc: fn() -> Op,
) -> Route {
    Route {
        method,
        path,
        id,
        to,
        rate_limit: None,
        access: Access::Admin,
        doc,
    }
}

/// The clients' routes.
pub fn routes() -> Vec<Route> {
    vec![
        route(
            Method::Post,
            "/internal/oauth-clients",
            "internal.oauth_client_create",
            || web::post().to(create),
            || {
                Op::new("internal", "internal.oauth_client_create", "Register an OpenID Connect client")
                .body::<ClientRequest>(json!({"name": "Grafana", "redirectUris": ["https://grafana.example.com/login/generic_oauth"], "firstParty": true}))
                .reply::<RegisteredClientResponse>(
                    201,
                    "Registered; the secret is shown this once (`null` for a public client).",
                    json!({"success": true, "clientId": "oc_0123456789abcdef01234567", "clientSecret": "…43 characters…", "client": example_client()}),
                )
                .reply::<Message>(400, "A field is missing or wrong; the message names it.", failure("redirectUris: authorization_code needs at least one"))
                .reply::<Message>(413, "Body over `AUTH_MAX_BODY_BYTES`.", failure(TOO_LARGE))
            },
        ),
        route(
            Method::Get,
            "/internal/oauth-clients",
            "internal.oauth_clients_list",
            || web::get().to(list),
            || {
                Op::new(
                    "internal",
                    "internal.oauth_clients_list",
                    "List OpenID Connect clients",
                )
                .reply::<ClientListResponse>(
                    200,
                    "Every client, oldest first, without secrets.",
                    json!({"success": true, "clients": [example_client()]}),
                )
            },
        ),
        route(
            Method::Get,
            "/internal/oauth-clients/{clientId}",
            "internal.oauth_client_show",
            || web::get().to(show),
            || {
                client_path(
                    Op::new(
                        "internal",
                        "internal.oauth_client_show",
                        "Show an OpenID Connect client",
                    )
                    .reply::<ClientResponse>(
                        200,
                        "The client.",
                        json!({"success": true, "client": example_client()}),
                    ),
                )
            },
        ),
        route(
            Method::Patch,
            "/internal/oauth-clients/{clientId}",
            "internal.oauth_client_change",
            || web::patch().to(change),
            || {
                client_path(Op::new("internal", "internal.oauth_client_change", "Change an OpenID Connect client")
                .describe("Only the fields given change. A client cannot change between public (`none`) and confidential.")
                .body::<ClientRequest>(json!({"redirectUris": ["https://grafana.example.com/login/generic_oauth"]}))
                .reply::<ClientResponse>(200, "The client as it is now.", json!({"success": true, "client": example_client()}))
                .reply::<Message>(400, "A field is wrong; the message names it.", failure("scopes: 1 to 50 scopes")))
            },
        ),
        route(
            Method::Delete,
            "/internal/oauth-clients/{clientId}",
            "internal.oauth_client_delete",
            || web::delete().to(delete),
            || {
                client_path(Op::new("internal", "internal.oauth_client_delete", "Delete an OpenID Connect client")
                .describe("Its codes and remembered consents go with it; its tokens stop working at their next use.")
                .reply::<Message>(200, "Deleted.", json!({"success": true, "message": CLIENT_DELETED})))
            },
        ),
        route(
            Method::Post,
            "/internal/oauth-clients/{clientId}/secret",
            "internal.oauth_client_rotate_secret",
            || web::post().to(rotate_secret),
            || {
                client_path(Op::new("internal", "internal.oauth_client_rotate_secret", "Rotate a client's secret")
                .describe("A new secret, shown once; the old one stops working at once.")
                .reply::<RegisteredClientResponse>(200, "The new secret.", json!({"success": true, "clientId": "oc_0123456789abcdef01234567", "clientSecret": "…", "client": example_client()}))
                .reply::<Message>(400, "A public client has no secret.", failure("공개 클라이언트(none)에는 시크릿이 없습니다.")))
            },
        ),
    ]
}
