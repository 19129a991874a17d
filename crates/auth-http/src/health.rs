//! Liveness and readiness probes.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::state::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// `GET /readyz`: the database answers and the instance is not shutting
/// down (from the first moment of a shutdown it answers 503 `draining`, so
/// a balancer stops sending it requests).
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.draining.is_draining() {
        return HttpResponse::ServiceUnavailable().json(json!({"status": "draining"}));
    }
    match state.db.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ready"})),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable().json(json!({"status": "unavailable"}))
        }
    }
}

/// A probe's answer.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = ProbeStatus)]
pub struct Probe {
    /// `ok`, `ready`, `unavailable` (the database does not answer) or
    /// `draining` (the instance is shutting down).
    status: String,
}

/// The probes' routes.
pub fn routes() -> Vec<crate::routes::Route> {
    use crate::openapi::Op;
    use crate::routes::{Access, Method, Route};
    vec![
        Route {
            method: Method::Get,
            path: "/healthz",
            id: "service.healthz",
            to: || web::get().to(healthz),
            rate_limit: None,
            access: Access::Public,
            doc: || {
                Op::new("service", "service.healthz", "Liveness: the process is up").reply::<Probe>(
                    200,
                    "Up.",
                    json!({"status": "ok"}),
                )
            },
        },
        Route {
            method: Method::Get,
            path: "/readyz",
            id: "service.readyz",
            to: || web::get().to(readyz),
            rate_limit: None,
            access: Access::Public,
            doc: || {
                Op::new("service", "service.readyz", "Readiness: the database answers")
                    .reply::<Probe>(200, "Ready.", json!({"status": "ready"}))
                    .reply::<Probe>(
                        503,
                        "The database does not answer (`unavailable`), or the instance is shutting down \
                         (`draining`).",
                        json!({"status": "unavailable"}),
                    )
            },
        },
    ]
}
