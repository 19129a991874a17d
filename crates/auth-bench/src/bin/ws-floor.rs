//! `ws-floor`: the floor under `auth-server`'s WebSocket memory, for
//! `ws-bench` (issue 18). An actix-web server with the same HTTP stack as
//! `auth-server` (actix-web and actix-ws, default workers) whose `GET /ws`
//! upgrades every request and keeps the socket with the least any actix-ws
//! server must hold: the session and its message stream, read by one task.
//! No authentication, registry, channel or timers: what a socket costs here
//! is actix-http's and actix-ws's share; what `auth-server` costs above it
//! is ours.
//!
//! Listens on `AUTH_BIND` (like `auth-server`), answers `GET /readyz`.

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

async fn ws(req: HttpRequest, body: web::Payload) -> actix_web::Result<HttpResponse> {
    let (response, session, mut stream) = actix_ws::handle(&req, body)?;
    actix_web::rt::spawn(async move {
        let _session = session;
        while let Some(Ok(_)) = stream.recv().await {}
    });
    Ok(response)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::var("AUTH_BIND").unwrap_or_else(|_| "127.0.0.1:8081".to_owned());
    HttpServer::new(|| {
        App::new()
            .route("/ws", web::get().to(ws))
            .route("/readyz", web::get().to(HttpResponse::Ok))
    })
    .bind(bind)?
    .run()
    .await
}
