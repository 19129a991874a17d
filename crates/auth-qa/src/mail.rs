//! Where the mail the server sends is read: an SMTP sink started here
//! ([`SmtpSink`]), a Mailpit-compatible HTTP API ([`Mailpit`]), or a folder
//! of `.eml` files such as a deployment's `AUTH_MAIL_DIR` ([`MailDir`]).
//!
//! Scenarios find their mail by recipient, which is unique per scenario.
//! The SMTP sink refuses recipients whose local part starts with `refuse`
//! (`550`), to exercise a refusing server; the other readers cannot.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One received message.
#[derive(Debug, Clone)]
pub struct Received {
    /// Envelope recipients (or the `To` addresses when no envelope is known).
    pub to: Vec<String>,
    /// The raw RFC 5322 message.
    pub raw: Vec<u8>,
}

impl Received {
    fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.raw)
            .unwrap_or_else(|| panic!("unparseable mail: {}", String::from_utf8_lossy(&self.raw)))
    }

    /// The decoded subject.
    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_owned()
    }

    /// The decoded text/plain body.
    pub fn text(&self) -> String {
        self.parsed()
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default()
    }

    /// The decoded text/html body.
    pub fn html(&self) -> String {
        self.parsed()
            .body_html(0)
            .map(|t| t.into_owned())
            .unwrap_or_default()
    }

    /// The verification code: the first 6-character lowercase-hex word of the
    /// text body.
    pub fn code(&self) -> String {
        let text = self.text();
        text.split(|c: char| !c.is_ascii_alphanumeric())
            .find(|w| {
                w.len() == 6
                    && w.bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            })
            .unwrap_or_else(|| panic!("no code in mail text: {text}"))
            .to_owned()
    }
}

fn is_to(message: &Received, to: &str) -> bool {
    message.to.iter().any(|t| t.eq_ignore_ascii_case(to))
}

/// Where mail is read from.
#[async_trait]
pub trait MailReader: Send + Sync + std::fmt::Debug {
    /// Every message received so far.
    async fn messages(&self) -> Vec<Received>;

    /// Whether this reader sees SMTP refusals (only the SMTP sink does).
    fn refuses(&self) -> bool {
        false
    }

    /// How many messages `to` has received.
    async fn count_to(&self, to: &str) -> usize {
        self.messages().await.iter().filter(|m| is_to(m, to)).count()
    }

    /// The `nth` (1-based) message to `to`, waiting up to 15 s for it.
    async fn wait_for(&self, to: &str, nth: usize) -> Received {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let mine: Vec<Received> = self
                .messages()
                .await
                .into_iter()
                .filter(|m| is_to(m, to))
                .collect();
            if mine.len() >= nth {
                return mine[nth - 1].clone();
            }
            assert!(Instant::now() < deadline, "no mail #{nth} to {to} within 15 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A real SMTP server (plain, no TLS, no authentication) that keeps every
/// message in memory.
#[derive(Debug, Clone)]
pub struct SmtpSink {
    addr: SocketAddr,
    store: Arc<Mutex<Vec<Received>>>,
}

impl SmtpSink {
    /// Listens on `bind` (e.g. `127.0.0.1:0`) and serves on the current
    /// tokio runtime.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn start(bind: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let store = Arc::new(Mutex::new(Vec::new()));
        let shared = store.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let store = shared.clone();
                tokio::spawn(async move {
                    // A broken connection loses only its own message.
                    let _ = serve(stream, store).await;
                });
            }
        });
        Ok(Self { addr, store })
    }

    /// As [`SmtpSink::start`], served by a thread of its own (a sink shared
    /// by tests that each run their own runtime).
    ///
    /// # Errors
    /// When the address cannot be bound or the thread cannot start.
    pub fn start_in_background(bind: &str) -> std::io::Result<Self> {
        let (tx, rx) = std::sync::mpsc::channel();
        let bind = bind.to_owned();
        std::thread::Builder::new()
            .name("smtp-sink".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let started = Self::start(&bind).await;
                    let ok = started.is_ok();
                    let _ = tx.send(started);
                    if ok {
                        std::future::pending::<()>().await;
                    }
                });
            })?;
        rx.recv().map_err(std::io::Error::other)?
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `smtp://HOST:PORT`, for `AUTH_SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }
}

#[async_trait]
impl MailReader for SmtpSink {
    async fn messages(&self) -> Vec<Received> {
        self.store.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn refuses(&self) -> bool {
        true
    }
}

/// One SMTP conversation (RFC 5321, the commands lettre sends).
async fn serve(stream: tokio::net::TcpStream, store: Arc<Mutex<Vec<Received>>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP\r\n").await?;
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command.split(' ').next().unwrap_or_default().to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 PIPELINING\r\n",
            "HELO" => b"250 sink.test\r\n",
            "MAIL" => {
                to.clear();
                b"250 OK\r\n"
            }
            "RCPT" => {
                let address = command
                    .split_once(':')
                    .map(|(_, a)| a.trim().trim_start_matches('<'))
                    .unwrap_or_default();
                let address = address.split('>').next().unwrap_or_default().to_owned();
                if address
                    .split('@')
                    .next()
                    .unwrap_or_default()
                    .starts_with("refuse")
                {
                    b"550 No such mailbox\r\n"
                } else {
                    to.push(address);
                    b"250 OK\r\n"
                }
            }
            "DATA" => {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut raw = Vec::new();
                let mut data = Vec::new();
                loop {
                    data.clear();
                    if lines.read_until(b'\n', &mut data).await? == 0 {
                        return Ok(());
                    }
                    if data == b".\r\n" || data == b".\n" {
                        break;
                    }
                    // Dot-unstuffing.
                    let line = if data.starts_with(b"..") {
                        &data[1..]
                    } else {
                        &data[..]
                    };
                    raw.extend_from_slice(line);
                }
                if let Ok(mut store) = store.lock() {
                    store.push(Received {
                        to: std::mem::take(&mut to),
                        raw,
                    });
                }
                b"250 OK: queued\r\n"
            }
            "RSET" => {
                to.clear();
                b"250 OK\r\n"
            }
            "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                write.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 Command not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// The recipients in a message's `To` header.
fn header_to(raw: &[u8]) -> Vec<String> {
    let Some(message) = mail_parser::MessageParser::default().parse(raw) else {
        return Vec::new();
    };
    message
        .to()
        .map(|to| to.iter().filter_map(|a| a.address().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// A folder of `.eml` files, as the server writes them when no SMTP server
/// is configured (`AUTH_MAIL_DIR`).
#[derive(Debug, Clone)]
pub struct MailDir {
    dir: PathBuf,
    seen: Arc<Mutex<HashMap<PathBuf, Received>>>,
}

impl MailDir {
    /// Reads `dir` (which may not exist yet).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            seen: Arc::default(),
        }
    }
}

#[async_trait]
impl MailReader for MailDir {
    async fn messages(&self) -> Vec<Received> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .map(|p| {
                (
                    std::fs::metadata(&p)
                        .and_then(|m| m.modified())
                        .unwrap_or(std::time::UNIX_EPOCH),
                    p,
                )
            })
            .collect();
        files.sort();
        let Ok(mut seen) = self.seen.lock() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (_, path) in files {
            if let Some(known) = seen.get(&path) {
                out.push(known.clone());
                continue;
            }
            let Ok(raw) = std::fs::read(&path) else { continue };
            // A file still being written has no complete header yet.
            let to = header_to(&raw);
            if to.is_empty() {
                continue;
            }
            let message = Received { to, raw };
            seen.insert(path, message.clone());
            out.push(message);
        }
        out
    }
}

/// A Mailpit (or compatible) server's HTTP API: `GET /api/v1/messages`
/// and `GET /api/v1/message/{ID}/raw`.
#[derive(Debug, Clone)]
pub struct Mailpit {
    base: String,
    client: reqwest::Client,
    seen: Arc<Mutex<HashMap<String, Received>>>,
}

impl Mailpit {
    /// The API at `base` (e.g. `http://127.0.0.1:8025`).
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            seen: Arc::default(),
        }
    }

    async fn list(&self) -> Vec<String> {
        let url = format!("{}/api/v1/messages?limit=1000", self.base);
        let Ok(response) = self.client.get(&url).send().await else {
            return Vec::new();
        };
        let Ok(body) = response.json::<serde_json::Value>().await else {
            return Vec::new();
        };
        let mut ids: Vec<(String, String)> = body["messages"]
            .as_array()
            .map(|m| {
                m.iter()
                    .filter_map(|m| {
                        Some((
                            m["Created"].as_str().unwrap_or_default().to_owned(),
                            m["ID"].as_str()?.to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        // Oldest first (Mailpit lists newest first).
        ids.sort();
        ids.into_iter().map(|(_, id)| id).collect()
    }
}

#[async_trait]
impl MailReader for Mailpit {
    async fn messages(&self) -> Vec<Received> {
        let mut out = Vec::new();
        for id in self.list().await {
            let known = self.seen.lock().ok().and_then(|s| s.get(&id).cloned());
            if let Some(known) = known {
                out.push(known);
                continue;
            }
            let url = format!("{}/api/v1/message/{id}/raw", self.base);
            let Ok(response) = self.client.get(&url).send().await else {
                continue;
            };
            let Ok(raw) = response.bytes().await else { continue };
            let message = Received {
                to: header_to(&raw),
                raw: raw.to_vec(),
            };
            if let Ok(mut seen) = self.seen.lock() {
                seen.insert(id, message.clone());
            }
            out.push(message);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use tokio::io::AsyncReadExt;

    const MESSAGE: &str = "From: auth@example.com\r\nTo: Someone <a@example.com>\r\nSubject: =?utf-8?B?7J247Kad?=\r\nContent-Type: text/plain; charset=utf-8\r\n\r\ncode: 0a1b2c\r\n..dot-stuffed line\r\n";

    async fn say(stream: &mut tokio::net::TcpStream, line: &str) -> String {
        stream.write_all(line.as_bytes()).await.unwrap();
        let mut buf = vec![0; 512];
        let n = stream.read(&mut buf).await.unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[tokio::test]
    async fn smtp_sink_keeps_messages_by_envelope_and_refuses_refuse_addresses() {
        let sink = SmtpSink::start("127.0.0.1:0").await.unwrap();
        let mut s = tokio::net::TcpStream::connect(sink.addr()).await.unwrap();
        let mut banner = vec![0; 128];
        let n = s.read(&mut banner).await.unwrap();
        assert!(String::from_utf8_lossy(&banner[..n]).starts_with("220"));
        assert!(say(&mut s, "EHLO client\r\n").await.starts_with("250-"));
        assert!(
            say(&mut s, "MAIL FROM:<auth@example.com>\r\n")
                .await
                .starts_with("250")
        );
        assert!(
            say(&mut s, "RCPT TO:<refuse-1@example.com>\r\n")
                .await
                .starts_with("550")
        );
        assert!(
            say(&mut s, "RCPT TO:<a@example.com>\r\n")
                .await
                .starts_with("250")
        );
        assert!(say(&mut s, "DATA\r\n").await.starts_with("354"));
        assert!(say(&mut s, &format!("{MESSAGE}.\r\n")).await.starts_with("250"));
        assert!(say(&mut s, "QUIT\r\n").await.starts_with("221"));
        assert_eq!(sink.count_to("refuse-1@example.com").await, 0);
        let got = sink.wait_for("A@example.com", 1).await;
        assert_eq!(got.to, ["a@example.com"]);
        assert_eq!(got.subject(), "인증");
        assert_eq!(got.code(), "0a1b2c");
        assert!(got.text().contains("\n.dot-stuffed line"), "{}", got.text());
    }

    #[tokio::test]
    async fn mail_dir_reads_eml_files_by_their_to_header() {
        let dir = std::env::temp_dir().join(format!("auth-qa-maildir-{}", uuid::Uuid::new_v4()));
        let reader = MailDir::new(&dir);
        assert_eq!(
            reader.count_to("a@example.com").await,
            0,
            "no folder yet is no mail"
        );
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("1.eml"), MESSAGE).unwrap();
        std::fs::write(dir.join("partial.eml"), "From: x").unwrap();
        std::fs::write(dir.join("note.txt"), MESSAGE).unwrap();
        assert_eq!(reader.count_to("a@example.com").await, 1);
        assert_eq!(reader.wait_for("a@example.com", 1).await.code(), "0a1b2c");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn mailpit_api_messages_are_read_oldest_first() {
        use actix_web::{App, HttpResponse, HttpServer, web};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = HttpServer::new(|| {
            App::new()
                .route(
                    "/api/v1/messages",
                    web::get().to(|| async {
                        // Mailpit lists newest first.
                        HttpResponse::Ok().json(serde_json::json!({
                            "total": 2,
                            "messages": [
                                {"ID": "b", "Created": "2026-11-29T10:00:02Z", "To": [{"Address": "a@example.com"}]},
                                {"ID": "a", "Created": "2026-11-29T10:00:01Z", "To": [{"Address": "a@example.com"}]}
                            ]
                        }))
                    }),
                )
                .route(
                    "/api/v1/message/{id}/raw",
                    web::get().to(|id: web::Path<String>| async move {
                        let code = if id.as_str() == "a" { "111111" } else { "222222" };
                        HttpResponse::Ok().body(MESSAGE.replace("0a1b2c", code))
                    }),
                )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        let reader = Mailpit::new(&format!("http://{addr}/"));
        assert_eq!(reader.count_to("a@example.com").await, 2);
        assert_eq!(reader.wait_for("a@example.com", 1).await.code(), "111111");
        assert_eq!(reader.wait_for("a@example.com", 2).await.code(), "222222");
        handle.stop(false).await;
    }
}
