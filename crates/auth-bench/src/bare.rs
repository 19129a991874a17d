//! The bare baseline of `load-bench`: actix-web with its default workers
//! and one JSON handler, served from a child process of the benchmark.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use auth_contract_tests::free_port;
use serde_json::json;

pub fn bare_server(port: u16) {
    use actix_web::{App, HttpResponse, HttpServer, web};
    pub async fn bare() -> HttpResponse {
        HttpResponse::Ok().json(json!({
            "userId": "1",
            "sessionId": "0190b3c4-0000-7000-8000-000000000000",
            "issuedAt": 1_700_000_000,
            "expiresAt": 1_700_001_800,
        }))
    }
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(|| App::new().route("/bare", web::get().to(bare)))
            .bind(("127.0.0.1", port))
            .unwrap()
            .run()
            .await
            .unwrap();
    });
}

/// The bare server as a child process, killed on drop.
#[derive(Debug)]
pub struct Bare {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Bare {
    pub async fn start() -> Bare {
        let port = free_port();
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["--bare-server", "--port", &port.to_string()])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !client
            .get(format!("http://{addr}/bare"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(Instant::now() < deadline, "bare server not ready in 10 s");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Bare { child, addr }
    }
}

impl Drop for Bare {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
