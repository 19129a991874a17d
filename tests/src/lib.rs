//! The in-process harness of the contract suite (the benchmarks, in
//! `crates/auth-bench`, start their servers through it too).
//!
//! The scenarios themselves live in `auth-qa` (written once against a
//! [`Target`]); here they run against servers started in this process, each
//! on a fresh database: a temporary SQLite file, or a PostgreSQL database
//! created for the test and dropped after it (on `AUTH_TEST_POSTGRES_URL`,
//! else a server on 127.0.0.1:5432, else a throwaway cluster started for
//! this test process from the installed server binaries and removed when it
//! ends; no PostgreSQL at all means the test fails, never that it is
//! skipped). Against a deployment, the same scenarios run with `auth-qa`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use auth_qa::{Address, ChatProfile, ChatUser, Config, Deployment, Inside, Server};

pub use auth_http::Settings;
use auth_http::settings::{DatabaseSettings, MailSettings};
pub use auth_infra::testdb::{TestBackend, TestDatabase};
pub use auth_qa::mail::{MailReader, Received, SmtpSink};
pub use auth_qa::{NewUser, Reply, Target, TestApp, oauth, schema, unique_email, unique_login, ws};

/// The admin API token of in-process servers.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

/// The SMTP sink every in-process server of this test process sends to.
pub fn mail_sink() -> &'static SmtpSink {
    static SINK: OnceLock<SmtpSink> = OnceLock::new();
    SINK.get_or_init(|| SmtpSink::start_in_background("127.0.0.1:0").expect("the SMTP sink starts"))
}

/// The settings of the suite's in-process servers before a scenario's own
/// changes, as `AUTH_*` variables: production defaults, plus port 0, small
/// pools, a shutdown without drain, mail to the suite's SMTP sink, a known admin token, no request
/// rate limit, and the staging profile's per-IP login failure budget
/// (`auth_qa::qa::staging_profile`).
pub fn test_env(database_url: &str) -> Vec<(String, String)> {
    [
        ("AUTH_BIND", "127.0.0.1:0".to_owned()),
        ("AUTH_DATABASE_URL", database_url.to_owned()),
        ("AUTH_DATABASE_POOL_SIZE", "4".to_owned()),
        ("AUTH_WORKERS", "2".to_owned()),
        ("AUTH_SHUTDOWN_TIMEOUT_SECONDS", "1".to_owned()),
        ("AUTH_SHUTDOWN_DRAIN_SECONDS", "0".to_owned()),
        ("AUTH_SMTP_URL", mail_sink().url()),
        ("AUTH_ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
        ("AUTH_RATE_LIMIT_ENABLED", "false".to_owned()),
        (
            "AUTH_LOGIN_IP_MAX_FAILURES",
            auth_qa::qa::LOGIN_IP_MAX_FAILURES.to_owned(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Settings from `AUTH_*` variables, exactly as the server reads them;
/// panics on a variable that names no setting (a typo in a scenario).
pub fn settings_from(env: &[(String, String)]) -> Settings {
    let (settings, warnings) = auth_http::settings::strict::load(env)
        .unwrap_or_else(|e| panic!("the scenario's settings are refused: {e}"));
    assert!(warnings.is_empty(), "unknown settings: {warnings:?}");
    settings
}

/// A free loopback port (for a server whose public URL must be known
/// before it starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The in-process deployment: a fresh server on a fresh database of
/// `backend` for each server a scenario asks for.
#[derive(Debug, Clone, Copy)]
pub struct InProcess(pub TestBackend);

/// The target of in-process servers on `backend`.
pub fn target(backend: TestBackend) -> Target {
    Target::new(Arc::new(InProcess(backend)))
}

/// Starts the application with `settings`: its base URL, handle and chat
/// presence.
pub async fn start(settings: Settings) -> (String, actix_web::dev::ServerHandle, Arc<auth_ws::ChatPresence>) {
    let app = auth_http::Application::build(settings)
        .await
        .expect("the application starts");
    let port = app.port();
    let handle = app.handle();
    let chat = app.chat_presence();
    tokio::spawn(app.run_until_stopped());
    (format!("http://127.0.0.1:{port}"), handle, chat)
}

/// Stops an in-process server when dropped (then drops its database).
struct Running {
    handle: actix_web::dev::ServerHandle,
    _db: Option<Arc<TestDatabase>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        // The stop command is sent when `stop` is called; the returned
        // future only waits for completion, which a destructor cannot.
        drop(self.handle.stop(false));
    }
}

/// What a scenario reaches inside an in-process server.
struct InsideServer {
    backend: TestBackend,
    settings: Settings,
    db: Arc<TestDatabase>,
    chat: Arc<auth_ws::ChatPresence>,
}

async fn server_for(backend: TestBackend, mut settings: Settings, db: Arc<TestDatabase>) -> Server {
    let (base, handle, chat) = start(settings.clone()).await;
    // Without `AUTH_PUBLIC_URL` the server's public URL is the address it
    // got (port 0 here); a sibling instance is the same deployment, so it
    // shares that URL (and so the issuer) rather than deriving its own.
    if settings.oauth.public_url_from_bind {
        settings.oauth.public_url = base.trim_end_matches('/').to_owned();
        settings.oauth.public_url_from_bind = false;
    }
    let public_url = settings.oauth.public_url.clone();
    let inside = Arc::new(InsideServer {
        backend,
        settings,
        db: db.clone(),
        chat,
    });
    Server {
        base,
        public_url,
        inside: Some(inside),
        guard: Box::new(Running {
            handle,
            _db: Some(db),
        }),
    }
}

#[async_trait]
impl Deployment for InProcess {
    async fn server(&self, config: &Config, address: Address) -> Server {
        let db = Arc::new(TestDatabase::new(self.0));
        let mut env: std::collections::BTreeMap<String, String> = test_env(db.url()).into_iter().collect();
        if address == Address::PublicUrlIsBase {
            let port = free_port();
            env.insert("AUTH_BIND".into(), format!("127.0.0.1:{port}"));
            env.insert("AUTH_PUBLIC_URL".into(), format!("http://127.0.0.1:{port}"));
        }
        config.apply_to(&mut env);
        let env: Vec<(String, String)> = env.into_iter().collect();
        server_for(self.0, settings_from(&env), db).await
    }

    fn mail(&self) -> Arc<dyn MailReader> {
        Arc::new(mail_sink().clone())
    }

    fn admin_token(&self) -> String {
        ADMIN_TOKEN.to_owned()
    }

    async fn oauth(&self) -> Arc<auth_qa::oauth::FakeProvider> {
        Arc::new(auth_qa::oauth::FakeProvider::start().await)
    }

    fn name(&self) -> String {
        match self.0 {
            TestBackend::Sqlite => "sqlite".into(),
            TestBackend::Postgres => "postgres".into(),
        }
    }
}

#[async_trait]
impl Inside for InsideServer {
    async fn sibling(&self) -> Server {
        let mut settings = self.settings.clone();
        // Its own port (the first may have been given a fixed one).
        settings.http.bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        server_for(self.backend, settings, self.db.clone()).await
    }

    async fn chat_profile(&self, app_id: &str, user: &ChatUser) -> Option<ChatProfile> {
        use auth_domain::chat::ChatProfiles as _;
        let db = auth_infra::Database::connect(self.db.url(), 1).await.unwrap();
        auth_infra::DieselChatProfiles::new(db)
            .get(
                &auth_domain::chat::AppId::parse(app_id).unwrap(),
                &domain_user(user),
            )
            .await
            .unwrap()
            .map(|p| ChatProfile {
                nickname: p.nickname,
                friends: p.friends,
            })
    }

    fn chat_present(&self, app_id: &str, user: &ChatUser) -> bool {
        self.chat.is_present(
            &auth_domain::chat::AppId::parse(app_id).unwrap(),
            &domain_user(user),
        )
    }

    async fn count_rows(&self, table: &str) -> i64 {
        let db = auth_infra::Database::connect(self.db.url(), 1).await.unwrap();
        db.count_rows(table).await.unwrap()
    }

    async fn cli_import(
        &self,
        input: &Path,
        spring_pbkdf2: Option<&str>,
    ) -> Result<serde_json::Value, String> {
        let outbox = input.with_extension("outbox");
        let settings = Settings {
            database: DatabaseSettings {
                url: self.db.url().to_owned(),
                ..DatabaseSettings::default()
            },
            mail: MailSettings {
                dir: Some(outbox.display().to_string()),
                ..MailSettings::default()
            },
            ..Settings::default()
        };
        let args = auth_http::cli::ImportArgs {
            input: input.display().to_string(),
            dry_run: false,
            rejects: None,
            spring_pbkdf2: spring_pbkdf2.map(str::to_owned),
            batch: 1,
            progress: false,
        };
        // The CLI's future is not `Send` (it reads a `dyn BufRead`): it runs
        // on a runtime of its own, as the `auth-server import` process does.
        tokio::task::spawn_blocking(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(auth_http::cli::import_users(&settings, &args))
                .map_err(|e| e.to_string())
        })
        .await
        .unwrap()
    }

    async fn cli_show_user(&self, id: &str) -> Result<serde_json::Value, String> {
        let settings = Settings {
            database: DatabaseSettings {
                url: self.db.url().to_owned(),
                ..DatabaseSettings::default()
            },
            ..Settings::default()
        };
        auth_http::cli::show_user(&settings, id)
            .await
            .map_err(|e| e.to_string())
    }

    fn database_url(&self) -> String {
        self.db.url().to_owned()
    }

    fn backend(&self) -> &'static str {
        match self.backend {
            TestBackend::Sqlite => "sqlite",
            TestBackend::Postgres => "postgres",
        }
    }
}

fn domain_user(user: &ChatUser) -> auth_domain::chat::ChatUser {
    match user {
        ChatUser::App(id) => auth_domain::chat::ChatUser::App(id.clone()),
        ChatUser::Own(uuid) => auth_domain::chat::ChatUser::Own(*uuid),
    }
}

/// Runs each `async fn NAME(backend: TestBackend)` on SQLite and on
/// PostgreSQL, as tests `NAME::sqlite` and `NAME::postgres`: the one macro of
/// every test crate (defined with the throwaway databases in
/// `auth_infra::testdb`).
pub use auth_infra::on_both_backends;
