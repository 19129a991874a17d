//! A service whose routes are protected by `auth-client`: the example of
//! `crates/auth-client/README.md`, runnable (`src/main.rs`) and tested
//! against the real server by the contract suite.
//!
//! - `GET /hello`: any valid access token (verified offline).
//! - `GET /live`: a valid token whose session the server confirms live
//!   (introspection; needs the application's credentials).
//! - `GET /public`: no token needed.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, get, web};
use auth_client::AuthClient;
use auth_client::actix::{Authenticated, LiveAuthenticated};

#[get("/hello")]
async fn hello(user: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"hello": user.claims.sub, "session": user.claims.sid}))
}

#[get("/live")]
async fn live(user: LiveAuthenticated) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"hello": user.claims.sub, "live": true}))
}

#[get("/public")]
async fn public() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"public": true}))
}

/// The service on `listener`, trusting `auth`'s issuer.
///
/// # Errors
/// When the listener cannot be used.
pub fn serve(listener: TcpListener, auth: AuthClient) -> std::io::Result<Server> {
    let auth = web::Data::new(auth);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(auth.clone())
            .service(hello)
            .service(live)
            .service(public)
    })
    .workers(1)
    .listen(listener)?
    .run())
}
