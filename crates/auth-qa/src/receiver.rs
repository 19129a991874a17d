//! A back-channel logout receiver for the scenarios: a real HTTP server
//! (actix-web) on a loopback port that records every `logout_token` posted
//! to it, and answers as told: `200`, an error status, or never (a hung
//! receiver). Stopping and starting it again on the same port is a
//! receiver that was down.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

/// What the receiver answers: a status, or 0 for "never".
#[derive(Debug, Default)]
struct Shared {
    answer: AtomicU16,
    tokens: Mutex<Vec<(String, String)>>,
}

/// A running receiver. Dropping it stops it.
pub struct Receiver {
    port: u16,
    shared: Arc<Shared>,
    handle: Option<ServerHandle>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

async fn receive(req: HttpRequest, body: web::Bytes, shared: web::Data<Arc<Shared>>) -> HttpResponse {
    let token = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    shared.tokens.lock().unwrap().push((req.path().to_owned(), token));
    match shared.answer.load(Ordering::SeqCst) {
        0 => {
            // A receiver that never answers: the sender's timeout ends it.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            HttpResponse::Ok().finish()
        }
        status => HttpResponse::build(
            actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::OK),
        )
        .insert_header(("Cache-Control", "no-store"))
        .finish(),
    }
}

impl Receiver {
    /// A receiver answering 200 on a free loopback port.
    pub fn start() -> Self {
        Self::start_on(0)
    }

    /// A receiver answering 200 on `port` (0: any free one).
    pub fn start_on(port: u16) -> Self {
        let shared = Arc::new(Shared::default());
        shared.answer.store(200, Ordering::SeqCst);
        let mut receiver = Self {
            port,
            shared,
            handle: None,
        };
        receiver.resume();
        receiver
    }

    /// Starts serving again on the same port (after [`Self::stop`]); what
    /// was recorded stays.
    pub fn resume(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).expect("the receiver's port is free");
        self.port = listener.local_addr().unwrap().port();
        let data = web::Data::new(self.shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::post().to(receive))
        })
        .workers(1)
        .shutdown_timeout(0)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        self.handle = Some(server.handle());
        tokio::spawn(server);
    }

    /// Stops serving: the port refuses connections until [`Self::resume`].
    pub async fn stop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.stop(false).await;
        }
    }

    /// Answers `status` from now on (0: never answers).
    pub fn answer(&self, status: u16) {
        self.shared.answer.store(status, Ordering::SeqCst);
    }

    /// Its URL for `path` (`/bcl`).
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every `(path, logout_token)` received so far, in order.
    pub fn received(&self) -> Vec<(String, String)> {
        self.shared.tokens.lock().unwrap().clone()
    }

    /// Waits up to `within` for a token posted to `path` that `matches`,
    /// and returns it; panics with what did arrive otherwise.
    pub async fn wait_for(&self, path: &str, within: Duration, matches: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + within;
        loop {
            if let Some((_, token)) = self.received().into_iter().find(|(p, t)| p == path && matches(t)) {
                return token;
            }
            assert!(
                Instant::now() < deadline,
                "no matching logout token at {path} within {within:?}; received {:?}",
                self.received()
                    .iter()
                    .map(|(p, t)| (p.clone(), t.len()))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            drop(handle.stop(false));
        }
    }
}
