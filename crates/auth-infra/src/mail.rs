//! Mail adapters over lettre: SMTP for production, an `.eml` outbox folder as
//! the embedded default (no mail server needed).

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use auth_domain::PortError;
use auth_domain::ports::Mailer;
use auth_domain::verification::OutgoingMail;

use crate::MailTemplates;

/// Why a mailer could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum MailConfigError {
    /// `AUTH_MAIL_FROM` is not a mailbox (`name <addr>` or `addr`).
    #[error("invalid sender address: {0}")]
    From(String),
    /// `AUTH_SMTP_URL` is not a lettre SMTP URL (its credentials are not shown).
    #[error("invalid SMTP URL: {0}")]
    Url(String),
    /// A mail template (`AUTH_MAIL_TEMPLATES_DIR`) cannot be read.
    #[error("cannot read mail template {path}: {source}")]
    Template {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The outbox folder cannot be created.
    #[error("cannot create mail outbox {path}: {source}")]
    Outbox {
        /// The folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

fn parse_from(from: &str) -> Result<Mailbox, MailConfigError> {
    from.parse()
        .map_err(|e: lettre::address::AddressError| MailConfigError::From(e.to_string()))
}

/// How the parts of a message are encoded.
#[derive(Debug, Clone, Copy)]
enum Encoding {
    /// lettre's choice (base64 or quoted-printable): safe for any SMTP relay.
    Transport,
    /// Plain UTF-8 (`8bit`): readable in a text editor, for the outbox.
    Readable,
}

/// A UTF-8 body as RFC 2045 `8bit`: CRLF line endings, no NUL or bare CR,
/// no line over 998 octets. lettre's own chooser only picks 8bit for lines
/// of at most 76 bytes, which Korean text exceeds, so the body is encoded
/// here and checked against the RFC's limits instead.
fn eight_bit(text: &str) -> Result<Body, PortError> {
    let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
    let valid = !crlf.contains('\0')
        && crlf
            .split("\r\n")
            .all(|line| line.len() <= 998 && !line.contains('\r'));
    if !valid {
        return Err(PortError::new(
            "encode mail body as 8bit",
            "a line is too long or has NUL/CR",
        ));
    }
    Ok(Body::dangerous_pre_encoded(
        crlf.into_bytes(),
        ContentTransferEncoding::EightBit,
    ))
}

/// Builds the MIME message, worded by `templates`: `multipart/alternative`
/// with the text and the HTML.
fn build(
    from: &Mailbox,
    templates: &MailTemplates,
    mail: &OutgoingMail,
    encoding: Encoding,
) -> Result<Message, PortError> {
    let to: Mailbox = mail
        .to
        .as_str()
        .parse()
        .map_err(|e| PortError::new("parse recipient address", e))?;
    let mail = templates.word(mail);
    let body = match encoding {
        Encoding::Transport => MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()),
        Encoding::Readable => MultiPart::alternative()
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(eight_bit(&mail.text)?),
            )
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(eight_bit(&mail.html)?),
            ),
    };
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .multipart(body)
        .map_err(|e| PortError::new("build mail", e))
}

/// Where a [`LettreMailer`] puts its mails.
#[derive(Debug, Clone)]
enum Transport {
    /// An SMTP server (production), and for `smtps://` its `host:port`
    /// and host (named when the TLS handshake fails).
    Smtp(AsyncSmtpTransport<Tokio1Executor>, Option<(String, String)>),
    /// `.eml` files in a folder (the embedded default).
    Outbox(AsyncFileTransport<Tokio1Executor>),
}

impl Transport {
    /// The `transport` label of the mail metrics.
    fn label(&self) -> &'static str {
        match self {
            Self::Smtp(..) => "smtp",
            Self::Outbox(_) => "file",
        }
    }
}

/// A TLS handshake with an `smtps://` server failed in a way a server
/// speaking plain SMTP (or STARTTLS) causes: its `220` greeting read as a
/// TLS record. Says so, and what to set instead.
#[derive(Debug, thiserror::Error)]
#[error(
    "TLS handshake failed ({cause}): the server at {server} may not speak implicit TLS (smtps://); \
     for STARTTLS use smtp://{host}:587?tls=required (or the server's submission port)"
)]
struct ImplicitTlsFailed {
    /// `host:port`, no credentials.
    server: String,
    /// The host alone.
    host: String,
    /// The innermost cause (lettre nests "Connection error" twice), e.g.
    /// rustls' "received corrupt message of type InvalidContentType".
    cause: String,
}

/// Where an `smtps://` URL points (`host`, `host:port`; 465 by default),
/// without its credentials. `None` for any other scheme.
fn implicit_tls_server(url: &str) -> Option<(String, String)> {
    let url = reqwest::Url::parse(url).ok()?;
    if url.scheme() != "smtps" {
        return None;
    }
    let host = url.host_str()?.to_owned();
    let port = url.port().unwrap_or(465);
    Some((format!("{host}:{port}"), host))
}

/// Whether a send failed in the TLS handshake the way a plain-text answer
/// makes it fail: lettre's TLS error, or a connection error over an I/O
/// error of kind `InvalidData` (rustls' "received corrupt message") or an
/// end of stream before the handshake finished.
fn is_tls_handshake_failure(error: &lettre::transport::smtp::Error) -> bool {
    if error.is_tls() {
        return true;
    }
    if error.is_response() || error.is_permanent() || error.is_transient() || error.is_timeout() {
        return false;
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof
            );
        }
        source = cause.source();
    }
    false
}

/// The text of the innermost cause of `error`.
fn root_cause(error: &dyn std::error::Error) -> String {
    let mut inner = error;
    while let Some(cause) = inner.source() {
        inner = cause;
    }
    inner.to_string()
}

/// An error and its causes, `a: b: c`, each cause once. lettre's and
/// [`PortError`]'s `Display` already end with their source (lettre's
/// connection errors even nest one in another), so each error contributes
/// only its own part, a part equal to the previous one or already in the
/// text is left out: a refusal reads `send mail over SMTP: permanent error
/// (550): refused`, not `…: refused: permanent error (550): refused:
/// refused`.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut texts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        texts.push(cause.to_string());
        source = cause.source();
    }
    let mut out = String::new();
    let mut last = "";
    for (i, text) in texts.iter().enumerate() {
        let own = texts
            .get(i + 1)
            .and_then(|next| text.strip_suffix(next.as_str()))
            .and_then(|head| head.strip_suffix(": "))
            .unwrap_or(text);
        if own.is_empty() || own == last || out.contains(own) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(own);
        last = own;
    }
    out
}

/// The [`Mailer`] over lettre: through an SMTP server
/// ([`LettreMailer::smtp`]), or as `.eml` files in a folder
/// ([`LettreMailer::outbox`], the default when no SMTP server is
/// configured). One mail builder, one metric, two transports.
#[derive(Debug, Clone)]
pub struct LettreMailer {
    from: Mailbox,
    templates: MailTemplates,
    transport: Transport,
}

impl LettreMailer {
    /// Sends through an SMTP server. `url` in lettre's form:
    /// `smtp://host:port` (plain), `smtp://host?tls=required` (STARTTLS),
    /// `smtps://user:pass@host` (TLS). `timeout` bounds each SMTP exchange
    /// so a dead server fails a send instead of hanging it.
    ///
    /// # Errors
    /// [`MailConfigError`] when the URL or the sender is invalid.
    pub fn smtp(url: &str, from: &str, timeout: Duration) -> Result<Self, MailConfigError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailConfigError::Url(e.to_string()))?
            .timeout(Some(timeout))
            .build();
        Ok(Self {
            from: parse_from(from)?,
            templates: MailTemplates::default(),
            transport: Transport::Smtp(transport, implicit_tls_server(url)),
        })
    }

    /// Writes each mail as an `.eml` file into `dir`, created if needed.
    /// Bodies are plain UTF-8 so a developer can read the code in any
    /// editor.
    ///
    /// # Errors
    /// [`MailConfigError`] when the folder cannot be created or the sender is
    /// invalid.
    pub fn outbox(dir: &Path, from: &str) -> Result<Self, MailConfigError> {
        std::fs::create_dir_all(dir).map_err(|source| MailConfigError::Outbox {
            path: dir.to_owned(),
            source,
        })?;
        Ok(Self {
            from: parse_from(from)?,
            templates: MailTemplates::default(),
            transport: Transport::Outbox(AsyncFileTransport::new(dir)),
        })
    }

    /// The same mailer, wording mails with `templates` instead of the
    /// Korean defaults.
    #[must_use]
    pub fn with_templates(self, templates: MailTemplates) -> Self {
        Self { templates, ..self }
    }
}

#[async_trait]
impl Mailer for LettreMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), PortError> {
        let sent = async {
            match &self.transport {
                Transport::Smtp(smtp, implicit_tls) => {
                    let message = build(&self.from, &self.templates, mail, Encoding::Transport)?;
                    smtp.send(message)
                        .await
                        .map(|_| ())
                        .map_err(|e| match implicit_tls {
                            Some((server, host)) if is_tls_handshake_failure(&e) => PortError::new(
                                "send mail over SMTP",
                                ImplicitTlsFailed {
                                    server: server.clone(),
                                    host: host.clone(),
                                    cause: root_cause(&e),
                                },
                            ),
                            _ => PortError::new("send mail over SMTP", e),
                        })
                }
                Transport::Outbox(outbox) => {
                    let message = build(&self.from, &self.templates, mail, Encoding::Readable)?;
                    outbox
                        .send(message)
                        .await
                        .map(|_| ())
                        .map_err(|e| PortError::new("write mail to outbox", e))
                }
            }
        }
        .await;
        count(self.transport.label(), &sent);
        sent
    }
}

/// `auth_mail_sent_total{transport}` or `auth_mail_failures_total{transport}`.
fn count(transport: &'static str, sent: &Result<(), PortError>) {
    match sent {
        Ok(()) => metrics::counter!("auth_mail_sent_total", "transport" => transport).increment(1),
        Err(_) => metrics::counter!("auth_mail_failures_total", "transport" => transport).increment(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_domain::identity::user::Email;
    use auth_domain::verification::{CodePurpose, MailContent, PlainCode};

    fn mail() -> OutgoingMail {
        let to = Email::parse("a@example.com").unwrap();
        let code = PlainCode::parse("e09d93").unwrap();
        OutgoingMail::for_code(&to, &code, CodePurpose::SignUp, chrono::TimeDelta::minutes(10))
    }

    #[test]
    fn both_encodings_build_the_real_code_mail() {
        let from = parse_from("Auth <no-reply@localhost>").unwrap();
        for encoding in [Encoding::Transport, Encoding::Readable] {
            let raw = String::from_utf8(
                build(&from, &MailTemplates::default(), &mail(), encoding)
                    .unwrap()
                    .formatted(),
            )
            .unwrap();
            assert!(raw.contains("multipart/alternative"), "{raw}");
        }
        let readable = String::from_utf8(
            build(&from, &MailTemplates::default(), &mail(), Encoding::Readable)
                .unwrap()
                .formatted(),
        )
        .unwrap();
        assert!(
            readable.contains("e09d93") && readable.contains("10분"),
            "{readable}"
        );
    }

    #[test]
    fn an_unencodable_body_is_an_error_not_a_panic() {
        let from = parse_from("a@localhost").unwrap();
        let worded = |text: &str, html: &str| OutgoingMail {
            to: Email::parse("a@example.com").unwrap(),
            content: MailContent::Worded {
                subject: "s".into(),
                text: text.into(),
                html: html.into(),
            },
        };
        let long = worded("t", &"가".repeat(400));
        let nul = worded("a\0b", "h");
        let templates = MailTemplates::default();
        assert!(build(&from, &templates, &nul, Encoding::Readable).is_err());
        assert!(build(&from, &templates, &long, Encoding::Readable).is_err());
        assert!(build(&from, &templates, &long, Encoding::Transport).is_ok());
    }

    /// A one-connection SMTP server on 127.0.0.1: greets with `greeting`,
    /// then answers each command line with `reply(line)` (none: close).
    async fn fake_server(greeting: &'static str, reply: fn(&str) -> Option<&'static str>) -> u16 {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (read, mut write) = stream.into_split();
                let _ = write.write_all(greeting.as_bytes()).await;
                let mut lines = BufReader::new(read).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    match reply(&line.to_ascii_uppercase()) {
                        Some(answer) => drop(write.write_all(answer.as_bytes()).await),
                        None => break,
                    }
                }
            }
        });
        port
    }

    /// Issue 33.8: a refusal names each cause once.
    #[tokio::test]
    async fn a_refusal_reads_each_cause_once() {
        let port = fake_server("220 fake ESMTP\r\n", |line| {
            Some(if line.starts_with("RCPT") {
                "550 refused\r\n"
            } else if line.starts_with("QUIT") {
                "221 bye\r\n"
            } else {
                "250 OK\r\n"
            })
        })
        .await;
        let mailer = LettreMailer::smtp(
            &format!("smtp://127.0.0.1:{port}"),
            "a@localhost",
            Duration::from_secs(5),
        )
        .unwrap();
        let err = mailer.send(&mail()).await.unwrap_err();
        let text = error_chain(&err);
        assert_eq!(text, "send mail over SMTP: permanent error (550): refused");
        assert_eq!(text.matches("refused").count(), 1, "{text}");
    }

    /// Issue 33.8: `smtps://` against a server speaking plain SMTP says the
    /// TLS handshake failed, and what to set for STARTTLS.
    #[tokio::test]
    async fn smtps_against_a_plain_server_names_tls() {
        let port = fake_server("220 fake ESMTP\r\n", |_| None).await;
        let mailer = LettreMailer::smtp(
            &format!("smtps://user:hunter2@127.0.0.1:{port}"),
            "a@localhost",
            Duration::from_secs(5),
        )
        .unwrap();
        let err = mailer.send(&mail()).await.unwrap_err();
        let text = error_chain(&err);
        assert!(text.contains("TLS handshake failed"), "{text}");
        assert!(text.contains(&format!("server at 127.0.0.1:{port}")), "{text}");
        assert!(text.contains("smtp://127.0.0.1:587?tls=required"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert_eq!(text.matches("TLS handshake failed").count(), 1, "{text}");
        assert!(!text.contains("Connection error"), "the root cause only: {text}");
    }

    /// A chain whose errors include their source, one of them twice, and
    /// one that does not: each part once.
    #[test]
    fn each_cause_once_in_a_chain() {
        #[derive(Debug)]
        struct E(String, Option<Box<E>>);
        impl std::fmt::Display for E {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl std::error::Error for E {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                self.1.as_deref().map(|e| e as _)
            }
        }
        let root = E("connection refused".into(), None);
        let inner = E(
            "Connection error: connection refused".into(),
            Some(Box::new(root)),
        );
        let outer = E(
            "Connection error: Connection error: connection refused".into(),
            Some(Box::new(inner)),
        );
        let port = PortError::new("send mail over SMTP", outer);
        assert_eq!(
            error_chain(&port),
            "send mail over SMTP: Connection error: connection refused"
        );
        let plain = E("cannot send".into(), Some(Box::new(E("timed out".into(), None))));
        assert_eq!(error_chain(&plain), "cannot send: timed out");
    }

    #[test]
    fn only_smtps_urls_get_the_tls_hint() {
        assert_eq!(
            implicit_tls_server("smtps://u:p@mail.example.com"),
            Some(("mail.example.com:465".to_owned(), "mail.example.com".to_owned()))
        );
        assert_eq!(implicit_tls_server("smtp://mail.example.com?tls=required"), None);
    }
}
