//! Mail adapters over lettre: SMTP for production, an `.eml` outbox folder as
//! the embedded default (no mail server needed).

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use auth_domain::PortError;
use auth_domain::ports::Mailer;
use auth_domain::verification::OutgoingMail;

/// Why a mailer could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum MailConfigError {
    /// `AUTH_MAIL_FROM` is not a mailbox (`name <addr>` or `addr`).
    #[error("invalid sender address: {0}")]
    From(String),
    /// `AUTH_SMTP_URL` is not a lettre SMTP URL (its credentials are not shown).
    #[error("invalid SMTP URL: {0}")]
    Url(String),
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

/// Builds the MIME message: `multipart/alternative` with the text and the HTML.
fn build(from: &Mailbox, mail: &OutgoingMail) -> Result<Message, PortError> {
    let to: Mailbox = mail
        .to
        .as_str()
        .parse()
        .map_err(|e| PortError::new("parse recipient address", e))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            mail.html.clone(),
        ))
        .map_err(|e| PortError::new("build mail", e))
}

/// Sends through an SMTP server.
#[derive(Debug, Clone)]
pub struct SmtpMailer {
    from: Mailbox,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpMailer {
    /// `url` in lettre's form: `smtp://host:port` (plain), `smtp://host?tls=required`
    /// (STARTTLS), `smtps://user:pass@host` (TLS). `timeout` bounds each
    /// SMTP exchange so a dead server fails a send instead of hanging it.
    ///
    /// # Errors
    /// [`MailConfigError`] when the URL or the sender is invalid.
    pub fn new(url: &str, from: &str, timeout: Duration) -> Result<Self, MailConfigError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailConfigError::Url(e.to_string()))?
            .timeout(Some(timeout))
            .build();
        Ok(Self {
            from: parse_from(from)?,
            transport,
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), PortError> {
        let message = build(&self.from, mail)?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| PortError::new("send mail over SMTP", e))
    }
}

/// Writes each mail as an `.eml` file into a folder (the default when no SMTP
/// server is configured).
#[derive(Debug, Clone)]
pub struct FileMailer {
    from: Mailbox,
    transport: AsyncFileTransport<Tokio1Executor>,
}

impl FileMailer {
    /// Creates the folder if needed.
    ///
    /// # Errors
    /// [`MailConfigError`] when the folder cannot be created or the sender is
    /// invalid.
    pub fn new(dir: &Path, from: &str) -> Result<Self, MailConfigError> {
        std::fs::create_dir_all(dir).map_err(|source| MailConfigError::Outbox {
            path: dir.to_owned(),
            source,
        })?;
        Ok(Self {
            from: parse_from(from)?,
            transport: AsyncFileTransport::new(dir),
        })
    }
}

#[async_trait]
impl Mailer for FileMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), PortError> {
        let message = build(&self.from, mail)?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| PortError::new("write mail to outbox", e))
    }
}
