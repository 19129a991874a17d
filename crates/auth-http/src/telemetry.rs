//! Logging set-up and the per-request span.
//!
//! What is logged per request: method, path **without the query string**
//! (codes may arrive as query parameters of `check/auth-code`), status,
//! latency and a request id. Bodies and headers are never logged.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// Installs the global subscriber (call once, from `main`, and keep the
/// returned guard until exit: dropping it flushes what is still queued).
/// `format` is `text` or `json`; the filter comes from `RUST_LOG` (default
/// `info`). Each request is logged once, when its span closes.
///
/// Lines are formatted on the thread that logs and written to stdout by a
/// background thread through a buffer, so a request never waits for a
/// `write(2)` to the log pipe; the queue is bounded and not lossy (a log
/// reader that stops reading slows the service down rather than losing
/// lines).
pub fn init(format: &crate::settings::LogFormat) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("log-writer")
        .finish(std::io::BufWriter::new(std::io::stdout()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(writer)
        // Colour codes only on a terminal, never in files or log collectors.
        .with_ansi(ansi)
        .with_span_events(FmtSpan::CLOSE);
    // `try_init` fails only when a subscriber is already installed (tests);
    // keeping the existing one is right then.
    let installed = if *format == crate::settings::LogFormat::Json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    installed.ok().map(|()| guard)
}

/// Paths whose successful requests are logged at `debug`, not `info`:
/// liveness and readiness probes, and `GET /api/auth/me`, which services
/// call for every request they serve. At `info` the log line costs more
/// than the request itself (about 30 % of a token-only request's
/// throughput, `docs/performance.md`). Their failures (status 400 and up)
/// are still logged at `info`.
const QUIET_PATHS: [&str; 3] = ["/healthz", "/readyz", crate::me::PATH];

fn is_quiet(path: &str) -> bool {
    QUIET_PATHS.contains(&path)
}

/// The request's id and start, set by [`request_id`] before the span opens.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    /// An incoming `X-Request-Id` from a trusted proxy, or a new UUID.
    pub id: String,
    /// When the request arrived.
    pub started: std::time::Instant,
}

/// The request id as a span field (empty when the middleware set none).
struct RequestIdField(Option<RequestMeta>);

impl std::fmt::Display for RequestIdField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(meta) => f.write_str(&meta.id),
            None => Ok(()),
        }
    }
}

/// A request id worth keeping: 1–128 characters of `[A-Za-z0-9._:-]`.
fn sane_request_id(raw: &str) -> bool {
    (1..=128).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

/// Gives every request an id (an incoming `X-Request-Id` only from a
/// trusted proxy, else a new UUID), logs it on the request line and returns
/// it as `X-Request-Id`.
///
/// # Errors
/// The inner service's.
pub async fn request_id(
    req: ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, Error> {
    let trusted = req
        .app_data::<actix_web::web::Data<crate::state::AppState>>()
        .is_some_and(|state| state.trusted_proxies.trusts_peer(req.request()));
    let incoming = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| trusted && sane_request_id(v));
    let id = incoming.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    req.extensions_mut().insert(RequestMeta {
        id: id.clone(),
        started: std::time::Instant::now(),
    });
    let mut response = next.call(req).await?.map_into_boxed_body();
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&id) {
        response.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("x-request-id"),
            value,
        );
    }
    Ok(response)
}

/// The client IP as a span field (empty when unknown).
struct ClientIpField(Option<std::net::IpAddr>);

impl std::fmt::Display for ClientIpField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(ip) => std::fmt::Display::fmt(ip, f),
            None => Ok(()),
        }
    }
}

/// The root span of every request: no query string, no headers.
#[derive(Debug)]
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        // Formatted by the subscriber only if the span is enabled: a quiet
        // request at `info` does not pay for it.
        let request_id = RequestIdField(request.extensions().get::<RequestMeta>().cloned());
        let client_ip = ClientIpField(
            request
                .app_data::<actix_web::web::Data<crate::state::AppState>>()
                .and_then(|state| state.client_ip(request.request())),
        );
        if is_quiet(request.path()) {
            return tracing::debug_span!(
                "request",
                method = %request.method(),
                path = %request.path(),
                client_ip = %client_ip,
                request_id = %request_id,
                status = tracing::field::Empty,
                latency_ms = tracing::field::Empty,
            );
        }
        tracing::info_span!(
            "request",
            method = %request.method(),
            path = %request.path(),
            client_ip = %client_ip,
            request_id = %request_id,
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let status = match outcome {
            Ok(response) => response.status().as_u16(),
            Err(error) => error.as_response_error().status_code().as_u16(),
        };
        span.record("status", status);
        if let Ok(response) = outcome
            && let Some(meta) = response.request().extensions().get::<RequestMeta>()
        {
            let micros = meta.started.elapsed().as_micros();
            // Milliseconds with three decimals, as a number.
            span.record("latency_ms", (micros as f64) / 1000.0);
        }
        // A quiet path's span is below `info`; its failures still are not.
        if status >= 400
            && let Ok(response) = outcome
            && is_quiet(response.request().path())
            && span.is_disabled()
        {
            tracing::info!(method = %response.request().method(), path = %response.request().path(), status, "request");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sane_request_ids_are_kept() {
        for ok in ["abc", "0192f0c1-7c1e-7a55-9d8e-3f5b2a1c4d6e", "req.1:2_3"] {
            assert!(sane_request_id(ok), "{ok}");
        }
        for bad in ["", "a b", "x\ny", &"a".repeat(129), "<script>"] {
            assert!(!sane_request_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn probes_and_token_lookups_are_quiet_and_nothing_else_is() {
        for path in ["/healthz", "/readyz", "/api/auth/me"] {
            assert!(is_quiet(path), "{path}");
        }
        for path in ["/api/auth/login", "/api/auth/me/", "/api/auth/meh", "/ws", "/"] {
            assert!(!is_quiet(path), "{path}");
        }
    }
}
