//! Wiring: adapters from settings, the domain service, the HTTP server.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::DefaultHeaders;
use actix_web::{App, HttpServer, web};

use auth_domain::housekeeping::Housekeeper;
use auth_domain::ports::EventBus;
use auth_infra::{Backend, LocalEventBus, PgEventBus, SystemClock, redact_database_url};
use auth_ws::{Registry, WsConfig, WsState};

use crate::client_ip::TrustedProxies;
use crate::rate_limit::RateLimit;
use crate::routes::{RouteConflict, RoutePlan};
use crate::settings::{EventBusKind, Settings, SettingsError};
use crate::state::AppState;

mod chat;
mod keys;
mod services;
mod shutdown;
mod signals;
pub use shutdown::ShutdownHandle;
pub(crate) use signals::describe_metrics as describe_delivery_metrics;
mod social;

pub use services::{
    apps_service, build_mailer, build_service_with, housekeeper, import_service, oauth_client_registry,
    oidc_ports, open_database, service_core, session_admin_service, session_revoker, user_admin_service,
};

pub use keys::{KeySource, RotateError, Rotation, TokenKeys};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Bad configuration.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// Two contracts claim one route.
    #[error(transparent)]
    Routes(#[from] RouteConflict),
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Database(#[from] auth_infra::DbError),
    /// The mailer could not be set up.
    #[error("mail: {0}")]
    Mail(#[from] auth_infra::MailConfigError),
    /// `AUTH_EVENT_BUS=postgres` on a SQLite database.
    #[error("event bus: {0}")]
    EventBus(&'static str),
    /// A social-login provider could not be set up.
    #[error("social login: {0}")]
    OAuth(#[from] auth_infra::OAuthConfigError),
    /// The signing keys are unusable.
    #[error("signing keys: {0}")]
    Keys(String),
    /// The password hasher could not be set up.
    #[error("password hasher: {0}")]
    Hasher(String),
    /// The passkey relying party (`AUTH_WEBAUTHN_RP_ID`,
    /// `AUTH_WEBAUTHN_ORIGINS`, `AUTH_PUBLIC_URL`) is unusable.
    #[error("passkeys: {0}")]
    Webauthn(String),
    /// The back-channel logout sender could not be set up.
    #[error("back-channel logout: {0}")]
    Signals(String),
    /// The running server failed.
    #[error("server: {0}")]
    Serve(#[source] std::io::Error),
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// A built, bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    /// `GET /metrics` alone, on `AUTH_METRICS_BIND`.
    metrics_server: Option<Server>,
    metrics_port: Option<u16>,
    /// The listener thread, stopped and joined however the application
    /// ends (dropped included).
    pg_listener: Option<shutdown::Listener>,
    registry: Arc<Registry>,
    /// The scheduled purge, stopped with the server.
    purge: Option<tokio::task::JoinHandle<()>>,
    /// The periodic re-read of the signing keys, stopped with the server.
    key_refresh: tokio::task::JoinHandle<()>,
    /// The back-channel logout deliveries, flushed at shutdown.
    deliveries: signals::Deliveries,
    /// Password upgrades still running, waited for at shutdown.
    background: auth_infra::TokioBackground,
    chat: Arc<auth_ws::ChatPresence>,
    draining: crate::state::Draining,
    /// `AUTH_SHUTDOWN_TIMEOUT_SECONDS`.
    shutdown_timeout: std::time::Duration,
    /// `AUTH_SHUTDOWN_DRAIN_SECONDS`.
    shutdown_drain: std::time::Duration,
    /// What [`ShutdownHandle::begin`] sets.
    shutdown: tokio::sync::watch::Sender<bool>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

// One area's service, for a command that uses that area only: each builds
// the adapters its use cases work through and nothing else (no signing
// key, mailer or OAuth client unless named).

/// Headers on every response: nothing is cached or sniffed, framed, or
/// allowed to load anything; `Strict-Transport-Security` only when the
/// service is published over HTTPS (`AUTH_PUBLIC_URL`).
fn security_headers(hsts: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("Cache-Control", "no-store"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Frame-Options", "DENY"))
        .add((
            "Content-Security-Policy",
            "default-src 'none'; frame-ancestors 'none'",
        ));
    if hsts {
        headers.add(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    } else {
        headers
    }
}

/// Runs `housekeeper` every `every`, first after one period, until the
/// task is aborted. Failures are logged and retried at the next period.
fn spawn_purge(housekeeper: Housekeeper, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match housekeeper.purge().await {
                Ok(report) if report.total() > 0 => tracing::info!(?report, "purged expired rows"),
                Ok(_) => tracing::debug!("purge: nothing expired"),
                Err(e) => tracing::warn!(error = %e, "purge failed; retrying at the next period"),
            }
        }
    })
}

/// Whether a request goes to the admin API, decided on the path the router
/// matches: percent-decoded as actix decodes it, so `/%69nternal/apps`
/// (which reaches `/internal/apps`) is `/internal` too.
fn is_internal(uri: &actix_web::http::Uri) -> bool {
    actix_web::dev::Url::new(uri.clone())
        .path()
        .starts_with("/internal")
}

/// CORS for browser front ends on `origins` (exact matches): the public
/// routes answer preflights and carry `Access-Control-Allow-Origin` for
/// them; `/internal` never does (an admin token has no business in a
/// browser), however its path is spelt ([`is_internal`]).
fn cors(origins: Vec<String>) -> actix_cors::Cors {
    actix_cors::Cors::default()
        .allowed_origin_fn(move |origin, request| {
            !is_internal(&request.uri)
                && origin
                    .to_str()
                    .is_ok_and(|o| origins.iter().any(|allowed| allowed == o))
        })
        .allowed_methods(["GET", "POST"])
        .allowed_headers([
            actix_web::http::header::AUTHORIZATION,
            actix_web::http::header::CONTENT_TYPE,
            actix_web::http::header::HeaderName::from_static("app-id"),
        ])
        .expose_headers([
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::LOCATION,
        ])
        .max_age(600)
}

/// The separate `/metrics` listener (`AUTH_METRICS_BIND`): one worker,
/// one route; its bound port (port 0 picks one).
fn metrics_server(
    addr: std::net::SocketAddr,
    state: web::Data<AppState>,
    ws: web::Data<WsState>,
    metrics: web::Data<crate::metrics::MetricsState>,
) -> Result<(u16, Server), StartupError> {
    let bind_error = |source| StartupError::Bind {
        addr: addr.to_string(),
        source,
    };
    let listener = TcpListener::bind(addr).map_err(bind_error)?;
    let port = listener.local_addr().map_err(bind_error)?.port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(ws.clone())
            .app_data(metrics.clone())
            .route("/metrics", web::get().to(crate::metrics::scrape_dedicated))
    })
    .workers(1)
    .shutdown_timeout(1)
    .listen(listener)
    .map_err(bind_error)?
    .run();
    Ok((port, server))
}

impl Application {
    /// Validates settings, opens and migrates the database, wires the
    /// adapters and binds the listener (port 0 picks a free port; read it
    /// back with [`Application::port`]).
    ///
    /// # Errors
    /// [`StartupError`].
    pub async fn build(mut settings: Settings) -> Result<Self, StartupError> {
        settings.validate()?;
        let bind = settings.http.bind;
        let listener = TcpListener::bind(bind).map_err(|source| StartupError::Bind {
            addr: bind.to_string(),
            source,
        })?;
        let bound = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: bind.to_string(),
            source,
        })?;
        let port = bound.port();
        // Port 0 picked a port: a public URL taken from the listen address
        // names the one it got.
        if settings.oauth.public_url_from_bind {
            settings.oauth.public_url = crate::settings::public_url_of(bound);
        }
        let plan = Arc::new(RoutePlan::build(&settings.contracts)?);
        let db = open_database(&settings).await?;
        tracing::info!(database = %redact_database_url(&settings.database.url), backend = ?db.backend(), "database ready");
        let local = LocalEventBus::new(4096);
        let (events, pg_bus): (Arc<dyn EventBus>, Option<PgEventBus>) =
            match (settings.database.event_bus, db.backend()) {
                (EventBusKind::Local, _) | (EventBusKind::Auto, Backend::Sqlite) => {
                    (Arc::new(local.clone()), None)
                }
                (EventBusKind::Postgres | EventBusKind::Auto, Backend::Postgres) => {
                    let poll = std::time::Duration::from_millis(5);
                    let bus =
                        PgEventBus::start(db.clone(), settings.database.url.clone(), local.clone(), poll);
                    (Arc::new(bus.clone()), Some(bus))
                }
                _ => return Err(StartupError::EventBus("`postgres` needs a PostgreSQL database")),
            };
        tracing::info!(cross_instance = pg_bus.is_some(), "event bus ready");
        let keys = Arc::new(TokenKeys::load(&settings, &db).await?);
        let background = auth_infra::TokioBackground::new();
        let auth = services::build_service_tracked(&settings, &db, events, &keys, background.clone()).await?;
        let key_refresh = keys.spawn_refresh();
        let purge = (!settings.purge.interval.is_zero())
            .then(|| spawn_purge(housekeeper(&settings, &db), settings.purge.interval));
        let deliveries = signals::spawn_deliveries(auth.clone(), &settings.signals, local.subscribe())?;
        let registry = Arc::new(Registry::default());
        let draining = crate::state::Draining::default();
        auth_ws::spawn_dispatcher(registry.clone(), local.subscribe());
        let chat = Arc::new(auth_ws::ChatPresence::default());
        let ws_state = web::Data::new(WsState {
            auth: auth.clone(),
            registry: registry.clone(),
            config: WsConfig {
                heartbeat: settings.sockets.heartbeat,
                idle_timeout: settings.sockets.idle_timeout,
                session_check: settings.sockets.session_check,
            },
            chat: chat.clone(),
            clock: Arc::new(SystemClock),
        });
        let state = web::Data::new(AppState {
            auth,
            db: db.clone(),
            max_body_bytes: settings.http.max_body_bytes,
            import_max_bytes: settings.http.import_max_bytes,
            admin_token: settings.http.admin_token.clone(),
            oauth_success_redirect: settings.oauth.success_redirect.clone(),
            oauth_app_redirect: settings.oauth.app_redirect.clone(),
            trusted_proxies: TrustedProxies::new(settings.http.trusted_proxies.clone()),
            metrics_enabled: settings.metrics.enabled,
            rate_limit: RateLimit::new(
                settings.throttle.rate_limit_enabled,
                settings.throttle.rate_limit_per_minute,
                settings.throttle.client_ipv6_prefix,
            )
            .exempting(settings.throttle.rate_limit_exempt.clone())
            .stored_in(&db),
            oauth_cookie: crate::state::OAuthCookie::new(
                &settings.oauth.public_url,
                &settings.contracts.picsel.prefix,
            ),
            hosted_social: auth_domain::social::Provider::ALL
                .into_iter()
                .filter(|p| {
                    settings.contracts.picsel.enabled
                        && settings
                            .oauth
                            .provider(*p, &settings.contracts.picsel.prefix)
                            .is_some()
                })
                .collect(),
            sockets: registry.clone(),
            admin_require_mfa: settings.http.admin_require_mfa,
            feed: crate::ssf::FeedConfig {
                retention: settings.signals.retention,
                poll_wait: settings.signals.poll_wait,
                wake: local.clone(),
            },
            draining: draining.clone(),
        });
        let hsts = settings.oauth.public_url.starts_with("https://");
        let served = web::Data::new(crate::openapi::Served(Arc::new(crate::openapi::document(
            &plan,
            env!("CARGO_PKG_VERSION"),
        ))));
        let cors_origins = settings.http.cors_allowed_origins.clone();
        let token_keys = web::Data::from(keys);
        if settings.metrics.enabled {
            crate::metrics::handle();
            // The console's logins per minute need samples from before
            // the first visit.
            crate::web::admin_stats::start_sampler();
        }
        let metrics_state = web::Data::new(crate::metrics::MetricsState::new(
            settings.metrics.enabled && settings.metrics.bind.is_none(),
            state.db.clone(),
            settings.metrics.password_schemes,
        ));
        let metrics_server = match settings.metrics.bind.filter(|_| settings.metrics.enabled) {
            Some(addr) => Some(metrics_server(
                addr,
                state.clone(),
                ws_state.clone(),
                metrics_state.clone(),
            )?),
            None => None,
        };
        let mut server = HttpServer::new(move || {
            let plan = plan.clone();
            App::new()
                .app_data(metrics_state.clone())
                .wrap(actix_web::middleware::Condition::new(
                    !cors_origins.is_empty(),
                    cors(cors_origins.clone()),
                ))
                .app_data(state.clone())
                .app_data(ws_state.clone())
                .wrap(security_headers(hsts))
                .wrap(actix_web::middleware::from_fn(shutdown::close_when_draining))
                .wrap(crate::telemetry::RequestTelemetry)
                .app_data(served.clone())
                .app_data(token_keys.clone())
                .configure(move |cfg| plan.mount(cfg))
        })
        .shutdown_timeout(settings.http.shutdown_timeout.as_secs())
        // SIGTERM and SIGINT are ours: the sequence begins before actix
        // stops accepting (`run_until_stopped`).
        .disable_signals();
        if let Some(workers) = settings.http.workers {
            server = server.workers(workers.max(1));
        }
        let server = server
            .listen(listener)
            .map_err(|source| StartupError::Bind {
                addr: bind.to_string(),
                source,
            })?
            .run();
        tracing::info!(port, version = env!("CARGO_PKG_VERSION"), "listening");
        let metrics_port = metrics_server.as_ref().map(|(port, _)| *port);
        if let Some(metrics_port) = metrics_port {
            tracing::info!(port = metrics_port, "serving /metrics on its own listener");
        }
        Ok(Self {
            port,
            server,
            metrics_server: metrics_server.map(|(_, server)| server),
            metrics_port,
            pg_listener: pg_bus.map(shutdown::Listener),
            registry,
            purge,
            key_refresh,
            deliveries,
            background,
            chat,
            draining,
            shutdown_timeout: settings.http.shutdown_timeout,
            shutdown_drain: settings.http.shutdown_drain,
            shutdown: tokio::sync::watch::Sender::new(false),
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the separate `/metrics` listener (`AUTH_METRICS_BIND`),
    /// when there is one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
    }

    /// A handle to the HTTP server alone (its `stop` skips the drain: no
    /// 503 first, sockets not closed); see [`Application::shutdown_handle`].
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Begins the shutdown sequence as SIGTERM does.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.shutdown.clone())
    }

    /// Serves until SIGTERM or SIGINT (or [`ShutdownHandle::begin`]), then
    /// shuts down as `startup/shutdown.rs` describes: `/readyz` 503 at
    /// once, sockets closed with 1001, requests in flight finished within
    /// `AUTH_SHUTDOWN_TIMEOUT_SECONDS`, background work flushed, the
    /// listener thread and the pools closed. [`ServerHandle::stop`] stops
    /// the HTTP server without the drain, and the rest of the sequence
    /// follows.
    ///
    /// # Errors
    /// I/O errors of the server.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Self {
            server,
            metrics_server,
            pg_listener,
            registry,
            purge,
            key_refresh,
            deliveries,
            background,
            draining,
            shutdown_timeout,
            shutdown_drain,
            shutdown,
            ..
        } = self;
        let metrics = metrics_server.map(|server| {
            let handle = server.handle();
            tokio::spawn(server);
            handle
        });
        let handle = server.handle();
        let mut server = std::pin::pin!(server);
        let mut begun = shutdown.subscribe();
        let result = tokio::select! {
            result = &mut server => result,
            why = shutdown::requested(&mut begun) => {
                tracing::info!(
                    signal = why,
                    drain_seconds = shutdown_drain.as_secs(),
                    timeout_seconds = shutdown_timeout.as_secs(),
                    "shutting down: draining"
                );
                draining.begin();
                let sockets = registry.close_all();
                tracing::info!(sockets, "sockets told to go away (1001)");
                // Still accepting for the drain: `/readyz` answers 503 to
                // the balancer, and what the proxy still sends is served,
                // each connection closed after its response. Then the
                // listener closes and in-flight requests finish. A second
                // signal, during either, stops at once.
                let graceful = async {
                    tokio::time::sleep(shutdown_drain).await;
                    drop(handle.stop(true));
                    (&mut server).await
                };
                tokio::select! {
                    result = graceful => result,
                    why = shutdown::signal() => {
                        tracing::warn!(signal = why, "second signal: stopping at once");
                        drop(handle.stop(false));
                        server.await
                    }
                }
            }
        };
        if let Some(metrics) = metrics {
            metrics.stop(true).await;
        }
        if let Some(purge) = &purge {
            purge.abort();
        }
        key_refresh.abort();
        let bound = shutdown::stage_bound(shutdown_timeout);
        let (flushed, running) = tokio::join!(deliveries.finish(bound), background.drain(bound));
        if !flushed {
            tracing::warn!("back-channel posts still in flight at exit: their leases hand them on");
        }
        if running > 0 {
            tracing::warn!(
                tasks = running,
                "password upgrades still running at exit: done at a later login"
            );
        }
        if let Some(listener) = pg_listener {
            // Joins the thread (a few milliseconds): off the runtime.
            let _ = tokio::task::spawn_blocking(move || drop(listener)).await;
        }
        match &result {
            Ok(()) => tracing::info!(version = env!("CARGO_PKG_VERSION"), "stopped"),
            Err(e) => tracing::error!(error = %e, "stopped with an error"),
        }
        result
    }

    /// The sockets this instance holds (for tests and metrics).
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.clone()
    }

    /// Who is connected to a `chat` socket on this instance (for tests and
    /// metrics).
    pub fn chat_presence(&self) -> Arc<auth_ws::ChatPresence> {
        self.chat.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::is_internal;

    #[test]
    fn the_admin_api_is_recognised_however_its_path_is_spelt() {
        for path in [
            "/internal/apps",
            "/%69nternal/apps",
            "/%69%6E%74ernal/users",
            "/internal%2Fapps",
            "/internal",
        ] {
            assert!(is_internal(&path.parse().unwrap()), "{path}");
        }
        for path in ["/api/auth/login", "/api/internal", "/%2Finternal/apps", "/"] {
            assert!(!is_internal(&path.parse().unwrap()), "{path}");
        }
    }
}
