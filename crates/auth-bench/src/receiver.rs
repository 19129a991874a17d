//! Back-channel logout receivers for `logout-bench`: [`Receiver`], an
//! actix-web server on a loopback port that answers 200 to every request
//! and counts the logout tokens posted to it, and [`hung`], a listener that
//! accepts connections and never answers (a service that hangs).

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine as _;
use serde_json::Value;

/// What a [`Receiver`] counted since its last [`Receiver::reset`].
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Requests answered.
    pub posts: usize,
    /// The distinct `sid`s of the logout tokens.
    pub sids: HashSet<String>,
    /// The distinct `alg`s of their headers.
    pub algs: HashSet<String>,
    /// When the first request arrived.
    pub first: Option<Instant>,
    /// When the last new `sid` arrived.
    pub last: Option<Instant>,
}

/// A counting receiver, stopped on drop.
#[derive(Debug)]
pub struct Receiver {
    tally: web::Data<Mutex<Tally>>,
    handle: actix_web::dev::ServerHandle,
    /// `http://127.0.0.1:PORT`; every path is answered.
    pub base: String,
}

/// The JSON of part `i` of a compact JWS (`Null` when it is not one).
fn jws_part(token: &str, i: usize) -> Value {
    token
        .split('.')
        .nth(i)
        .and_then(|p| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}

/// 200 to every request; notes the `alg` and `sid` of the posted
/// `logout_token` (decoded, not verified: the server is trusted here).
async fn receive(tally: web::Data<Mutex<Tally>>, body: web::Bytes) -> HttpResponse {
    let now = Instant::now();
    let token = std::str::from_utf8(&body)
        .ok()
        .and_then(|b| b.strip_prefix("logout_token="))
        .unwrap_or("");
    let (header, claims) = (jws_part(token, 0), jws_part(token, 1));
    let mut t = lock(&tally);
    t.posts += 1;
    t.first.get_or_insert(now);
    if let Some(alg) = header["alg"].as_str() {
        t.algs.insert(alg.to_owned());
    }
    if let Some(sid) = claims["sid"].as_str()
        && t.sids.insert(sid.to_owned())
    {
        t.last = Some(now);
    }
    HttpResponse::Ok().finish()
}

fn lock(tally: &Mutex<Tally>) -> MutexGuard<'_, Tally> {
    // The counts stay usable after a panicking handler: keep them.
    tally.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Receiver {
    /// Starts the receiver (one actix worker) on a free loopback port;
    /// needs a tokio runtime.
    pub fn start() -> Receiver {
        let tally = web::Data::new(Mutex::new(Tally::default()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let data = tally.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver { tally, handle, base }
    }

    /// What was counted so far.
    pub fn tally(&self) -> Tally {
        lock(&self.tally).clone()
    }

    /// How many distinct sessions were named so far.
    pub fn sessions(&self) -> usize {
        lock(&self.tally).sids.len()
    }

    /// Forgets what was counted.
    pub fn reset(&self) {
        *lock(&self.tally) = Tally::default();
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        // Sends the stop command; the returned future only waits for it.
        drop(self.handle.stop(false));
    }
}

/// A loopback listener that accepts connections, reads nothing and never
/// answers, as a hung service does: `http://127.0.0.1:PORT` and the task
/// holding the connections (abort it to close them). Needs a tokio runtime.
pub fn hung() -> (String, tokio::task::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (base, task)
}
