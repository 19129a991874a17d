//! `GET /api/auth/me`: resolves a bearer access token for other services.
//!
//! Not part of any seed document: a service endpoint, served at this fixed
//! path whatever the contracts' prefixes (see `docs/contracts/service.md`).
//! It verifies the access token from its claims alone (signature, algorithm,
//! kind, expiry; [`auth_domain::sessions::tokens::Sessions::authenticate`]) and answers
//! from them: no database query, no await, no per-request work beyond the
//! signature check (a cache hit for a token seen before) and one small JSON
//! body. Failures answer a fixed body, so they
//! allocate nothing.
//!
//! **Stateless by design:** a token whose session was revoked (logout,
//! withdrawal, refresh-token reuse) keeps answering 200 until its `exp`
//! (access TTL, default 30 minutes). The revocation-aware path is the `/ws`
//! socket, which pushes `LOGOUT` when the session ends.
//!
//! **Not rate limited**, like `/healthz`: callers are services resolving
//! their users' tokens at high rates, often from a few IPs that a per-IP
//! budget would starve; a request costs at most one signature check whether it succeeds
//! or fails, and guessing a signature online is hopeless. Volumetric abuse
//! belongs to the edge.
//!
//! Routing: registered before the contracts' routes, so it wins over
//! `picsel`'s `GET /api/auth/{provider}` (no provider is called `me`). No
//! contract declares a literal `GET /api/auth/me` under any prefix, so
//! [`crate::routes::RoutePlan`]'s conflict check has nothing to refuse.

use actix_web::http::header::{self, ContentType, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use uuid::Uuid;

use crate::contracts::bearer_token;
use crate::state::AppState;

/// The path, fixed (no contract prefix applies).
pub const PATH: &str = "/api/auth/me";

/// `WWW-Authenticate` of every refusal (RFC 6750).
const CHALLENGE: &str = "Bearer error=\"invalid_token\"";

/// No `Authorization: Bearer <token>` header (missing, another scheme, empty).
const MISSING_BODY: &str = r#"{"status":401,"message":"인증이 필요합니다."}"#;

/// A token that is not a valid access token of ours: malformed, bad
/// signature or algorithm, a refresh token, expired.
const INVALID_BODY: &str = r#"{"status":401,"message":"유효하지 않은 액세스 토큰입니다."}"#;

/// The 200 body: the access token's claims.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = MeResponse)]
pub struct Me {
    /// The user's UUID (`sub`).
    user_id: Uuid,
    /// The session (`sid`).
    session_id: Uuid,
    /// `iat`, seconds since the epoch.
    issued_at: i64,
    /// `exp`, seconds since the epoch.
    expires_at: i64,
}

/// A 401 with the bearer challenge and a fixed JSON body (never the token).
fn refuse(body: &'static str) -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static(CHALLENGE)))
        .content_type(ContentType::json())
        .body(body)
}

/// `GET /api/auth/me` with `Authorization: Bearer <access token>`.
pub async fn me(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let Some(token) = bearer_token(&req) else {
        return refuse(MISSING_BODY);
    };
    match state.auth.sessions().authenticate(token) {
        Ok(claims) => {
            crate::telemetry::KnownUser::record(&req, claims.sub);
            HttpResponse::Ok().json(Me {
                user_id: claims.sub,
                session_id: claims.sid.as_uuid(),
                issued_at: claims.iat,
                expires_at: claims.exp,
            })
        }
        Err(_) => refuse(INVALID_BODY),
    }
}

/// A refusal.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = MeRefusal)]
pub struct Refusal {
    /// 401.
    status: u16,
    /// Why.
    message: String,
}

/// The route.
pub fn route() -> crate::routes::Route {
    use serde_json::json;
    crate::routes::Route {
        method: crate::routes::Method::Get,
        path: PATH,
        id: "service.me",
        to: || web::get().to(me),
        rate_limit: None,
        access: crate::routes::Access::Public,
        doc: || {
            crate::openapi::Op::new("service", "service.me", "Who holds this access token")
                .describe(
                    "For other services: verifies a bearer access token from its claims alone (no \
                     database) and answers them. Stateless: a revoked session's token answers until it \
                     expires. See `docs/contracts/service.md`.",
                )
                .bearer("accessToken")
                .reply::<Me>(
                    200,
                    "The token's claims.",
                    json!({"userId": "550e8400-e29b-41d4-a716-446655440000", "sessionId": "0192f0c1-7c1e-7a55-9d8e-3f5b2a1c4d6e", "issuedAt": 1_719_580_167, "expiresAt": 1_719_581_967}),
                )
                .reply::<Refusal>(
                    401,
                    "No bearer token, or not a valid access token (with `WWW-Authenticate`).",
                    json!({"status": 401, "message": "유효하지 않은 액세스 토큰입니다."}),
                )
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::{Method, RoutePlan};
    use crate::settings::ContractsSettings;

    #[test]
    fn refusal_bodies_are_the_documented_json() {
        for (body, message) in [
            (MISSING_BODY, "인증이 필요합니다."),
            (INVALID_BODY, "유효하지 않은 액세스 토큰입니다."),
        ] {
            let value: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(value, serde_json::json!({"status": 401, "message": message}));
        }
        let response = refuse(INVALID_BODY);
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            "Bearer error=\"invalid_token\""
        );
    }

    #[test]
    fn success_body_is_camel_case() {
        let body = serde_json::to_value(Me {
            user_id: Uuid::from_u128(1),
            session_id: Uuid::from_u128(2),
            issued_at: 10,
            expires_at: 20,
        })
        .unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "userId": Uuid::from_u128(1).to_string(),
                "sessionId": Uuid::from_u128(2).to_string(),
                "issuedAt": 10,
                "expiresAt": 20,
            })
        );
    }

    #[test]
    fn no_contract_claims_the_path_literally() {
        let mut prefixed = ContractsSettings::default();
        prefixed.picsel.prefix = "/picsel".into();
        let mut picsel_off = ContractsSettings::default();
        picsel_off.picsel.enabled = false;
        for settings in [ContractsSettings::default(), prefixed, picsel_off] {
            let plan = RoutePlan::build(&settings).unwrap();
            assert_eq!(plan.operation_id(Method::Get, PATH), Some("service.me"));
        }
    }
}
