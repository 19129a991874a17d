//! Prometheus metrics at `GET /metrics` (`AUTH_METRICS_ENABLED`, default
//! on; 404 when off).
//!
//! Counters and histograms go through the `metrics` facade, whose recorder
//! is process-wide by that crate's design: it is installed once, the first
//! time a server is built, and every server of the process (the test suite
//! runs many) renders the same registry. Gauges of one server's own state
//! (database pool, sockets) are set from its `AppState` when scraped.
//!
//! What is measured:
//! - `http_requests_total{method, route, status}` and
//!   `http_request_duration_seconds{method, route}` (route = the matched
//!   template, never the raw path: no ids or emails in labels);
//! - `auth_logins_total{contract, outcome}` (`success`,
//!   `wrong_credentials`, `throttled`, `error`);
//! - `auth_refreshes_total{contract, outcome}` (`success`, `invalid`,
//!   `reused`, `error`): a `reused` is a reuse detection;
//! - `auth_db_pool_connections`, `auth_db_pool_idle_connections`;
//! - `auth_ws_sockets{kind}` (`session`, `chat`).

use std::sync::OnceLock;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use auth_domain::service::{LoginError, RefreshError, ReissueError};

use crate::state::AppState;

/// The process-wide recorder's handle, installed on first use.
pub fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ])
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (an embedding
            // program's): then ours renders nothing, and that is said once.
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder is already installed; /metrics will be empty");
            }
            Some(handle)
        })
        .as_ref()
}

/// Counts a request by its route template, method and status, and its
/// duration.
///
/// # Errors
/// The inner service's.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let method = req.method().to_string();
    let response = next.call(req).await?.map_into_boxed_body();
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    Ok(response)
}

/// Counts a login of `contract` by outcome.
pub fn login<T>(contract: &'static str, result: &Result<T, LoginError>) {
    let outcome = match result {
        Ok(_) => "success",
        Err(LoginError::UnknownUser | LoginError::WrongPassword) => "wrong_credentials",
        Err(LoginError::Throttled { .. }) => "throttled",
        Err(LoginError::Disabled) => "disabled",
        Err(LoginError::Internal(_)) => "error",
    };
    metrics::counter!("auth_logins_total", "contract" => contract, "outcome" => outcome).increment(1);
}

/// Counts a refresh that keeps the refresh token (`session`, `picsel`).
pub fn refresh<T>(contract: &'static str, result: &Result<T, RefreshError>) {
    let outcome = match result {
        Ok(_) => "success",
        Err(RefreshError::Invalid) => "invalid",
        Err(RefreshError::Reused) => "reused",
        Err(RefreshError::Internal(_)) => "error",
    };
    metrics::counter!("auth_refreshes_total", "contract" => contract, "outcome" => outcome).increment(1);
}

/// Counts a rotating reissue (`standard`).
pub fn reissue<T>(contract: &'static str, result: &Result<T, ReissueError>) {
    let outcome = match result {
        Ok(_) => "success",
        Err(ReissueError::Reused) => "reused",
        Err(ReissueError::Internal(_)) => "error",
        Err(_) => "invalid",
    };
    metrics::counter!("auth_refreshes_total", "contract" => contract, "outcome" => outcome).increment(1);
}

/// `GET /metrics`: the Prometheus text exposition.
pub async fn scrape(state: web::Data<AppState>, ws: web::Data<auth_ws::WsState>) -> HttpResponse {
    let Some(handle) = handle().filter(|_| state.metrics_enabled) else {
        return HttpResponse::NotFound().finish();
    };
    let (open, idle) = state.db.pool_state();
    metrics::gauge!("auth_db_pool_connections").set(f64::from(open));
    metrics::gauge!("auth_db_pool_idle_connections").set(f64::from(idle));
    metrics::gauge!("auth_ws_sockets", "kind" => "session").set(ws.registry.len() as f64);
    metrics::gauge!("auth_ws_sockets", "kind" => "chat").set(ws.chat.len() as f64);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(handle.render())
}

/// The route.
pub fn route() -> crate::routes::Route {
    crate::routes::Route {
        method: crate::routes::Method::Get,
        path: "/metrics",
        id: "service.metrics",
        to: || web::get().to(scrape),
        rate_limit: None,
        doc: || {
            crate::openapi::Op::new("service", "service.metrics", "Prometheus metrics")
                .describe("The Prometheus text exposition; 404 when `AUTH_METRICS_ENABLED=false`. See `docs/operations.md`.")
                .raw(200, "The metrics.", "text/plain", serde_json::json!({"type": "string"}))
                .empty(404, "Metrics are off.")
        },
    }
}
