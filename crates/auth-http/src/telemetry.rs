//! Logging set-up and the per-request log line.
//!
//! Each request ends with one event, `request completed`, whatever the
//! contract and whatever the outcome: method, route (the matched pattern),
//! path **without the query string** (codes may arrive as query parameters
//! of `check/auth-code`), status, latency, client IP, user agent, request
//! id and, when a handler verified an access token, the user id. Bodies
//! and other headers are never logged.

use actix_web::Error;
use actix_web::HttpMessage as _;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderName, HeaderValue};
use tracing::Span;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber (call once, from `main`, and keep the
/// returned guard until exit: dropping it flushes what is still queued).
/// `format` is `text` or `json`; the filter comes from `RUST_LOG` (default
/// `info`). Each request is logged once, by its `request completed` event
/// (spans are never logged on their own: no `close` lines).
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
        .with_ansi(ansi);
    // `try_init` fails only when a subscriber is already installed (tests);
    // keeping the existing one is right then.
    let installed = if *format == crate::settings::LogFormat::Json {
        // Lines logged inside a request keep its `request_id` under
        // `span`; the `request completed` event is logged outside the
        // request's span, so its fields are all top-level.
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
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

/// The request id as a field.
struct RequestIdField<'a>(&'a HeaderValue);

impl std::fmt::Display for RequestIdField<'_> {
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
/// - a `request` span with the request id around the handler, so that
///   what is logged while the request runs carries the id;
/// - like `tracing_actix_web`'s logger, a response carrying an error also
///   logs that error (a warning for 4xx, an error for 5xx) inside the span;
/// - the request line, one `request completed` event ([`completed`]),
///   logged after the span is left;
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
        let span = request_span(&req, &id);
        let method = req.method().clone();
        // Kept for a request that ends in an `Err` (no request to read
        // then); a `Uri` clone shares its bytes.
        let uri = req.uri().clone();
        let fut = span.in_scope(|| self.service.call(req));
        Telemetry {
            fut,
            span,
            id,
            started,
            method,
            uri,
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
        uri: actix_web::http::Uri,
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
        let elapsed = this.started.elapsed();
        this.span.in_scope(|| log_error(&outcome));
        // Outside the span: the line's fields are its own, not nested.
        completed(this.method, this.uri, this.id, elapsed, &outcome);
        if let Ok(response) = &mut outcome {
            crate::metrics::request(this.method, response, elapsed);
            response.headers_mut().insert(X_REQUEST_ID_NAME, this.id.clone());
        }
        std::task::Poll::Ready(outcome)
    }
}

/// Logs the error a response carries (a warning for 4xx, an error for
/// 5xx), with the error's message (`Display`), never its `Debug` dump.
fn log_error<B>(outcome: &Result<ServiceResponse<B>, Error>) {
    let (error, status) = match outcome {
        Ok(response) => match response.response().error() {
            Some(error) => (error.as_response_error(), response.status()),
            None => return,
        },
        Err(error) => (error.as_response_error(), error.as_response_error().status_code()),
    };
    let code = status.as_u16();
    if status.is_client_error() {
        tracing::warn!(status = code, error = %error, "request refused");
    } else {
        tracing::error!(status = code, error = %error, "request failed");
    }
}

/// The user a request acted for, recorded by the handler that verified its
/// access token (the `user_id` of the request line: the token's `sub`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownUser(pub uuid::Uuid);

impl KnownUser {
    /// Records `user` on `req` for the request line; nothing when that
    /// line would not be logged at the level its path logs a success at
    /// (a quiet path's `debug` is off by default), so a token lookup on
    /// `GET /api/auth/me` costs no allocation.
    pub fn record(req: &actix_web::HttpRequest, user: uuid::Uuid) {
        let logged = if is_quiet(req.path()) {
            tracing::enabled!(tracing::Level::DEBUG)
        } else {
            tracing::enabled!(tracing::Level::INFO)
        };
        if logged {
            req.extensions_mut().insert(Self(user));
        }
    }
}

/// The longest user agent logged, in characters.
const USER_AGENT_MAX: usize = 256;

/// The `User-Agent` to log: control characters dropped, at most
/// [`USER_AGENT_MAX`] characters, invalid UTF-8 replaced.
fn user_agent(headers: &actix_web::http::header::HeaderMap) -> String {
    headers
        .get(actix_web::http::header::USER_AGENT)
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .chars()
                .filter(|c| !c.is_control())
                .take(USER_AGENT_MAX)
                .collect()
        })
        .unwrap_or_default()
}

/// The client IP as a field (empty when unknown).
struct ClientIpField(Option<std::net::IpAddr>);

impl std::fmt::Display for ClientIpField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(ip) => std::fmt::Display::fmt(ip, f),
            None => Ok(()),
        }
    }
}

/// The span of every request: the request id only (no query string, no
/// headers), at `debug` on the quiet paths. Never logged itself; the lines
/// logged inside it carry it.
fn request_span(request: &ServiceRequest, id: &HeaderValue) -> Span {
    if is_quiet(request.path()) {
        return tracing::debug_span!("request", request_id = %RequestIdField(id));
    }
    tracing::info_span!("request", request_id = %RequestIdField(id))
}

/// The one request line, `request completed`, the same for every contract
/// and outcome; `debug` for a successful request on a quiet path, else
/// `info`.
macro_rules! request_line {
    ($level:ident, $line:expr) => {{
        let line = $line;
        tracing::$level!(
            method = %line.method,
            route = %line.route,
            path = %line.path,
            status = line.status,
            latency_ms = line.latency_ms,
            client_ip = %line.client_ip,
            request_id = %line.request_id,
            user_id = line.user_id.map(tracing::field::display),
            user_agent = %line.user_agent,
            "request completed"
        )
    }};
}

/// The fields of the request line.
struct RequestLine<'a> {
    method: &'a actix_web::http::Method,
    route: String,
    path: &'a str,
    status: u16,
    latency_ms: f64,
    client_ip: ClientIpField,
    request_id: RequestIdField<'a>,
    user_id: Option<uuid::Uuid>,
    user_agent: String,
}

/// Logs the request line of `outcome` (see [`request_line!`]). Its fields
/// are computed only when the line is logged at all.
fn completed<'a, B>(
    method: &'a actix_web::http::Method,
    uri: &'a actix_web::http::Uri,
    id: &'a HeaderValue,
    elapsed: std::time::Duration,
    outcome: &'a Result<ServiceResponse<B>, Error>,
) {
    let (status, request) = match outcome {
        Ok(response) => (response.status().as_u16(), Some(response.request())),
        Err(error) => (error.as_response_error().status_code().as_u16(), None),
    };
    let path = request.map_or_else(|| uri.path(), actix_web::HttpRequest::path);
    let quiet = status < 400 && is_quiet(path);
    let enabled = if quiet {
        tracing::enabled!(tracing::Level::DEBUG)
    } else {
        tracing::enabled!(tracing::Level::INFO)
    };
    if !enabled {
        return;
    }
    let line = RequestLine {
        method,
        route: request
            .and_then(actix_web::HttpRequest::match_pattern)
            .unwrap_or_else(|| path.to_owned()),
        path,
        status,
        // Milliseconds with three decimals, as a number.
        latency_ms: (elapsed.as_micros() as f64) / 1000.0,
        client_ip: ClientIpField(request.and_then(|r| {
            r.app_data::<actix_web::web::Data<crate::state::AppState>>()
                .map_or_else(|| r.peer_addr().map(|a| a.ip()), |state| state.client_ip(r))
        })),
        request_id: RequestIdField(id),
        user_id: request.and_then(|r| r.extensions().get::<KnownUser>().map(|u| u.0)),
        user_agent: request.map(|r| user_agent(r.headers())).unwrap_or_default(),
    };
    if quiet {
        request_line!(debug, line);
    } else {
        request_line!(info, line);
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
