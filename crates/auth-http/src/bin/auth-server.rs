//! `auth-server`: runs the service (default), applies migrations, purges
//! expired rows, or registers a `chat` application.

use clap::{Parser, Subcommand};

use auth_http::startup::open_database;
use auth_http::{Application, cli::backup::backup, telemetry};

#[derive(Parser)]
#[command(name = "auth-server", version, about = "Self-hosted authentication service")]
struct Cli {
    /// The TOML configuration file (as `AUTH_CONFIG`; the environment
    /// still overrides it).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI 3.1 document of the routes this configuration
    /// serves (as `GET /openapi.json` does) and exit.
    Openapi,
    /// Delete expired sessions, refresh records, codes, OAuth states,
    /// throttle counters and audit events past `AUTH_AUDIT_RETENTION_DAYS`
    /// once; prints what was deleted as JSON.
    Purge,
    /// Copy the database to FILE (must not exist) while servers run: SQLite
    /// `VACUUM INTO`, PostgreSQL `pg_dump --format=custom` (on PATH). Prints
    /// `{"backend","file","bytes"}`; restoring is in docs/operations.md.
    Backup { file: std::path::PathBuf },
    /// Check the configuration: print the effective settings (secrets
    /// redacted) and exit non-zero on any problem, an unknown `AUTH_*`
    /// variable included.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Exit 0 when the server at `AUTH_BIND` answers `GET /readyz` (with
    /// `--live`: `GET /healthz`) with 200 (for containers without curl), 1
    /// otherwise.
    Healthcheck {
        /// Liveness (`GET /healthz`: the process answers) instead of
        /// readiness (`GET /readyz`: the database answers too). A
        /// container's HEALTHCHECK uses it: a database outage must not get
        /// every instance marked unhealthy and restarted.
        #[arg(long)]
        live: bool,
    },
    /// Manage `chat` applications.
    Apps {
        #[command(subcommand)]
        command: AppsCommand,
    },
    /// Manage OpenID Connect clients (the applications that sign users in
    /// through this service).
    Clients {
        #[command(subcommand)]
        command: ClientsCommand,
    },
    /// Find, inspect, disable and enable accounts; grant and revoke the
    /// admin role; import accounts.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Revoke sessions.
    Sessions {
        #[command(subcommand)]
        command: SessionsCommand,
    },
    /// Send one test message through the configured mailer (SMTP, or a
    /// `.eml` file in the outbox); exit non-zero when it is not accepted.
    SendTestEmail {
        /// The recipient.
        to: String,
    },
    /// Signing keys of access tokens and ID tokens.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum SessionsCommand {
    /// Revoke one session (its sockets get `LOGOUT`); prints
    /// `{"success":true,"revoked":1|0}`.
    Revoke {
        /// The session id (the tokens' `sid`).
        sid: String,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Print every signing key with its purpose (`access`, `id:RS256`,
    /// `id:ES256`, `id:EdDSA`), state (pending, active, retiring, retired)
    /// and dates, as JSON.
    List,
    /// Add signing keys: an access-token key (unless AUTH_JWT_SIGNING_KEY
    /// or HS256 is configured) and one ID-token key per algorithm,
    /// published at once, signing after `AUTH_JWT_KEY_PREPUBLISH_SECONDS`;
    /// running instances pick them up within
    /// `AUTH_JWT_KEY_REFRESH_SECONDS`.
    Rotate {
        /// Sign with the new keys at once.
        #[arg(long)]
        activate_now: bool,
    },
    /// Recover from a lost AUTH_KEY_ENCRYPTION_KEY: delete every signing
    /// key without reading it and make new ones under the configured KEK.
    /// Tokens of the old keys stop verifying; sessions survive through
    /// their refresh tokens.
    Reset,
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Import accounts with their password hashes from newline-delimited
    /// JSON (one account per line; see docs/migration.md). Prints the
    /// report as JSON; refused lines go to the rejects file, and the exit
    /// status is 3 when there were any. Safe to run again: accounts
    /// imported before are skipped.
    Import {
        /// The file, or `-` for standard input.
        input: String,
        /// Check everything, store nothing.
        #[arg(long)]
        dry_run: bool,
        /// Where to write refused lines (`{"line","reason"}` per line);
        /// default `<FILE>.rejects.ndjson`.
        #[arg(long)]
        rejects: Option<std::path::PathBuf>,
        /// Parameters of bare Spring `{pbkdf2}` hashes: `v5.5` (Spring's
        /// default for `{pbkdf2}`: HMAC-SHA1, 185000 iterations, 8-byte salt,
        /// 256-bit hash), `v5.8`, or `DIGEST:ITERATIONS:SALT_BYTES:HASH_BYTES`.
        #[arg(long)]
        spring_pbkdf2: Option<String>,
        /// Accounts per transaction.
        #[arg(long, default_value_t = auth_http::admin::import::ndjson::DEFAULT_BATCH)]
        batch: usize,
        /// No progress bar (it is drawn only when stderr is a terminal).
        #[arg(long)]
        no_progress: bool,
    },
    /// Print one account as `GET /internal/users/{id}` answers it.
    Show {
        /// The numeric user id, the login id or the email.
        id: String,
    },
    /// Find accounts by login id, email or name, as `GET /internal/users`
    /// answers (one page; pass `nextCursor` as `--cursor` for the next).
    List {
        /// Text to find (all accounts without it).
        #[arg(long)]
        query: Option<String>,
        /// Page size, 1 to 100 (default 20).
        #[arg(long)]
        limit: Option<u32>,
        /// The `nextCursor` of the previous page.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Disable an account: no login on any contract, every session revoked
    /// (`LOGOUT` pushed). Idempotent.
    Disable {
        /// The numeric user id.
        id: String,
    },
    /// Enable a disabled account again.
    Enable {
        /// The numeric user id.
        id: String,
    },
    /// Remove every second factor of an account (TOTP, passkeys, recovery
    /// codes); its next login takes no second step.
    ResetMfa {
        /// The numeric user id.
        id: String,
    },
    /// Grant the admin role (may enter the admin console); prints the
    /// account as `users show` does. Idempotent.
    GrantAdmin {
        /// The numeric user id.
        id: String,
    },
    /// Revoke the admin role; prints the account. Idempotent.
    RevokeAdmin {
        /// The numeric user id.
        id: String,
    },
    /// Revoke every session of an account (`LOGOUT` pushed).
    RevokeSessions {
        /// The numeric user id.
        id: String,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration and exit non-zero on any problem.
    Check,
}

#[derive(Subcommand)]
enum ClientsCommand {
    /// Register a client; prints `{"clientId","clientSecret",...}` (the
    /// secret once; `null` for a public client).
    Create {
        /// A display name (the consent page shows it).
        #[arg(long)]
        name: String,
        /// A redirect URI (repeat for several), compared exactly.
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// A post-logout redirect URI (repeat for several).
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// A grant: authorization_code, refresh_token, client_credentials
        /// (repeat; default the first two).
        #[arg(long = "grant-type")]
        grant_types: Vec<String>,
        /// client_secret_basic (default), client_secret_post or none.
        #[arg(long = "auth-method")]
        auth_method: Option<String>,
        /// A scope it may ask for (repeat; default openid profile email
        /// offline_access).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Skip the consent page.
        #[arg(long)]
        first_party: bool,
        /// RS256 (default), ES256 or EdDSA.
        #[arg(long = "id-token-alg")]
        id_token_alg: Option<String>,
        /// Where back-channel logout tokens are posted.
        #[arg(long = "backchannel-logout-uri")]
        backchannel_logout_uri: Option<String>,
        /// Hear of the end of every user's sessions (a service accepting
        /// the contracts' tokens), not only of its own grants.
        #[arg(long = "all-sessions")]
        all_sessions: bool,
    },
    /// List the clients (no secrets).
    List,
    /// Show one client.
    Show {
        /// The client id.
        client_id: String,
    },
    /// Delete a client (its codes and consents with it).
    Delete {
        /// The client id.
        client_id: String,
    },
    /// Give a client a new secret (printed once); the old one stops
    /// working at once.
    RotateSecret {
        /// The client id.
        client_id: String,
    },
}

#[derive(Subcommand)]
enum AppsCommand {
    /// Register an application; prints `{"appId","name","secret"}` once.
    Create {
        /// A human-readable name.
        #[arg(long)]
        name: String,
    },
    /// List the registered applications (no secrets).
    List,
    /// Delete an application and its users' profiles.
    Delete {
        /// The application id.
        app_id: String,
    },
    /// Give an application a new secret (printed once); the old one stops
    /// verifying at once.
    RotateSecret {
        /// The application id.
        app_id: String,
    },
}

/// Writes `text` and a newline to stdout. A reader that went away (`…
/// | head -1`) ends the output, not the process: `println!` would panic on
/// the closed pipe.
fn emit(text: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    // Everything the server creates is its own: the SQLite database (private
    // signing keys unless a KEK is set, the refresh secret), its WAL files,
    // the mail outbox (sign-up codes) and the import's rejects file are 0600,
    // folders 0700, whatever the umask it was started with (issue 33).
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let cli = Cli::parse();
    let mut env: Vec<(String, String)> = std::env::vars().collect();
    if let Some(file) = &cli.config {
        env.retain(|(k, _)| k != "AUTH_CONFIG");
        env.push(("AUTH_CONFIG".to_owned(), file.display().to_string()));
    }
    let (settings, warnings) = match auth_http::settings::strict::load(&env) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("auth-server: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    // An unknown `AUTH_*` variable (a typo) refuses to start, as an unknown
    // key of the file does and as `config check` says (issue 33).
    if matches!(command, Command::Serve) && !warnings.is_empty() {
        for warning in &warnings {
            eprintln!("auth-server: {warning}");
        }
        return std::process::ExitCode::from(2);
    }
    if matches!(command, Command::Serve) {
        // The metrics recorder and the rate limiter read time through
        // `quanta`, whose first clock calibrates the TSC against the OS
        // clock by spinning until its error is under 10 ns or 200 ms have
        // passed; on a busy machine that is the 200 ms, and it used to
        // happen on the start-up path (start → ready 100–160 ms instead of
        // 20–40; docs/performance.md). Started here, it runs while the
        // settings, the database and the keys are set up.
        let _ = std::thread::Builder::new()
            .name("clock-calibration".to_owned())
            .spawn(|| drop(quanta::Clock::new()));
    }
    if let Command::Config {
        command: ConfigCommand::Check,
    } = command
    {
        emit(&auth_http::settings::strict::describe(&settings));
        match auth_http::settings::strict::config_file(&env) {
            Some(file) => eprintln!("auth-server: read {}", file.display()),
            None => eprintln!(
                "auth-server: no configuration file (AUTH_CONFIG unset, no ./auth.toml): defaults and the environment"
            ),
        }
        for warning in &warnings {
            eprintln!("auth-server: {warning}");
        }
        return if warnings.is_empty() {
            std::process::ExitCode::SUCCESS
        } else {
            std::process::ExitCode::from(2)
        };
    }
    if let Command::Healthcheck { live } = command {
        let path = if live { "/healthz" } else { "/readyz" };
        return match auth_http::cli::healthcheck(&settings.http.bind.to_string(), path) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("auth-server: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    if let Command::Openapi = command {
        return match auth_http::routes::RoutePlan::build(&settings.contracts) {
            Ok(plan) => {
                let doc = auth_http::openapi::document(&plan, env!("CARGO_PKG_VERSION"));
                emit(&serde_json::to_string_pretty(&doc).unwrap_or_default());
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("auth-server: {e}");
                std::process::ExitCode::from(2)
            }
        };
    }
    // `apps create` and `purge` print JSON on stdout, where the log goes: they run
    // without a log subscriber (its errors go to stderr).
    let _log_guard = if matches!(
        command,
        Command::Apps { .. }
            | Command::Clients { .. }
            | Command::Purge
            | Command::Backup { .. }
            | Command::Users { .. }
            | Command::Sessions { .. }
            | Command::SendTestEmail { .. }
            | Command::Keys { .. }
    ) {
        None
    } else {
        telemetry::init(&settings.logging.format)
    };
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    let result = match command {
        Command::Migrate => open_database(&settings).await.map(|_| {
            tracing::info!("migrations applied");
        }),
        // Answered above, before a log subscriber exists.
        Command::Openapi | Command::Config { .. } | Command::Healthcheck { .. } => Ok(()),
        Command::Backup { file } => return print_json(backup(&settings, &file).await),
        Command::Purge => {
            return match auth_http::cli::purge(&settings).await {
                Ok(report) => {
                    emit(&report.to_string());
                    std::process::ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("auth-server: {e}");
                    std::process::ExitCode::FAILURE
                }
            };
        }
        Command::Apps { command } => {
            let result = match command {
                AppsCommand::Create { name } => auth_http::cli::create_app(&settings, &name)
                    .await
                    .map_err(|e| e.to_string()),
                AppsCommand::List => auth_http::cli::apps_list(&settings)
                    .await
                    .map_err(|e| e.to_string()),
                AppsCommand::Delete { app_id } => auth_http::cli::app_delete(&settings, &app_id)
                    .await
                    .map_err(|e| e.to_string()),
                AppsCommand::RotateSecret { app_id } => auth_http::cli::app_rotate_secret(&settings, &app_id)
                    .await
                    .map_err(|e| e.to_string()),
            };
            // stdout only: a secret is never logged.
            return print_json(result);
        }
        Command::Clients { command } => {
            use auth_http::cli::clients;
            let result = match command {
                ClientsCommand::Create {
                    name,
                    redirect_uris,
                    post_logout_redirect_uris,
                    grant_types,
                    auth_method,
                    scopes,
                    first_party,
                    id_token_alg,
                    backchannel_logout_uri,
                    all_sessions,
                } => {
                    let some = |v: Vec<String>| (!v.is_empty()).then_some(v);
                    let request = auth_http::admin::oauth_clients::ClientRequest {
                        name: Some(name),
                        redirect_uris: some(redirect_uris),
                        post_logout_redirect_uris: some(post_logout_redirect_uris),
                        grant_types: some(grant_types),
                        token_endpoint_auth_method: auth_method,
                        scopes: some(scopes),
                        first_party: Some(first_party),
                        id_token_signed_response_alg: id_token_alg,
                        backchannel_logout_uri,
                        all_sessions: Some(all_sessions),
                    };
                    clients::create(&settings, request).await
                }
                ClientsCommand::List => clients::list(&settings).await,
                ClientsCommand::Show { client_id } => clients::show(&settings, &client_id).await,
                ClientsCommand::Delete { client_id } => clients::delete(&settings, &client_id).await,
                ClientsCommand::RotateSecret { client_id } => {
                    clients::rotate_secret(&settings, &client_id).await
                }
            };
            // stdout only: a secret is never logged.
            return print_json(result.map_err(|e| e.to_string()));
        }
        Command::Sessions {
            command: SessionsCommand::Revoke { sid },
        } => {
            return print_json(
                auth_http::cli::session_revoke(&settings, &sid)
                    .await
                    .map_err(|e| e.to_string()),
            );
        }
        Command::SendTestEmail { to } => {
            return print_json(
                auth_http::cli::send_test_email(&settings, &to)
                    .await
                    .map_err(|e| e.to_string()),
            );
        }
        Command::Users { command } => {
            let result = match command {
                UsersCommand::Import {
                    input,
                    dry_run,
                    rejects,
                    spring_pbkdf2,
                    batch,
                    no_progress,
                } => {
                    use std::io::IsTerminal as _;
                    let args = auth_http::cli::ImportArgs {
                        input,
                        dry_run,
                        rejects,
                        spring_pbkdf2,
                        batch,
                        progress: !no_progress && std::io::stderr().is_terminal(),
                    };
                    let report = auth_http::cli::import_users(&settings, &args)
                        .await
                        .map_err(|e| e.to_string());
                    // The report is printed either way; refused lines make
                    // the exit status say so (3), so a script notices.
                    if let Ok(out) = &report
                        && out["rejected"].as_u64().is_some_and(|n| n > 0)
                    {
                        emit(&out.to_string());
                        return std::process::ExitCode::from(3);
                    }
                    report
                }
                UsersCommand::Show { id } => auth_http::cli::show_user(&settings, &id)
                    .await
                    .map_err(|e| e.to_string()),
                UsersCommand::List { query, limit, cursor } => {
                    auth_http::cli::users_list(&settings, query.as_deref(), limit, cursor.as_deref())
                        .await
                        .map_err(|e| e.to_string())
                }
                UsersCommand::Disable { id } => auth_http::cli::user_disable(&settings, &id)
                    .await
                    .map_err(|e| e.to_string()),
                UsersCommand::Enable { id } => auth_http::cli::user_enable(&settings, &id)
                    .await
                    .map_err(|e| e.to_string()),
                UsersCommand::ResetMfa { id } => auth_http::cli::user_reset_mfa(&settings, &id)
                    .await
                    .map_err(|e| e.to_string()),
                UsersCommand::GrantAdmin { id } => auth_http::cli::user_grant_admin(&settings, &id)
                    .await
                    .map_err(|e| e.to_string()),
                UsersCommand::RevokeAdmin { id } => auth_http::cli::user_revoke_admin(&settings, &id)
                    .await
                    .map_err(|e| e.to_string()),
                UsersCommand::RevokeSessions { id } => auth_http::cli::user_revoke_sessions(&settings, &id)
                    .await
                    .map_err(|e| e.to_string()),
            };
            return print_json(result);
        }
        Command::Keys { command } => {
            let result = match command {
                KeysCommand::List => auth_http::cli::keys_list(&settings).await,
                KeysCommand::Reset => auth_http::cli::keys_reset(&settings).await,
                KeysCommand::Rotate { activate_now } => {
                    auth_http::cli::keys_rotate(&settings, activate_now).await
                }
            };
            return print_json(result.map_err(|e| e.to_string()));
        }
        Command::Serve => match Application::build(settings).await {
            Ok(app) => app
                .run_until_stopped()
                .await
                .map_err(auth_http::StartupError::Serve),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "auth-server stopped");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Prints a command's JSON on stdout (exit 0), or its error on stderr
/// (exit 1).
fn print_json<E: std::fmt::Display>(result: Result<serde_json::Value, E>) -> std::process::ExitCode {
    match result {
        Ok(out) => {
            emit(&out.to_string());
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("auth-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
