//! `auth-server`: runs the service (default) or applies migrations.

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
}

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("auth-server: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    telemetry::init(&settings.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => open_database(&settings).await.map(|_| {
            tracing::info!("migrations applied");
        }),
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
