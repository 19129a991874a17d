//! `protected-service`: `AUTH_ISSUER=http://127.0.0.1:8080 cargo run -p
//! protected-service`, then `curl -H "Authorization: Bearer $TOKEN"
//! localhost:8000/hello`.
//!
//! Environment: `AUTH_ISSUER` (the auth server's `AUTH_PUBLIC_URL`,
//! required), `AUTH_AUDIENCE` (default: the issuer), `APP_ID` and
//! `APP_SECRET` (for `/live`), `BIND` (default `127.0.0.1:8000`).
//!
//! Hearing of logouts (so `/hello` refuses a logged-out session's token at
//! once): `AUTH_CLIENT_ID` and `AUTH_CLIENT_SECRET`, the service's OpenID
//! Connect client at the server, and `AUTH_FEED`:
//! - `push`: `POST /backchannel-logout` is mounted (register
//!   `http://<BIND>/backchannel-logout` as the client's
//!   `backchannelLogoutUri`); needs `AUTH_CLIENT_ID`.
//! - `poll`: a background task polls `{AUTH_ISSUER}/ssf/poll`; needs both.
//! - `both`: the two.
//! - unset: the push route is mounted, and the poller runs when both
//!   credentials are set.

use std::net::TcpListener;
use std::process::ExitCode;

use auth_client::{Poller, RevocationList};
use protected_service::Feed;

#[actix_web::main]
async fn main() -> ExitCode {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let Some(issuer) = var("AUTH_ISSUER") else {
        eprintln!("protected-service: set AUTH_ISSUER to the auth server's AUTH_PUBLIC_URL");
        return ExitCode::from(2);
    };
    let (client_id, client_secret) = (var("AUTH_CLIENT_ID"), var("AUTH_CLIENT_SECRET"));
    let feed = match Feed::parse(
        var("AUTH_FEED").as_deref(),
        client_id.is_some() && client_secret.is_some(),
    ) {
        Ok(feed) => feed,
        Err(e) => {
            eprintln!("protected-service: {e}");
            return ExitCode::from(2);
        }
    };
    let mut builder = auth_client::AuthClient::builder(&issuer).revocations(RevocationList::new());
    if let Some(audience) = var("AUTH_AUDIENCE") {
        builder = builder.audience(audience);
    }
    if let (Some(id), Some(secret)) = (var("APP_ID"), var("APP_SECRET")) {
        builder = builder.credentials(id, secret);
    }
    match &client_id {
        Some(id) => builder = builder.client_id(id),
        None if feed.push => {
            eprintln!("protected-service: AUTH_CLIENT_ID is not set: POST /backchannel-logout answers 500")
        }
        None => {}
    }
    let auth = match builder.build().await {
        Ok(auth) => auth,
        Err(e) => {
            eprintln!("protected-service: {e}");
            return ExitCode::FAILURE;
        }
    };
    let poller = match (feed.poll, client_secret) {
        (true, Some(secret)) => match Poller::new(auth.clone(), secret) {
            Ok(poller) => Some(poller.spawn()),
            Err(e) => {
                eprintln!("protected-service: {e}");
                return ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    let bind = var("BIND").unwrap_or_else(|| "127.0.0.1:8000".into());
    let served =
        match TcpListener::bind(&bind).and_then(|l| protected_service::serve_with(l, auth, feed.push)) {
            Ok(server) => server.await,
            Err(e) => Err(e),
        };
    if let Some(poller) = poller {
        poller.abort();
    }
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("protected-service: {e}");
            ExitCode::FAILURE
        }
    }
}
