//! Signing keys (`POST /internal/keys/rotate`): add a key, published in
//! the JWKS at once ([`crate::oidc`] serves the public side). See
//! `docs/verify-tokens.md`.
// Same early-return pattern as the contract modules (see `contracts`).
#![allow(clippy::result_large_err)]

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::views::{KeyView, RotateResponse};
use super::{InternalError, failure};
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

/// `POST /internal/keys/rotate` `{"activateNow"}`: adds a signing key,
/// published at once.
pub async fn rotate(
    state: web::Data<AppState>,
    keys: web::Data<TokenKeys>,
    payload: web::Payload,
) -> Result<HttpResponse, InternalError> {
    let body: RotateRequest = crate::body::read_typed(payload, state.max_body_bytes).await?;
    let rotated = match keys.rotate(body.activate_now.unwrap_or(false)).await {
        Ok(r) => r,
        Err(RotateError::NotManaged(_)) => return Ok(HttpResponse::Conflict().json(failure(NOT_MANAGED))),
        Err(RotateError::Store(e)) => {
            return Err(auth_domain::PortError::new("rotate signing keys", e).into());
        }
    };
    Ok(HttpResponse::Ok().json(RotateResponse {
        success: true,
        kid: rotated.kid,
        activates_at: crate::contracts::iso_millis(rotated.activates_at),
        keys: KeyView::all(&keys),
    }))
}

const NOT_MANAGED: &str = "서명 키가 이 서비스에서 관리되지 않습니다(AUTH_JWT_SIGNING_KEY 또는 HS256).";

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
            Op::new("internal", "internal.keys_rotate", "Rotate the signing key")
                .describe(
                    "Adds a key of `AUTH_JWT_ALGORITHM`, published in the JWKS at once; it \
                     signs after `AUTH_JWT_KEY_PREPUBLISH_SECONDS` (or at once with \
                     `activateNow`). The previous key stays published until its tokens \
                     have expired. Every instance uses the change within \
                     `AUTH_JWT_KEY_REFRESH_SECONDS`. `auth-server keys rotate` does the same.",
                )
                .body::<RotateRequest>(json!({"activateNow": false}))
                .reply::<RotateResponse>(
                    200,
                    "Rotated.",
                    json!({"success": true, "kid": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", "activatesAt": "2026-11-29T10:00:00.000Z", "keys": [
                        {"kid": "qJ3y…", "alg": "ES256", "state": "active", "createdAt": "2026-11-01T09:00:00.000Z", "activatesAt": "2026-11-01T09:00:00.000Z", "retiresAt": "2026-11-29T10:31:00.000Z"},
                        {"kid": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", "alg": "ES256", "state": "pending", "createdAt": "2026-11-29T09:00:00.000Z", "activatesAt": "2026-11-29T10:00:00.000Z", "retiresAt": null}]}),
                )
                .reply::<KeysMessage>(400, "A field has the wrong type.", json!({"success": false, "message": "잘못된 요청 형식입니다."}))
                .reply::<KeysMessage>(409, "Keys come from `AUTH_JWT_SIGNING_KEY` or the HS256 secret.", json!({"success": false, "message": NOT_MANAGED}))
                .reply::<KeysMessage>(413, "Body over `AUTH_MAX_BODY_BYTES`.", json!({"success": false, "message": crate::contracts::envelope::TOO_LARGE}))
        },
    }]
}
