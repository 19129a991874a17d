//! Outgoing mail ([`MailSettings`]).

use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::typed;
use super::{SettingsError, duration_seconds};

/// How mail is sent, and from whom.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct MailSettings {
    /// SMTP server in lettre's URL form (`AUTH_SMTP_URL`): `smtp://host:port`,
    /// `smtp://host?tls=required`, `smtps://user:pass@host`. Unset: mail is
    /// written as `.eml` files into `mail_dir`.
    #[serde(serialize_with = "super::strict::redacted")]
    pub smtp_url: Option<SecretString>,
    /// Time one SMTP exchange may take (`AUTH_SMTP_TIMEOUT_SECONDS`).
    #[serde(rename = "smtp_timeout_seconds", with = "typed::seconds")]
    pub smtp_timeout: Duration,
    /// Sender of every mail (`AUTH_MAIL_FROM`).
    #[serde(rename = "mail_from")]
    pub from: String,
    /// Outbox folder when no SMTP server is set (`AUTH_MAIL_DIR`); default:
    /// `outbox` next to the SQLite file, or `./outbox`
    /// ([`super::Settings::outbox_dir`]).
    #[serde(rename = "mail_dir")]
    pub dir: Option<String>,
    /// Folder of mail templates replacing the Korean defaults
    /// (`AUTH_MAIL_TEMPLATES_DIR`): `sign_up.subject.txt`, `sign_up.txt`,
    /// `sign_up.html`, and the same for `forget_password`; `{code}` and
    /// `{minutes}` are filled in. A file that is absent keeps its default.
    #[serde(rename = "mail_templates_dir")]
    pub templates_dir: Option<String>,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            smtp_url: None,
            smtp_timeout: Duration::from_secs(10),
            from: "Auth <no-reply@localhost>".into(),
            dir: None,
            templates_dir: None,
        }
    }
}

impl MailSettings {
    /// Checks the SMTP timeout.
    ///
    /// # Errors
    /// [`SettingsError`] naming the setting.
    pub fn validate(&self) -> Result<(), SettingsError> {
        duration_seconds("smtp_timeout_seconds", self.smtp_timeout, 1)
    }
}
