//! `protected-service`: `AUTH_ISSUER=http://127.0.0.1:8080 cargo run -p
//! protected-service`, then `curl -H "Authorization: Bearer $TOKEN"
//! localhost:8000/hello`.
//!
//! Environment: `AUTH_ISSUER` (the auth server's `AUTH_PUBLIC_URL`,
//! required), `AUTH_AUDIENCE` (default: the issuer), `APP_ID` and
//! `APP_SECRET` (for `/live`), `BIND` (default `127.0.0.1:8000`).

use std::net::TcpListener;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let Some(issuer) = var("AUTH_ISSUER") else {
        eprintln!("protected-service: set AUTH_ISSUER to the auth server's AUTH_PUBLIC_URL");
        return std::process::ExitCode::from(2);
    };
    let mut builder = auth_client::AuthClient::builder(&issuer);
    if let Some(audience) = var("AUTH_AUDIENCE") {
        builder = builder.audience(audience);
    }
    if let (Some(id), Some(secret)) = (var("APP_ID"), var("APP_SECRET")) {
        builder = builder.credentials(id, secret);
    }
    let auth = match builder.build().await {
        Ok(auth) => auth,
        Err(e) => {
            eprintln!("protected-service: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let bind = var("BIND").unwrap_or_else(|| "127.0.0.1:8000".into());
    let served = match TcpListener::bind(&bind).and_then(|l| protected_service::serve(l, auth)) {
        Ok(server) => server.await,
        Err(e) => Err(e),
    };
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("protected-service: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
