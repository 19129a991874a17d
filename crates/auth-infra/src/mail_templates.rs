//! The wording of the mails the domain asks for: templates, Korean by
//! default, each overridable by a file in `AUTH_MAIL_TEMPLATES_DIR`.
//!
//! A code mail has a subject, a plain-text body and an HTML body per
//! purpose: `sign_up.subject.txt`, `sign_up.txt`, `sign_up.html`,
//! `forget_password.subject.txt`, `forget_password.txt`,
//! `forget_password.html`. In each, `{code}` is replaced by the code and
//! `{minutes}` by its validity in minutes. A file missing from the folder
//! keeps the default (`crates/auth-infra/templates/mail/`). A subject is one
//! line: its file's final line break is dropped.

use std::path::Path;

use auth_domain::verification::{CodePurpose, MailContent, OutgoingMail};

use crate::MailConfigError;

/// The three parts of one kind of mail.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CodeTemplate {
    subject: String,
    text: String,
    html: String,
}

impl CodeTemplate {
    fn render(&self, code: &str, minutes: i64) -> Worded {
        let fill = |t: &str| {
            t.replace("{minutes}", &minutes.to_string())
                .replace("{code}", code)
        };
        Worded {
            subject: fill(&self.subject),
            text: fill(&self.text),
            html: fill(&self.html),
        }
    }
}

/// A mail as sent: subject and bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Worded {
    pub(crate) subject: String,
    pub(crate) text: String,
    pub(crate) html: String,
}

/// How the mailers word code mails. [`Default`] is the Korean wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailTemplates {
    sign_up: CodeTemplate,
    forget_password: CodeTemplate,
}

fn subject_line(raw: &str) -> String {
    raw.strip_suffix('\n')
        .map(|s| s.strip_suffix('\r').unwrap_or(s))
        .unwrap_or(raw)
        .to_owned()
}

impl Default for MailTemplates {
    fn default() -> Self {
        Self {
            sign_up: CodeTemplate {
                subject: subject_line(include_str!("../templates/mail/sign_up.subject.txt")),
                text: include_str!("../templates/mail/sign_up.txt").to_owned(),
                html: include_str!("../templates/mail/sign_up.html").to_owned(),
            },
            forget_password: CodeTemplate {
                subject: subject_line(include_str!("../templates/mail/forget_password.subject.txt")),
                text: include_str!("../templates/mail/forget_password.txt").to_owned(),
                html: include_str!("../templates/mail/forget_password.html").to_owned(),
            },
        }
    }
}

impl MailTemplates {
    /// The defaults, with every template file found in `dir` in place of
    /// its default (see the module documentation for the names).
    ///
    /// # Errors
    /// [`MailConfigError::Template`] when `dir` or a file in it cannot be
    /// read.
    pub fn load(dir: &Path) -> Result<Self, MailConfigError> {
        let unreadable = |path: &Path, source| MailConfigError::Template {
            path: path.to_owned(),
            source,
        };
        if !dir.is_dir() {
            return Err(unreadable(
                dir,
                std::io::Error::new(std::io::ErrorKind::NotFound, "not a folder"),
            ));
        }
        let mut templates = Self::default();
        for (name, template) in [
            ("sign_up", &mut templates.sign_up),
            ("forget_password", &mut templates.forget_password),
        ] {
            for (suffix, part, is_subject) in [
                ("subject.txt", &mut template.subject, true),
                ("txt", &mut template.text, false),
                ("html", &mut template.html, false),
            ] {
                let path = dir.join(format!("{name}.{suffix}"));
                match std::fs::read_to_string(&path) {
                    Ok(raw) => *part = if is_subject { subject_line(&raw) } else { raw },
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(unreadable(&path, e)),
                }
            }
        }
        Ok(templates)
    }

    /// `mail` worded.
    pub(crate) fn word(&self, mail: &OutgoingMail) -> Worded {
        match &mail.content {
            MailContent::Code {
                purpose,
                code,
                valid_minutes,
            } => {
                let template = match purpose {
                    CodePurpose::SignUp => &self.sign_up,
                    CodePurpose::ForgetPassword => &self.forget_password,
                };
                template.render(code, *valid_minutes)
            }
            MailContent::Worded { subject, text, html } => Worded {
                subject: subject.clone(),
                text: text.clone(),
                html: html.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use auth_domain::identity::user::Email;
    use auth_domain::verification::PlainCode;

    use super::*;

    fn code_mail(purpose: CodePurpose) -> OutgoingMail {
        OutgoingMail::for_code(
            &Email::parse("a@b.com").unwrap(),
            &PlainCode::parse("ad6045").unwrap(),
            purpose,
            chrono::TimeDelta::minutes(10),
        )
    }

    /// The wording the domain produced before the templates, byte for byte.
    fn former(purpose: CodePurpose, code: &str, minutes: i64) -> Worded {
        let what = match purpose {
            CodePurpose::SignUp => "회원 가입",
            CodePurpose::ForgetPassword => "비밀번호 재설정",
        };
        Worded {
            subject: format!("[인증번호] {what} 인증번호 안내"),
            text: format!(
                "안녕하세요.\n\n{what}을 위한 인증번호는 다음과 같습니다.\n\n    {code}\n\n\
                 이 인증번호는 {minutes}분 동안 유효하며, 한 번만 사용할 수 있습니다.\n\
                 본인이 요청하지 않았다면 이 메일을 무시해 주세요.\n"
            ),
            html: format!(
                "<!doctype html>\n<html lang=\"ko\"><body>\n\
                 <p>안녕하세요.</p>\n\
                 <p>{what}을 위한 인증번호는 다음과 같습니다.</p>\n\
                 <p style=\"font-size:24px;font-weight:bold;letter-spacing:4px\">{code}</p>\n\
                 <p>이 인증번호는 <strong>{minutes}분</strong> 동안 유효하며, 한 번만 사용할 수 있습니다.</p>\n\
                 <p>본인이 요청하지 않았다면 이 메일을 무시해 주세요.</p>\n\
                 </body></html>\n"
            ),
        }
    }

    #[test]
    fn the_default_wording_is_the_former_korean_mail_byte_for_byte() {
        let templates = MailTemplates::default();
        for purpose in [CodePurpose::SignUp, CodePurpose::ForgetPassword] {
            assert_eq!(templates.word(&code_mail(purpose)), former(purpose, "ad6045", 10));
        }
    }

    #[test]
    fn files_in_the_folder_replace_their_defaults_only() {
        let dir = std::env::temp_dir().join(format!("mail-templates-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("sign_up.subject.txt"), "Your code\n").unwrap();
        std::fs::write(dir.join("sign_up.txt"), "Code {code}, valid {minutes} min.\n").unwrap();
        let templates = MailTemplates::load(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let sign_up = templates.word(&code_mail(CodePurpose::SignUp));
        assert_eq!(sign_up.subject, "Your code");
        assert_eq!(sign_up.text, "Code ad6045, valid 10 min.\n");
        assert_eq!(sign_up.html, former(CodePurpose::SignUp, "ad6045", 10).html);
        assert_eq!(
            templates.word(&code_mail(CodePurpose::ForgetPassword)),
            former(CodePurpose::ForgetPassword, "ad6045", 10)
        );
    }

    #[test]
    fn a_missing_folder_is_an_error() {
        let missing = std::env::temp_dir().join("no-such-mail-templates-folder");
        assert!(matches!(
            MailTemplates::load(&missing),
            Err(MailConfigError::Template { .. })
        ));
    }
}
