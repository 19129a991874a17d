//! Signing keys (`POST /internal/keys/rotate`): add an access-token key
//! (when they are kept in the database) and one ID-token key per
//! algorithm, published in the JWKS at once ([`crate::oidc`] serves the
//! public side). See `docs/verify-tokens.md`.
// Same early-return pattern as the contract modules (see `contracts`).
#![allow(clippy::result_large_err)]

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::InternalError;
use crate::contracts::iso_millis;
use crate::openapi::Op;
use crate::routes::{Access, Method, Route};
use crate::startup::{RotateError, TokenKeys};
use crate::state::AppState;

/// `POST /internal/keys/rotate` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RotateRequest {
    /// Sign with the new key at once instead of after the pre-publication
    /// period (verifiers with a cached key set refetch on the unknown
    /// `kid`).
    #[schema(example = false)]
    activate_now: Option<bool>,
}

/// `{"success", "message"}` of the admin API.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeysMessage {
    /// `false`.
    success: bool,
    /// What happened.
    message: String,
}

/// `POST /internal/keys/rotate` `{"activateNow"}`: adds an access-token
/// key (when the access keys are managed here) and one ID-token key per
/// algorithm, published at once. With `AUTH_JWT_SIGNING_KEY` or HS256 only
/// the ID-token keys rotate: `kid` is `null` and `accessNotManaged` says
/// why.
pub async fn rotate(
    state: web::Data<AppState>,
    keys: web::Data<TokenKeys>,
    payload: web::Payload,
) -> Result<HttpResponse, InternalError> {
    let body: RotateRequest = crate::body::read_typed(payload, state.max_body_bytes).await?;
    let rotation = match keys.rotate(body.activate_now.unwrap_or(false)).await {
        Ok(r) => r,
        Err(RotateError::Store(e)) => {
            return Err(auth_domain::PortError::new("rotate signing keys", e).into());
        }
    };
    Ok(HttpResponse::Ok().json(RotateResponse {
        success: true,
        kid: rotation.access.as_ref().map(|r| r.kid.clone()),
        activates_at: rotation
            .access
            .as_ref()
            .map(|r| crate::contracts::iso_millis(r.activates_at)),
        access_not_managed: keys.access_not_managed().map(str::to_owned),
        rotated: RotatedView::all(&rotation),
        keys: KeyView::all(&keys),
    }))
}

/// The keys' route.
pub fn routes() -> Vec<Route> {
    vec![Route {
        method: Method::Post,
        path: "/internal/keys/rotate",
        id: "internal.keys_rotate",
        to: || web::post().to(rotate),
        rate_limit: None,
        access: Access::Admin,
        doc: || {
            Op::new("internal", "internal.keys_rotate", "Rotate the signing keys")
                .describe(
                    "Adds an access-token key of `AUTH_JWT_ALGORITHM` and one ID-token key \
                     per algorithm (RS256, ES256, EdDSA), published in the JWKS at once; \
                     they sign after `AUTH_JWT_KEY_PREPUBLISH_SECONDS` (or at once with \
                     `activateNow`). The previous keys stay published until their tokens \
                     have expired. With `AUTH_JWT_SIGNING_KEY` or HS256 the access key is \
                     the operator's: only the ID-token keys rotate, `kid` is null and \
                     `accessNotManaged` says why. Every instance uses the change within \
                     `AUTH_JWT_KEY_REFRESH_SECONDS`. `auth-server keys rotate` does the same.",
                )
                .body::<RotateRequest>(json!({"activateNow": false}))
                .reply::<RotateResponse>(
                    200,
                    "Rotated.",
                    json!({"success": true, "kid": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", "activatesAt": "2026-11-29T10:00:00.000Z",
                      "rotated": [
                        {"purpose": "access", "kid": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", "alg": "ES256", "activatesAt": "2026-11-29T10:00:00.000Z"},
                        {"purpose": "id:RS256", "kid": "Rk2…", "alg": "RS256", "activatesAt": "2026-11-29T10:00:00.000Z"},
                        {"purpose": "id:ES256", "kid": "Ek2…", "alg": "ES256", "activatesAt": "2026-11-29T10:00:00.000Z"},
                        {"purpose": "id:EdDSA", "kid": "Dk2…", "alg": "EdDSA", "activatesAt": "2026-11-29T10:00:00.000Z"}],
                      "keys": [
                        {"purpose": "access", "kid": "qJ3y…", "alg": "ES256", "state": "active", "createdAt": "2026-11-01T09:00:00.000Z", "activatesAt": "2026-11-01T09:00:00.000Z", "retiresAt": "2026-11-29T10:31:00.000Z"},
                        {"purpose": "access", "kid": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", "alg": "ES256", "state": "pending", "createdAt": "2026-11-29T09:00:00.000Z", "activatesAt": "2026-11-29T10:00:00.000Z", "retiresAt": null},
                        {"purpose": "id:RS256", "kid": "Rk1…", "alg": "RS256", "state": "active", "createdAt": "2026-11-01T09:00:00.000Z", "activatesAt": "2026-11-01T09:00:00.000Z", "retiresAt": "2026-11-29T10:31:00.000Z"},
                        {"purpose": "id:RS256", "kid": "Rk2…", "alg": "RS256", "state": "pending", "createdAt": "2026-11-29T09:00:00.000Z", "activatesAt": "2026-11-29T10:00:00.000Z", "retiresAt": null}]}),
                )
                .reply::<KeysMessage>(400, "A field has the wrong type.", json!({"success": false, "message": "잘못된 요청 형식입니다."}))
                .reply::<KeysMessage>(413, "Body over `AUTH_MAX_BODY_BYTES`.", json!({"success": false, "message": crate::contracts::envelope::TOO_LARGE}))
        },
    }]
}

/// One signing key as `keys list` and the rotation show it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyView {
    /// What it signs: `access` (access tokens) or `id:RS256`, `id:ES256`,
    /// `id:EdDSA` (OpenID Connect ID tokens).
    #[schema(example = "access")]
    pub purpose: String,
    /// The key id (RFC 7638 thumbprint).
    pub kid: String,
    /// `ES256`, `EdDSA`, `RS256`.
    pub alg: String,
    /// `pending`, `active`, `retiring` or `retired`.
    pub state: String,
    /// Creation, ISO-8601.
    pub created_at: String,
    /// Start of signing.
    pub activates_at: String,
    /// When it stops being published and accepted, once superseded.
    pub retires_at: Option<String>,
}

impl KeyView {
    fn of(purpose: &str, k: auth_infra::KeyInfo) -> Self {
        Self {
            purpose: purpose.to_owned(),
            kid: k.kid,
            alg: k.alg.as_str().to_owned(),
            state: k.state.as_str().to_owned(),
            created_at: iso_millis(k.created_at),
            activates_at: iso_millis(k.activates_at),
            retires_at: k.retires_at.map(iso_millis),
        }
    }

    /// Every key of `keys` as it is now (`keys list`, the rotation's
    /// answer): the access keys oldest first, then the ID-token keys,
    /// RS256, ES256, EdDSA, each oldest first.
    pub fn all(keys: &crate::startup::TokenKeys) -> Vec<Self> {
        let now = chrono::Utc::now();
        let access = keys.codec.ring().describe(now);
        let id = keys.id_keys.describe(now);
        access
            .into_iter()
            .map(|k| Self::of(auth_infra::ACCESS_PURPOSE, k))
            .chain(id.into_iter().map(|(purpose, k)| Self::of(purpose, k)))
            .collect()
    }
}

/// A key a rotation added.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RotatedView {
    /// `access`, `id:RS256`, `id:ES256` or `id:EdDSA`.
    #[schema(example = "id:RS256")]
    pub purpose: String,
    /// The new key.
    pub kid: String,
    /// Its algorithm.
    pub alg: String,
    /// When it starts signing.
    pub activates_at: String,
}

impl RotatedView {
    /// Every key `rotation` added: the access key first (if any), then
    /// the ID-token keys.
    pub fn all(rotation: &crate::startup::Rotation) -> Vec<Self> {
        rotation
            .access
            .iter()
            .chain(&rotation.id)
            .map(|r| Self {
                purpose: r.purpose.clone(),
                kid: r.kid.clone(),
                alg: r.alg.as_str().to_owned(),
                activates_at: iso_millis(r.activates_at),
            })
            .collect()
    }
}

/// `{"success": true, "kid", "activatesAt", "rotated": […], "keys": […]}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RotateResponse {
    /// Always `true`.
    pub success: bool,
    /// The new access-token key; `null` when the access keys are not
    /// managed by this service (`AUTH_JWT_SIGNING_KEY` or HS256: only the
    /// ID-token keys rotate).
    pub kid: Option<String>,
    /// When that key starts signing (`null` with it).
    pub activates_at: Option<String>,
    /// Why the access keys did not rotate, when they did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_not_managed: Option<String>,
    /// Every key added: the access key (if any), then one ID-token key per
    /// algorithm.
    pub rotated: Vec<RotatedView>,
    /// Every key (see [`KeyView::all`]).
    pub keys: Vec<KeyView>,
}

/// What `auth-server keys list` prints, `{"source","algorithm","keys"}`,
/// and `keys rotate` with the new key's `kid` and `activatesAt`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeysSummary {
    /// Where the keys come from: `database`, `AUTH_JWT_SIGNING_KEY` or
    /// `AUTH_JWT_SECRET (HS256)`.
    pub source: &'static str,
    /// `AUTH_JWT_ALGORITHM`.
    pub algorithm: String,
    /// Every key (see [`KeyView::all`]).
    pub keys: Vec<KeyView>,
    /// The access-token key a rotation added.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// When that key starts signing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activates_at: Option<String>,
    /// Every key a rotation added (the access key, if managed here, and
    /// one ID-token key per algorithm).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rotated: Vec<RotatedView>,
}

impl KeysSummary {
    /// The keys of `keys`, without a rotation.
    pub fn new(keys: &crate::startup::TokenKeys) -> Self {
        Self {
            source: match keys.source {
                crate::startup::KeySource::Database => "database",
                crate::startup::KeySource::Pem => "AUTH_JWT_SIGNING_KEY",
                crate::startup::KeySource::Secret => "AUTH_JWT_SECRET (HS256)",
            },
            algorithm: keys.alg.as_str().to_owned(),
            keys: KeyView::all(keys),
            kid: None,
            activates_at: None,
            rotated: Vec::new(),
        }
    }
}
