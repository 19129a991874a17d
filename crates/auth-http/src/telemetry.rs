//! Logging set-up and the per-request span.
//!
//! What is logged per request: method, path **without the query string**
//! (codes may arrive as query parameters of `check/auth-code`), status,
//! latency and a request id. Bodies and headers are never logged.

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderName, HeaderValue};
use tracing::Span;
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

/// The request id as a span field.
struct RequestIdField(HeaderValue);

impl std::fmt::Display for RequestIdField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Always text: a new UUID or an id that passed `sane_request_id`.
        f.write_str(self.0.to_str().unwrap_or_default())
    }
}

/// A request id worth keeping: 1–128 characters of `[A-Za-z0-9._:-]`.
fn sane_request_id(raw: &str) -> bool {
    (1..=128).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

/// The request's id: an incoming `X-Request-Id` only from a trusted proxy,
/// else a new UUID.
fn request_id(req: &ServiceRequest) -> HeaderValue {
    let incoming = req
        .headers()
        .get(X_REQUEST_ID_NAME)
        .filter(|v| v.to_str().is_ok_and(sane_request_id))
        .filter(|_| {
            req.app_data::<actix_web::web::Data<crate::state::AppState>>()
                .is_some_and(|state| state.trusted_proxies.trusts_peer(req.request()))
        });
    match incoming {
        Some(id) => id.clone(),
        None => {
            let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
            let id = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf);
            // A hyphenated UUID is always a valid header value.
            HeaderValue::from_str(id).unwrap_or_else(|_| HeaderValue::from_static(""))
        }
    }
}

/// `X-Request-Id`.
const X_REQUEST_ID: &str = "x-request-id";
/// The same, as a header name made once (looking a header up by `&str`
/// parses the name on every request).
const X_REQUEST_ID_NAME: HeaderName = HeaderName::from_static(X_REQUEST_ID);

/// Everything the service records about a request, in one middleware:
/// - the request id ([`request_id`]), on the request line and returned as
///   `X-Request-Id`;
/// - the request span ([`RequestSpan`]), around the handler, closed (and
///   so logged, `FmtSpan::CLOSE`) when the response is ready; like
///   `tracing_actix_web`'s logger, a response carrying an error also logs
///   that error (a warning for 4xx, an error for 5xx) inside the span;
/// - `http_requests_total` and `http_request_duration_seconds`
///   ([`crate::metrics`]).
///
/// One middleware rather than three (`tracing_actix_web::TracingLogger`
/// and two `from_fn` layers): each of those boxed the inner service's
/// future, the request id was generated twice and the span's fields were
/// computed even when the span was off. See `docs/performance.md`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestTelemetry;

impl<S, B> Transform<S, ServiceRequest> for RequestTelemetry
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = RequestTelemetryService<S>;
    type InitError = ();
    type Future = std::future::Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        std::future::ready(Ok(RequestTelemetryService { service }))
    }
}

/// [`RequestTelemetry`] around a service.
#[derive(Debug)]
pub struct RequestTelemetryService<S> {
    service: S,
}

impl<S, B> Service<ServiceRequest> for RequestTelemetryService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = Telemetry<S::Future>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let started = std::time::Instant::now();
        let id = request_id(&req);
        let span = RequestSpan::on_request_start(&req, &id);
        let method = req.method().clone();
        let fut = span.in_scope(|| self.service.call(req));
        Telemetry {
            fut,
            span,
            id,
            started,
            method,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of a request under [`RequestTelemetry`].
    pub struct Telemetry<F> {
        #[pin]
        fut: F,
        span: Span,
        id: HeaderValue,
        started: std::time::Instant,
        method: actix_web::http::Method,
    }
}

impl<F, B> std::future::Future for Telemetry<F>
where
    F: std::future::Future<Output = Result<ServiceResponse<B>, Error>>,
    B: MessageBody,
{
    type Output = F::Output;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let this = self.project();
        let fut = this.fut;
        let std::task::Poll::Ready(mut outcome) = this.span.in_scope(|| fut.poll(cx)) else {
            return std::task::Poll::Pending;
        };
        this.span.in_scope(|| {
            RequestSpan::on_request_end(this.span, *this.started, &outcome);
            log_error(&outcome);
        });
        if let Ok(response) = &mut outcome {
            crate::metrics::request(this.method, response, this.started.elapsed());
            response.headers_mut().insert(X_REQUEST_ID_NAME, this.id.clone());
        }
        std::task::Poll::Ready(outcome)
    }
}

/// Logs the error a response carries, as `tracing_actix_web` did before
/// [`RequestTelemetry`] replaced it (same message and levels).
fn log_error<B>(outcome: &Result<ServiceResponse<B>, Error>) {
    let (error, status) = match outcome {
        Ok(response) => match response.response().error() {
            Some(error) => (error.as_response_error(), response.status()),
            None => return,
        },
        Err(error) => (error.as_response_error(), error.as_response_error().status_code()),
    };
    let prefix = "Error encountered while processing the incoming HTTP request";
    if status.is_client_error() {
        tracing::warn!("{}: {:?}", prefix, error);
    } else {
        tracing::error!("{}: {:?}", prefix, error);
    }
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

/// The span of every request: no query string, no headers.
#[derive(Debug)]
pub struct RequestSpan;

impl RequestSpan {
    fn on_request_start(request: &ServiceRequest, id: &HeaderValue) -> Span {
        // The field values are computed only if the span is enabled (the
        // macros evaluate them after the level check): a quiet request at
        // `info` does not pay for them.
        let request_id = || RequestIdField(id.clone());
        let client_ip = || {
            ClientIpField(
                request
                    .app_data::<actix_web::web::Data<crate::state::AppState>>()
                    .and_then(|state| state.client_ip(request.request())),
            )
        };
        if is_quiet(request.path()) {
            return tracing::debug_span!(
                "request",
                method = %request.method(),
                path = %request.path(),
                client_ip = %client_ip(),
                request_id = %request_id(),
                status = tracing::field::Empty,
                latency_ms = tracing::field::Empty,
            );
        }
        tracing::info_span!(
            "request",
            method = %request.method(),
            path = %request.path(),
            client_ip = %client_ip(),
            request_id = %request_id(),
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        )
    }

    /// Records the outcome on `span` (the request line, logged when the span
    /// closes); a failed quiet request, whose span is below `info`, gets an
    /// `info` line of its own.
    fn on_request_end<B>(
        span: &Span,
        started: std::time::Instant,
        outcome: &Result<ServiceResponse<B>, Error>,
    ) {
        let status = match outcome {
            Ok(response) => response.status().as_u16(),
            Err(error) => error.as_response_error().status_code().as_u16(),
        };
        if !span.is_disabled() {
            span.record("status", status);
            if outcome.is_ok() {
                let micros = started.elapsed().as_micros();
                // Milliseconds with three decimals, as a number.
                span.record("latency_ms", (micros as f64) / 1000.0);
            }
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
