//! Newline-delimited JSON account import, shared by `POST
//! /internal/users/import` ([`super`]) and `auth-server users import`
//! ([`crate::cli`]): bytes in (any chunking), lines out to
//! [`Import::import_batch`] in batches, a report at the end (rendered as
//! [`crate::admin::views::ImportReportView`]).
//!
//! One account per line:
//! `{"loginId","email","emailVerified","name","profileImage","passwordHash","createdAt","accountId","providers":[{"provider","subject"}]}`.
//! Blank lines are skipped (their numbers still count). A line that is not
//! JSON, is longer than the limit, or is cut off at the end of the input is
//! rejected with its number; the reasons never quote a value.

use auth_domain::PortError;
use auth_domain::import::use_cases::{Import, ImportOptions, ImportRun};
use auth_domain::import::{ImportRecord, ImportReport, RejectedLine};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// Records handed to the store at once: one transaction per batch.
pub const DEFAULT_BATCH: usize = 1000;

/// The longest line accepted, in bytes (a record is a few hundred).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Line {
    login_id: Option<String>,
    email: Option<String>,
    email_verified: Option<bool>,
    name: Option<String>,
    profile_image: Option<String>,
    password_hash: Option<String>,
    created_at: Option<String>,
    account_id: Option<i64>,
    #[serde(default)]
    providers: Option<Vec<ProviderLine>>,
}

#[derive(Deserialize)]
struct ProviderLine {
    provider: Option<String>,
    subject: Option<serde_json::Value>,
}

/// Parses one line into a record, or the reason it is refused (which names
/// a field or a column, never a value).
fn parse_line(bytes: &[u8]) -> Result<ImportRecord, String> {
    // serde would read a struct from an array too: refuse anything else first.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(if serde_json::from_slice::<serde_json::Value>(bytes).is_ok() {
            "not a JSON object".into()
        } else {
            "malformed JSON (not an object)".into()
        });
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let line: Line = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data if path != "." => format!("{path}: wrong type"),
            serde_json::error::Category::Data => "not a JSON object".into(),
            serde_json::error::Category::Eof => "incomplete JSON (line cut off?)".into(),
            _ => format!("malformed JSON at column {}", inner.column()),
        }
    })?;
    let created_at = match line
        .created_at
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(raw) => Some(
            DateTime::parse_from_rfc3339(raw)
                .map_err(|_| "createdAt: not an RFC 3339 time".to_owned())?
                .with_timezone(&Utc),
        ),
    };
    let mut providers = Vec::new();
    for p in line.providers.unwrap_or_default() {
        // Kakao's and Naver's ids are numbers in some exports.
        let subject = match p.subject {
            Some(serde_json::Value::String(s)) => s,
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => return Err("providers: each needs provider and subject".into()),
        };
        let provider = p.provider.ok_or("providers: each needs provider and subject")?;
        providers.push((provider, subject));
    }
    Ok(ImportRecord {
        login_id: line.login_id,
        email: line.email,
        email_verified: line.email_verified,
        name: line.name,
        profile_image: line.profile_image,
        password_hash: line.password_hash,
        created_at,
        account_id: line.account_id,
        providers,
    })
}

/// An import in progress: feed it bytes, then finish it.
#[derive(Debug)]
pub struct NdjsonImport {
    run: ImportRun,
    /// The current line's bytes so far.
    pending: Vec<u8>,
    /// The current line's number (1-based).
    line: u64,
    /// The current line went over the limit: skip to its end.
    skipping: bool,
    batch: Vec<(u64, ImportRecord)>,
    batch_size: usize,
    max_line: usize,
    /// Rejects of lines after the first one of the pending batch.
    held: Vec<RejectedLine>,
    /// Records without `accountId`, stored after all others (see
    /// [`NdjsonImport::feed`]).
    deferred: Vec<(u64, ImportRecord)>,
}

impl NdjsonImport {
    /// A new import with `options`, storing `batch_size` records per
    /// transaction and refusing lines over `max_line` bytes.
    pub fn new(options: ImportOptions, batch_size: usize, max_line: usize) -> Self {
        Self {
            run: ImportRun::new(options),
            pending: Vec::new(),
            line: 1,
            skipping: false,
            batch: Vec::new(),
            batch_size: batch_size.max(1),
            max_line: max_line.max(1),
            held: Vec::new(),
            deferred: Vec::new(),
        }
    }

    /// Takes more input; stores a batch whenever one is full.
    ///
    /// Records with an `accountId` are stored as they come; those without
    /// one wait until the end of the input: an id the database generates
    /// for them must never be one a later line keeps (ids of the old
    /// system are usually dense and ascending, and a generated id comes
    /// after the largest kept so far). They are held in memory (a few
    /// hundred bytes each; an HTTP import is bounded by
    /// `AUTH_IMPORT_MAX_BYTES`).
    ///
    /// # Errors
    /// [`PortError`] when storing a batch failed (that batch is absent).
    pub async fn feed(&mut self, import: &Import, mut bytes: &[u8]) -> Result<(), PortError> {
        while !bytes.is_empty() {
            let (part, rest, ended) = match bytes.iter().position(|b| *b == b'\n') {
                Some(i) => (&bytes[..i], &bytes[i + 1..], true),
                None => (bytes, &[][..], false),
            };
            bytes = rest;
            if !self.skipping {
                if self.pending.len() + part.len() > self.max_line {
                    self.run
                        .reject_unreadable(self.line, format!("line is longer than {} bytes", self.max_line));
                    self.pending.clear();
                    self.skipping = true;
                } else {
                    self.pending.extend_from_slice(part);
                }
            }
            if ended {
                self.end_line(false);
                if self.batch.len() >= self.batch_size {
                    self.flush(import).await?;
                }
            }
        }
        Ok(())
    }

    /// Closes the current line: parses it into the batch or rejects it.
    fn end_line(&mut self, at_eof: bool) {
        let line = self.line;
        self.line += 1;
        if std::mem::take(&mut self.skipping) {
            return;
        }
        let bytes = std::mem::take(&mut self.pending);
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        match parse_line(&bytes) {
            Ok(record) if record.account_id.is_none() => self.deferred.push((line, record)),
            Ok(record) => self.batch.push((line, record)),
            Err(reason) if at_eof => self.run.reject_unreadable(
                line,
                format!("the input ends inside this line (cut off?): {reason}"),
            ),
            Err(reason) => self.run.reject_unreadable(line, reason),
        }
    }

    /// Stores the records waiting in the batch.
    async fn flush(&mut self, import: &Import) -> Result<(), PortError> {
        let batch = std::mem::take(&mut self.batch);
        import.import_batch(&mut self.run, batch).await
    }

    /// Ends the input: the last line (even without a newline) and the last
    /// batch are processed.
    ///
    /// # Errors
    /// [`PortError`] when storing the last batch failed.
    pub async fn finish(&mut self, import: &Import, caller: &auth_domain::Caller) -> Result<(), PortError> {
        if !self.pending.is_empty() || self.skipping {
            self.end_line(true);
        }
        self.flush(import).await?;
        let deferred = std::mem::take(&mut self.deferred);
        for chunk in deferred.chunks(self.batch_size) {
            import.import_batch(&mut self.run, chunk.to_vec()).await?;
        }
        import.audit_import(self.run.report(), caller).await;
        Ok(())
    }

    /// The rejects since the last call, in line order: a line refused
    /// while reading waits until the batch holding earlier lines is stored.
    pub fn take_rejects(&mut self) -> Vec<RejectedLine> {
        let mut all = self.run.take_rejects();
        all.append(&mut self.held);
        all.sort_by_key(|r| r.line);
        let first = |b: &Vec<(u64, ImportRecord)>| b.first().map_or(u64::MAX, |(line, _)| *line);
        let watermark = first(&self.batch).min(first(&self.deferred));
        let (ready, held): (Vec<_>, Vec<_>) = all.into_iter().partition(|r| r.line < watermark);
        self.held = held;
        ready
    }

    /// The totals so far.
    pub fn report(&self) -> &ImportReport {
        self.run.report()
    }

    /// Lines read so far.
    pub fn lines(&self) -> u64 {
        self.line - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_with_reasons_that_quote_nothing() {
        let r = parse_line(br#"{"loginId":"parkh","email":"p@example.com","passwordHash":"$2a$10$x","accountId":7,"createdAt":"2024-03-01T09:00:00Z","providers":[{"provider":"kakao","subject":4021337}]}"#).unwrap();
        assert_eq!(r.account_id, Some(7));
        assert_eq!(r.providers, vec![("kakao".to_owned(), "4021337".to_owned())]);
        assert_eq!(r.created_at.unwrap().to_rfc3339(), "2024-03-01T09:00:00+00:00");
        let e = parse_line(br#"{"loginId":"parkh","accountId":"hunter2"}"#).unwrap_err();
        assert_eq!(e, "accountId: wrong type");
        let e = parse_line(br#"{"loginId":"parkh","passwordHash":12345}"#).unwrap_err();
        assert_eq!(e, "passwordHash: wrong type");
        assert!(
            parse_line(br#"{"loginId":"par"#)
                .unwrap_err()
                .contains("incomplete")
        );
        assert!(parse_line(b"not json").unwrap_err().contains("malformed"));
        assert!(
            parse_line(br#"{"loginId": oops}"#)
                .unwrap_err()
                .contains("malformed JSON at column")
        );
        assert_eq!(parse_line(b"[1,2]").unwrap_err(), "not a JSON object");
        assert_eq!(
            parse_line(br#"{"createdAt":"yesterday"}"#).unwrap_err(),
            "createdAt: not an RFC 3339 time"
        );
    }
}
