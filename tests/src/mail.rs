//! A real SMTP server for the suite (mailin-embedded on a plain thread).
//!
//! One sink serves the whole test process. In-process servers are pointed at
//! it (`AUTH_SMTP_URL=smtp://127.0.0.1:PORT`). In QA mode it listens on
//! `AUTH_TEST_SMTP_BIND` (default `0.0.0.0:2525`) and the deployment under
//! test must send its mail there. Tests find their mail by recipient, which is
//! unique per test. Recipients whose local part starts with `refuse` are
//! rejected with `550`, to exercise a refusing server.

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use mailin_embedded::response::{NO_MAILBOX, OK};
use mailin_embedded::{Handler, Response, Server, SslConfig};

/// One received message.
#[derive(Debug, Clone)]
pub struct Received {
    /// Envelope recipients.
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

#[derive(Clone)]
struct Collector {
    store: Arc<Mutex<Vec<Received>>>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Collector {
    fn rcpt(&mut self, to: &str) -> Response {
        let local = to.trim_start_matches('<').split('@').next().unwrap_or_default();
        if local.starts_with("refuse") {
            NO_MAILBOX
        } else {
            OK
        }
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.data.clear();
        OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let received = Received {
            to: std::mem::take(&mut self.to),
            raw: std::mem::take(&mut self.data),
        };
        if let Ok(mut store) = self.store.lock() {
            store.push(received);
        }
        OK
    }
}

/// The SMTP sink.
#[derive(Debug)]
pub struct MailSink {
    addr: SocketAddr,
    store: Arc<Mutex<Vec<Received>>>,
}

impl MailSink {
    /// The process-wide sink, started on first use.
    pub fn global() -> &'static MailSink {
        static SINK: OnceLock<MailSink> = OnceLock::new();
        SINK.get_or_init(|| {
            let bind = if crate::external_base_url().is_some() {
                std::env::var("AUTH_TEST_SMTP_BIND").unwrap_or_else(|_| "0.0.0.0:2525".into())
            } else {
                "127.0.0.1:0".into()
            };
            Self::start(&bind)
        })
    }

    fn start(bind: &str) -> Self {
        let listener =
            TcpListener::bind(bind).unwrap_or_else(|e| panic!("SMTP sink cannot bind {bind}: {e}"));
        let addr = listener.local_addr().unwrap();
        let store = Arc::new(Mutex::new(Vec::new()));
        let handler = Collector {
            store: store.clone(),
            to: Vec::new(),
            data: Vec::new(),
        };
        let mut server = Server::new(handler);
        server.with_name("sink.test").with_tcp_listener(listener);
        server.with_ssl(SslConfig::None).unwrap();
        std::thread::spawn(move || {
            // The error type is not Send; report it here instead.
            if let Err(e) = server.serve() {
                eprintln!("SMTP sink stopped: {e}");
            }
        });
        Self { addr, store }
    }

    /// `smtp://127.0.0.1:PORT`, for an in-process server's settings.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.addr.port())
    }

    /// How many messages `to` has received.
    pub fn count_to(&self, to: &str) -> usize {
        self.store
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to)))
            .count()
    }

    /// The newest message to `to`, waiting up to 10 s for it to be the
    /// `nth` (1-based) one.
    pub async fn wait_for(&self, to: &str, nth: usize) -> Received {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            {
                let store = self.store.lock().unwrap();
                let mine: Vec<&Received> = store
                    .iter()
                    .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to)))
                    .collect();
                if mine.len() >= nth {
                    return mine[nth - 1].clone();
                }
            }
            assert!(Instant::now() < deadline, "no mail #{nth} to {to} within 10 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
