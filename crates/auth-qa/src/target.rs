//! What a scenario runs against: a [`Target`] that hands out servers.
//!
//! A scenario asks its target for a server, optionally with settings that
//! differ from the target's profile ([`Config`]). The in-process harness
//! (`cargo test`) starts a fresh server on a fresh database for each
//! request, with exactly those settings. The QA runner has one deployment:
//! it answers with that deployment when the settings asked for are the
//! ones the deployment runs with (its profile, see `docs/qa.md`) and
//! otherwise skips the scenario, naming the settings it needs.
//!
//! A skip is a panic with a [`Skip`] payload, so that a scenario reads as a
//! straight line (`let app = TestApp::spawn_with(…).await;`) and cannot end
//! early by accident: the runner reports it as skipped with its reason,
//! never as passed.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::mail::MailReader;
use crate::oauth::FakeProvider;

/// Why a scenario did not run: what it needs that the target lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip(pub String);

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Ends the running scenario as skipped, with `reason`.
pub fn skip(reason: impl Into<String>) -> ! {
    std::panic::panic_any(Skip(reason.into()))
}

/// Server settings as `AUTH_*` environment variables, the way operators
/// write them: changes to a target's profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    set: BTreeMap<String, String>,
    unset: Vec<String>,
}

impl Config {
    /// Sets `AUTH_…` `key` to `value`.
    pub fn set(&mut self, key: &str, value: impl ToString) -> &mut Self {
        debug_assert!(key.starts_with("AUTH_"), "{key} is not an AUTH_ setting");
        self.unset.retain(|k| k != key);
        self.set.insert(key.to_owned(), value.to_string());
        self
    }

    /// Removes `key` (back to the server's built-in default).
    pub fn unset(&mut self, key: &str) -> &mut Self {
        self.set.remove(key);
        if !self.unset.iter().any(|k| k == key) {
            self.unset.push(key.to_owned());
        }
        self
    }

    /// The variables set, sorted by name.
    pub fn vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.set.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The variables removed.
    pub fn removed(&self) -> impl Iterator<Item = &str> {
        self.unset.iter().map(String::as_str)
    }

    /// Whether nothing is changed.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.unset.is_empty()
    }

    /// `vars` applied to `base` (a profile), `removed` taken out of it.
    pub fn apply_to(&self, base: &mut BTreeMap<String, String>) {
        for key in &self.unset {
            base.remove(key);
        }
        for (k, v) in &self.set {
            base.insert(k.clone(), v.clone());
        }
    }
}

/// Whether a server must be reachable at its public URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Address {
    /// Any address.
    Any,
    /// `AUTH_PUBLIC_URL` is the address the suite reaches it on (issuer
    /// discovery).
    PublicUrlIsBase,
}

/// A server given to a scenario.
pub struct Server {
    /// `http://HOST:PORT`, no trailing slash.
    pub base: String,
    /// Its `AUTH_PUBLIC_URL`.
    pub public_url: String,
    /// Access to what only an in-process server exposes.
    pub inside: Option<Arc<dyn Inside>>,
    /// Keeps an in-process server (and its database) alive; dropped with
    /// the app.
    pub guard: Box<dyn std::any::Any + Send + Sync>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// A `chat` user as the server stores it: an application's own user id,
/// or one of our users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatUser {
    /// The application's user of that id.
    App(String),
    /// Our user of that UUID.
    Own(uuid::Uuid),
}

/// A stored `chat` profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatProfile {
    /// Its nickname.
    pub nickname: Option<String>,
    /// Its friends' ids.
    pub friends: Vec<String>,
}

/// What a scenario can reach inside an in-process server; a deployment
/// has none of it.
#[async_trait]
pub trait Inside: Send + Sync {
    /// A second instance on the same database and settings.
    async fn sibling(&self) -> Server;
    /// The `chat` profile stored for `user` of `app_id`, if any.
    async fn chat_profile(&self, app_id: &str, user: &ChatUser) -> Option<ChatProfile>;
    /// Whether `user` of `app_id` has a `chat` socket open on this instance.
    fn chat_present(&self, app_id: &str, user: &ChatUser) -> bool;
    /// Rows in `table`.
    async fn count_rows(&self, table: &str) -> i64;
    /// `auth-server import FILE [--spring-pbkdf2 V]` (one account per
    /// transaction), its JSON report.
    async fn cli_import(
        &self,
        input: &std::path::Path,
        spring_pbkdf2: Option<&str>,
    ) -> Result<serde_json::Value, String>;
    /// `auth-server users show ID`, JSON.
    async fn cli_show_user(&self, id: &str) -> Result<serde_json::Value, String>;
    /// The backend name (`sqlite`, `postgres`).
    fn backend(&self) -> &'static str;
    /// The server's `AUTH_DATABASE_URL` (for tests that break the database
    /// on purpose).
    fn database_url(&self) -> String;
}

/// What the scenarios run against.
#[async_trait]
pub trait Deployment: Send + Sync {
    /// A server running the profile changed by `config`, reachable as
    /// `address` says; skips when this target cannot provide one.
    async fn server(&self, config: &Config, address: Address) -> Server;
    /// Where the mail the servers send arrives.
    fn mail(&self) -> Arc<dyn MailReader>;
    /// The admin API token (`AUTH_ADMIN_TOKEN`).
    fn admin_token(&self) -> String;
    /// A fake Google/Kakao/Naver the servers can be pointed at; skips
    /// when none is available.
    async fn oauth(&self) -> Arc<FakeProvider>;
    /// A short name for reports (`sqlite`, `postgres`, the base URL).
    fn name(&self) -> String;
}

/// One request and its response, kept for failure reports.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// `POST /api/login`.
    pub request: String,
    /// The request body (cut at 2,000 characters).
    pub request_body: String,
    /// Status line.
    pub status: u16,
    /// The response body (cut at 2,000 characters).
    pub response_body: String,
}

/// A deployment, and the log of one scenario's exchanges with it.
#[derive(Clone)]
pub struct Target {
    deployment: Arc<dyn Deployment>,
    log: Arc<Mutex<VecDeque<Exchange>>>,
    touched: Arc<Mutex<BTreeSet<&'static str>>>,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({})", self.deployment.name())
    }
}

impl Target {
    /// A target over `deployment`, with an empty exchange log.
    pub fn new(deployment: Arc<dyn Deployment>) -> Self {
        Self {
            deployment,
            log: Arc::default(),
            touched: Arc::default(),
        }
    }

    /// The deployment.
    pub fn deployment(&self) -> &dyn Deployment {
        &*self.deployment
    }

    /// Notes that the scenario called `method path` with `body` (coverage).
    pub fn touch(&self, method: &str, path: &str, body: &str) {
        let endpoints = crate::seeds::endpoints_of(method, path, body);
        if let Ok(mut touched) = self.touched.lock() {
            touched.extend(endpoints);
        }
    }

    /// The seed endpoints the scenario exercised so far.
    pub fn touched(&self) -> BTreeSet<&'static str> {
        self.touched.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// Records an exchange (the last few are kept).
    pub fn record(&self, exchange: Exchange) {
        if let Some((method, path)) = exchange.request.split_once(' ') {
            self.touch(method, path, &exchange.request_body);
        }
        if let Ok(mut log) = self.log.lock() {
            if log.len() == 4 {
                log.pop_front();
            }
            log.push_back(exchange);
        }
    }

    /// The last exchanges, oldest first.
    pub fn last_exchanges(&self) -> Vec<Exchange> {
        self.log
            .lock()
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }
}
