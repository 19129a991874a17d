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
    /// An SMTP server (production).
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// `.eml` files in a folder (the embedded default).
    Outbox(AsyncFileTransport<Tokio1Executor>),
}

impl Transport {
    /// The `transport` label of the mail metrics.
    fn label(&self) -> &'static str {
        match self {
            Self::Smtp(_) => "smtp",
            Self::Outbox(_) => "file",
        }
    }
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
            transport: Transport::Smtp(transport),
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
                Transport::Smtp(smtp) => {
                    let message = build(&self.from, &self.templates, mail, Encoding::Transport)?;
                    smtp.send(message)
                        .await
                        .map(|_| ())
                        .map_err(|e| PortError::new("send mail over SMTP", e))
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
}
