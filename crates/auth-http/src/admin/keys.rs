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
use super::views::{KeyView, RotateResponse, RotatedView};
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
