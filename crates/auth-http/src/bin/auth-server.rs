//! `auth-server`: runs the service (default), applies migrations, purges
//! expired rows, or registers a `chat` application.

use clap::{Parser, Subcommand};

use auth_http::startup::open_database;
use auth_http::{Application, Settings, telemetry};

#[derive(Parser)]
#[command(name = "auth-server", version, about = "Self-hosted authentication service")]
struct Cli {
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
    /// Check the configuration: print the effective settings (secrets
    /// redacted) and exit non-zero on any problem, an unknown `AUTH_*`
    /// variable included.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Exit 0 when the server at `AUTH_BIND` answers `GET /readyz` with 200
    /// (for containers without curl), 1 otherwise.
    Healthcheck,
    /// Manage `chat` applications.
    Apps {
        #[command(subcommand)]
        command: AppsCommand,
    },
    /// Import and inspect user accounts.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Signing keys of access tokens.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Print every signing key with its state (pending, active, retiring,
    /// retired) and dates, as JSON.
    List,
    /// Add a signing key: published at once, signing after
    /// `AUTH_JWT_KEY_PREPUBLISH_SECONDS`; running instances pick it up
    /// within `AUTH_JWT_KEY_REFRESH_SECONDS`.
    Rotate {
        /// Sign with the new key at once.
        #[arg(long)]
        activate_now: bool,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Import accounts with their password hashes from newline-delimited
    /// JSON (one account per line; see docs/migration.md). Prints the
    /// report as JSON; refused lines go to the rejects file. Safe to run
    /// again: accounts imported before are skipped.
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
        #[arg(long, default_value_t = auth_http::import::DEFAULT_BATCH)]
        batch: usize,
        /// No progress bar (it is drawn only when stderr is a terminal).
        #[arg(long)]
        no_progress: bool,
    },
    /// Print one account as `GET /internal/users/{id}` answers it.
    Show {
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
enum AppsCommand {
    /// Register an application; prints `{"appId","name","secret"}` once.
    Create {
        /// A human-readable name.
        #[arg(long)]
        name: String,
    },
}

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let (settings, warnings) = match Settings::load_strict() {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("auth-server: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Config {
        command: ConfigCommand::Check,
    } = command
    {
        println!("{}", auth_http::settings::strict::describe(&settings));
        for warning in &warnings {
            eprintln!("auth-server: {warning}");
        }
        return if warnings.is_empty() {
            std::process::ExitCode::SUCCESS
        } else {
            std::process::ExitCode::from(2)
        };
    }
    if let Command::Healthcheck = command {
        return match auth_http::cli::healthcheck(&settings.bind) {
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
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
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
        Command::Apps { .. } | Command::Purge | Command::Users { .. } | Command::Keys { .. }
    ) {
        None
    } else {
        telemetry::init(&settings.log_format)
    };
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    let result = match command {
        Command::Migrate => open_database(&settings).await.map(|_| {
            tracing::info!("migrations applied");
        }),
        // Answered above, before a log subscriber exists.
        Command::Openapi | Command::Config { .. } | Command::Healthcheck => Ok(()),
        Command::Purge => {
            return match auth_http::cli::purge(&settings).await {
                Ok(report) => {
                    println!("{report}");
                    std::process::ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("auth-server: {e}");
                    std::process::ExitCode::FAILURE
                }
            };
        }
        Command::Apps {
            command: AppsCommand::Create { name },
        } => {
            return match auth_http::cli::create_app(&settings, &name).await {
                Ok(created) => {
                    // stdout only: the secret is never logged.
                    println!("{created}");
                    std::process::ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("auth-server: {e}");
                    std::process::ExitCode::FAILURE
                }
            };
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
                    auth_http::cli::import_users(&settings, &args).await
                }
                UsersCommand::Show { id } => auth_http::cli::show_user(&settings, &id).await,
            };
            return match result {
                Ok(out) => {
                    println!("{out}");
                    std::process::ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("auth-server: {e}");
                    std::process::ExitCode::FAILURE
                }
            };
        }
        Command::Keys { command } => {
            let result = match command {
                KeysCommand::List => auth_http::cli::keys_list(&settings).await,
                KeysCommand::Rotate { activate_now } => {
                    auth_http::cli::keys_rotate(&settings, activate_now).await
                }
            };
            return match result {
                Ok(out) => {
                    println!("{out}");
                    std::process::ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("auth-server: {e}");
                    std::process::ExitCode::FAILURE
                }
            };
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
