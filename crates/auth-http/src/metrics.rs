//! Prometheus metrics at `GET /metrics` (`AUTH_METRICS_ENABLED`, default
//! on; 404 when off). With `AUTH_METRICS_BIND` the exposition is served on
//! that separate listener only (the main one answers 404), so it can stay
//! off the public network.
//!
//! Counters and histograms go through the `metrics` facade, whose recorder
//! is process-wide by that crate's design: it is installed once, the first
//! time a server is built, and every server of the process (the test suite
//! runs many) renders the same registry. Gauges of one server's own state
//! (database pool, sockets, accounts per password scheme) are set from its
//! state when scraped. The adapters record their own (`auth-infra`:
//! database errors, hashing queue, throttle locks, mail, the PostgreSQL
//! listener; `auth-ws`: pushes); the domain knows nothing of metrics.
//!
//! What is measured here (the full list, with the adapters', is in
//! `docs/operations.md`):
//! - `http_requests_total{method, route, status}` and
//!   `http_request_duration_seconds{method, route}` (route = the matched
//!   template or `unmatched`, never the raw path: no ids or emails in
//!   labels; method = a standard method's name or `other`). Every label
//!   value of every metric comes from a closed set, whatever a client
//!   sends: a label from client input would grow memory without end;
//! - `auth_logins_total{contract, outcome}` (`success`,
//!   `wrong_credentials`, `throttled`, `error`);
//! - `auth_refreshes_total{contract, outcome}` (`success`, `invalid`,
//!   `reused`, `error`), and of them `auth_refresh_rotations_total{contract}`
//!   (a refresh token spent for a new one) and
//!   `auth_refresh_reuse_detections_total{contract}` (a spent token
//!   presented again: its session revoked);
//! - `auth_codes_sent_total{purpose}`, `auth_codes_checked_total{purpose,
//!   outcome}` (`verified`, `failed`, `error`);
//! - `auth_social_logins_total{provider, outcome}`;
//! - `auth_db_pool_connections`, `auth_db_pool_idle_connections`,
//!   `auth_db_pool_in_use_connections`;
//! - `auth_ws_sockets{kind}` (`session`, `chat`);
//! - `auth_accounts_by_password_scheme{scheme}`, refreshed at most every
//!   `AUTH_METRICS_PASSWORD_SCHEMES_SECONDS`.

use std::sync::OnceLock;

use actix_web::dev::ServiceResponse;
use actix_web::http::Method;
use actix_web::{HttpResponse, web};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use auth_domain::identity::login::LoginError;
use auth_domain::sessions::tokens::{RefreshError, ReissueError};
use auth_domain::social::login::SocialLoginError;
use auth_domain::verification::CodePurpose;
use auth_infra::Database;

use crate::state::AppState;

/// The recorder's handle, once [`handle`] installed it.
static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// How often histogram samples are folded into their buckets when nobody
/// scrapes (see [`handle`]).
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// The process-wide recorder's handle, installed on first use.
///
/// The exporter keeps every histogram sample (a value and an `Instant`,
/// 24 bytes) until its upkeep folds them into the buckets; a recorder made
/// with `build_recorder` runs no upkeep of its own, so without a scrape
/// the samples of every request stayed in memory (about 24 MB per million
/// requests: the idle RSS after load in `docs/performance.md`). A thread
/// named `metrics-upkeep` runs it every [`UPKEEP_EVERY`].
pub fn handle() -> Option<&'static PrometheusHandle> {
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
            describe();
            let upkeep = handle.clone();
            let spawned = std::thread::Builder::new()
                .name("metrics-upkeep".to_owned())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_EVERY);
                        upkeep.run_upkeep();
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "cannot start the metrics upkeep thread; histograms are folded at scrapes only");
            }
            Some(handle)
        })
        .as_ref()
}

/// The label of a method: the standard ones by name, every other
/// (extension) method `other`. Clients choose the method, so a label taken
/// from it would let anyone add series without end (20,000 made-up methods
/// grew the process by 58 MB and `/metrics` to 27 MB).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// `http_requests_total` and `http_request_duration_seconds` of one
/// method, route and status.
struct RequestSeries {
    count: metrics::Counter,
    duration: metrics::Histogram,
}

impl RequestSeries {
    fn register(method: &str, route: &str, status: u16) -> Self {
        let (method, route) = (method.to_owned(), route.to_owned());
        Self {
            count: metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status.to_string()),
            duration: metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route),
        }
    }

    /// Counts one request that took `seconds`.
    fn observe(&self, seconds: f64) {
        self.count.increment(1);
        self.duration.record(seconds);
    }
}

thread_local! {
    /// Each worker thread's handles by (method, route, status): a request
    /// costs one map lookup instead of building two label sets and looking
    /// them up in the shared registry. Bounded by the routes (`unmatched`
    /// for any other path) times the statuses they answer.
    static SERIES: std::cell::RefCell<std::collections::HashMap<(&'static str, String, u16), RequestSeries>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Counts a request by its route template, method and status, and records
/// its duration (by [`crate::telemetry::RequestTelemetry`]).
pub(crate) fn request<B>(method: &Method, response: &ServiceResponse<B>, elapsed: std::time::Duration) {
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = response.status().as_u16();
    let seconds = elapsed.as_secs_f64();
    // Handles are cached only once our recorder is installed: a handle
    // taken before would stay a no-op.
    let installed = HANDLE.get().is_some_and(Option::is_some);
    let method = method_label(method);
    if !installed {
        RequestSeries::register(method, &route, status).observe(seconds);
        return;
    }
    SERIES.with(|series| {
        series
            .borrow_mut()
            .entry((method, route, status))
            .or_insert_with_key(|(method, route, status)| RequestSeries::register(method, route, *status))
            .observe(seconds);
    });
}

/// Counts a login of `contract` by outcome.
pub fn login<T>(contract: &'static str, result: &Result<T, LoginError>) {
    let outcome = match result {
        Ok(_) => "success",
        Err(LoginError::UnknownUser | LoginError::WrongPassword) => "wrong_credentials",
        Err(LoginError::Throttled { .. }) => "throttled",
        Err(LoginError::Disabled) => "disabled",
        Err(LoginError::SecondFactor(_)) => "second_factor",
        Err(LoginError::Internal(_)) => "error",
    };
    metrics::counter!("auth_logins_total", "contract" => contract, "outcome" => outcome).increment(1);
}

/// Counts a second-factor check by method (`totp`, `recovery`,
/// `webauthn`, `passkey_login`) and outcome (`success`, `failure`,
/// `invalid_token`, `throttled`, `error`).
pub fn second_factor<T>(method: &'static str, result: &Result<T, auth_domain::factors::StepError>) {
    use auth_domain::factors::StepError as E;
    let outcome = match result {
        Ok(_) => "success",
        Err(E::InvalidToken | E::UnknownCeremony) => "invalid_token",
        Err(E::Throttled { .. }) => "throttled",
        Err(E::Internal(_)) => "error",
        Err(_) => "failure",
    };
    metrics::counter!("auth_mfa_verifications_total", "method" => method, "outcome" => outcome).increment(1);
}

/// Counts a change of second factors (`totp_enrolled`, `totp_removed`,
/// `passkey_registered`, `passkey_removed`, `recovery_codes_replaced`,
/// `admin_reset`).
pub fn factor_change(action: &'static str) {
    metrics::counter!("auth_mfa_changes_total", "action" => action).increment(1);
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
    if outcome == "reused" {
        metrics::counter!("auth_refresh_reuse_detections_total", "contract" => contract).increment(1);
    }
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
    match outcome {
        "success" => metrics::counter!("auth_refresh_rotations_total", "contract" => contract).increment(1),
        "reused" => {
            metrics::counter!("auth_refresh_reuse_detections_total", "contract" => contract).increment(1);
        }
        _ => {}
    }
}

/// Counts a code send that was answered OK (a `FORGET_PASSWORD` send that
/// matches no account is answered, and counted, alike: nothing tells them
/// apart from outside; `auth_mail_sent_total` counts mails really sent).
pub fn code_sent(purpose: CodePurpose) {
    metrics::counter!("auth_codes_sent_total", "purpose" => purpose.as_str()).increment(1);
}

/// Counts a code check (`verified`, `failed`: wrong, expired, used up or
/// not that account's; `error`).
pub fn code_checked<E>(purpose: CodePurpose, result: &Result<bool, E>) {
    let outcome = match result {
        Ok(true) => "verified",
        Ok(false) => "failed",
        Err(_) => "error",
    };
    metrics::counter!("auth_codes_checked_total", "purpose" => purpose.as_str(), "outcome" => outcome)
        .increment(1);
}

/// Counts a social login callback by provider (`google`, `kakao`,
/// `naver`, or `other` for a path naming none: labels never take raw
/// input) and outcome.
pub fn social_login<T>(provider: &str, result: &Result<T, SocialLoginError>) {
    let provider = match provider {
        "google" => "google",
        "kakao" => "kakao",
        "naver" => "naver",
        _ => "other",
    };
    let outcome = match result {
        Ok(_) => "success",
        Err(SocialLoginError::UnknownProvider | SocialLoginError::NotConfigured) => "not_configured",
        Err(
            SocialLoginError::InvalidState
            | SocialLoginError::BrowserMismatch
            | SocialLoginError::MissingCode,
        ) => "invalid_callback",
        Err(SocialLoginError::Denied) => "denied",
        Err(SocialLoginError::SecondFactor { .. }) => "second_factor",
        Err(
            SocialLoginError::ProviderError(_)
            | SocialLoginError::CodeRejected(_)
            | SocialLoginError::TokenExchange(_)
            | SocialLoginError::UserInfo(_),
        ) => "provider_error",
        Err(
            SocialLoginError::EmailMissing
            | SocialLoginError::EmailNotVerified
            | SocialLoginError::EmailTaken,
        ) => "email_refused",
        Err(SocialLoginError::Disabled) => "disabled",
        Err(SocialLoginError::Internal(_)) => "error",
    };
    metrics::counter!("auth_social_logins_total", "provider" => provider, "outcome" => outcome).increment(1);
}

/// Accounts per password scheme, and when they were counted.
type SchemeCounts = (std::time::Instant, Vec<(&'static str, i64)>);

/// What `GET /metrics` needs besides the recorder: where it is served and
/// the cached per-scheme account counts.
#[derive(Debug)]
pub struct MetricsState {
    /// Whether the main listener serves `/metrics` (`AUTH_METRICS_ENABLED`
    /// and no `AUTH_METRICS_BIND`).
    pub on_main: bool,
    db: Database,
    /// How old the per-scheme counts may be.
    schemes_max_age: std::time::Duration,
    /// The last counts and when they were taken. A `tokio` mutex held
    /// across the query, so concurrent scrapes wait for one count.
    schemes: tokio::sync::Mutex<Option<SchemeCounts>>,
}

impl MetricsState {
    /// The state of one server.
    pub fn new(on_main: bool, db: Database, schemes_max_age: std::time::Duration) -> Self {
        Self {
            on_main,
            db,
            schemes_max_age,
            schemes: tokio::sync::Mutex::new(None),
        }
    }

    /// Sets `auth_accounts_by_password_scheme{scheme}`, counting again
    /// when the last count is older than the configured age. A failed
    /// count keeps the previous values (and is logged).
    async fn accounts_by_scheme(&self) {
        let mut cached = self.schemes.lock().await;
        let fresh = cached
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < self.schemes_max_age);
        if !fresh {
            match auth_infra::accounts_by_password_scheme(&self.db).await {
                Ok(counts) => {
                    let counts = counts.into_iter().map(|(s, n)| (s.as_str(), n)).collect();
                    *cached = Some((std::time::Instant::now(), counts));
                }
                Err(e) => tracing::warn!(error = %e, "cannot count accounts by password scheme"),
            }
        }
        for (scheme, n) in cached.iter().flat_map(|(_, counts)| counts) {
            metrics::gauge!("auth_accounts_by_password_scheme", "scheme" => *scheme).set(*n as f64);
        }
    }
}

/// `GET /metrics` on the main listener: the Prometheus text exposition;
/// 404 when metrics are off or served on `AUTH_METRICS_BIND`.
pub async fn scrape(
    state: web::Data<AppState>,
    ws: web::Data<auth_ws::WsState>,
    metrics: web::Data<MetricsState>,
) -> HttpResponse {
    if !metrics.on_main {
        return HttpResponse::NotFound().finish();
    }
    exposition(&state, &ws, &metrics).await
}

/// `GET /metrics` on the `AUTH_METRICS_BIND` listener.
pub async fn scrape_dedicated(
    state: web::Data<AppState>,
    ws: web::Data<auth_ws::WsState>,
    metrics: web::Data<MetricsState>,
) -> HttpResponse {
    exposition(&state, &ws, &metrics).await
}

async fn exposition(state: &AppState, ws: &auth_ws::WsState, metrics: &MetricsState) -> HttpResponse {
    let Some(handle) = handle().filter(|_| state.metrics_enabled) else {
        return HttpResponse::NotFound().finish();
    };
    let (open, idle) = state.db.pool_state();
    metrics::gauge!("auth_db_pool_connections").set(f64::from(open));
    metrics::gauge!("auth_db_pool_idle_connections").set(f64::from(idle));
    metrics::gauge!("auth_db_pool_in_use_connections").set(f64::from(open.saturating_sub(idle)));
    use auth_ws::registry::SocketKind;
    metrics::gauge!("auth_ws_sockets", "kind" => "session")
        .set(ws.registry.len_of(SocketKind::Session) as f64);
    metrics::gauge!("auth_ws_sockets", "kind" => "chat").set(ws.registry.len_of(SocketKind::Chat) as f64);
    metrics.accounts_by_scheme().await;
    process_series();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(handle.render())
}

/// `# HELP` and units of every family (`promtool check metrics` wants
/// one), and `auth_build_info`.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "http_requests_total",
        "HTTP requests answered, by method, route template and status."
    );
    describe_histogram!(
        "http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by method and route template."
    );
    describe_counter!("auth_logins_total", "Password logins, by contract and outcome.");
    describe_counter!(
        "auth_mfa_verifications_total",
        "Second-factor checks and passkey sign-ins, by method and outcome."
    );
    describe_counter!(
        "auth_mfa_changes_total",
        "Second factors turned on or off, by action."
    );
    describe_counter!(
        "auth_social_logins_total",
        "Social logins, by provider and outcome."
    );
    describe_counter!(
        "auth_refreshes_total",
        "Refreshes (new access token), by contract and outcome."
    );
    describe_counter!(
        "auth_refresh_rotations_total",
        "Refresh token rotations, by contract and outcome."
    );
    describe_counter!(
        "auth_refresh_reuse_detections_total",
        "Spent refresh tokens presented again (their session revoked)."
    );
    describe_counter!(
        "auth_codes_sent_total",
        "Emailed verification codes sent, by purpose."
    );
    describe_counter!(
        "auth_codes_checked_total",
        "Verification code checks, by purpose and outcome."
    );
    describe_counter!(
        "auth_mail_sent_total",
        "Mails handed to the transport, by transport."
    );
    describe_counter!(
        "auth_mail_failures_total",
        "Mails the transport refused, by transport."
    );
    describe_counter!(
        "auth_throttle_locks_total",
        "Login locks imposed after repeated failures, by scope (account or ip)."
    );
    describe_gauge!(
        "auth_hash_queue_depth",
        "Password hashes waiting for a hashing thread."
    );
    describe_counter!(
        "auth_hash_queue_rejections_total",
        "Password checks refused because the hashing queue was full (503)."
    );
    describe_histogram!(
        "auth_hash_queue_wait_seconds",
        Unit::Seconds,
        "Time a password hash waited for a hashing thread."
    );
    describe_gauge!(
        "auth_db_pool_connections",
        "Open database connections of the pool."
    );
    describe_gauge!(
        "auth_db_pool_idle_connections",
        "Idle database connections of the pool."
    );
    describe_gauge!("auth_db_pool_in_use_connections", "Database connections in use.");
    describe_counter!("auth_db_query_errors_total", "Database queries that failed.");
    describe_gauge!(
        "auth_event_listener_up",
        "1 while the PostgreSQL event listener is connected."
    );
    describe_counter!(
        "auth_event_listener_disconnects_total",
        "Times the PostgreSQL event listener lost its connection."
    );
    crate::startup::describe_delivery_metrics();
    describe_gauge!("auth_ws_sockets", "Open WebSockets, by kind (session or chat).");
    describe_counter!("auth_ws_pushes_total", "Frames pushed to sockets, by type.");
    describe_gauge!(
        "auth_accounts_by_password_scheme",
        "Accounts by how their password is stored."
    );
    describe_gauge!("auth_build_info", "1, labelled with the running version.");
    describe_gauge!(
        "process_resident_memory_bytes",
        Unit::Bytes,
        "Resident memory of the process."
    );
    describe_gauge!(
        "process_virtual_memory_bytes",
        Unit::Bytes,
        "Virtual memory of the process."
    );
    describe_counter!(
        "process_cpu_seconds_total",
        Unit::Seconds,
        "CPU time (user and system) the process used."
    );
    describe_gauge!("process_open_fds", "Open file descriptors.");
    describe_gauge!("process_max_fds", "The file descriptor limit.");
    describe_gauge!(
        "process_start_time_seconds",
        Unit::Seconds,
        "Start time of the process, seconds since the epoch."
    );
    describe_gauge!("process_threads", "Threads of the process.");
    metrics::gauge!("auth_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
}

/// The `process_*` series, read from `/proc/self` at each scrape (Linux;
/// elsewhere none are reported).
fn process_series() {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return;
    };
    // The fields after the command name (which may hold spaces), counted
    // from field 3.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<f64>().ok());
    let ticks = rustix::param::clock_ticks_per_second() as f64;
    let page = rustix::param::page_size() as f64;
    if let (Some(utime), Some(stime)) = (field(14), field(15)) {
        metrics::counter!("process_cpu_seconds_total").absolute(((utime + stime) / ticks) as u64);
    }
    if let Some(threads) = field(20) {
        metrics::gauge!("process_threads").set(threads);
    }
    if let Some(vsize) = field(23) {
        metrics::gauge!("process_virtual_memory_bytes").set(vsize);
    }
    if let Some(rss) = field(24) {
        metrics::gauge!("process_resident_memory_bytes").set(rss * page);
    }
    if let (Some(start), Ok(uptime)) = (field(22), std::fs::read_to_string("/proc/uptime")) {
        let since_boot = uptime
            .split_whitespace()
            .next()
            .and_then(|u| u.parse::<f64>().ok());
        if let Some(since_boot) = since_boot {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            metrics::gauge!("process_start_time_seconds").set((now - since_boot + start / ticks).floor());
        }
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        metrics::gauge!("process_open_fds").set(fds.count() as f64);
    }
    if let Ok(limits) = std::fs::read_to_string("/proc/self/limits")
        && let Some(line) = limits.lines().find(|l| l.starts_with("Max open files"))
        && let Some(soft) = line.split_whitespace().nth(3).and_then(|v| v.parse::<f64>().ok())
    {
        metrics::gauge!("process_max_fds").set(soft);
    }
}

/// The route.
pub fn route() -> crate::routes::Route {
    crate::routes::Route {
        method: crate::routes::Method::Get,
        path: "/metrics",
        id: "service.metrics",
        to: || web::get().to(scrape),
        rate_limit: None,
        access: crate::routes::Access::Public,
        doc: || {
            crate::openapi::Op::new("service", "service.metrics", "Prometheus metrics")
                .describe("The Prometheus text exposition; 404 when `AUTH_METRICS_ENABLED=false`, or when `AUTH_METRICS_BIND` serves it on a separate listener. See `docs/operations.md`.")
                .raw(200, "The metrics.", "text/plain", serde_json::json!({"type": "string"}))
                .empty(404, "Metrics are off, or served on another listener.")
        },
    }
}
