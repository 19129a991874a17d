//! Importing accounts with their password hashes, and the admin view of
//! one account.
//!
//! Hashes are copied, not computed: each is checked by its text
//! ([`crate::identity::ports::PasswordHasher::adopt`]) and stored in a form that names
//! its parameters, so an import is bound by the database. Only plain-text
//! sources (Spring's `{noop}`) cost a hash: they are hashed with argon2id
//! here and never stored as given.

use std::collections::HashMap;
use std::sync::Arc;

use crate::caller::Caller;
use crate::error::PortError;
use crate::identity::password::{NewPassword, PasswordHash, SpringPbkdf2};
use crate::identity::ports::{PasswordHasher, UserRepository};
use crate::identity::user::{DisplayName, Email, LoginId, NewUser, UserId};
use crate::import::{ImportAccount, ImportOutcome, ImportRecord, ImportReport, MAX_ACCOUNT_ID, RejectedLine};
use crate::service_core::ServiceCore;
use crate::social::Provider;

/// The longest provider subject accepted (providers' ids are far shorter).
const MAX_SUBJECT_LEN: usize = 255;

/// The longest profile image URL accepted.
const MAX_PROFILE_IMAGE_LEN: usize = 2048;

/// How an import run treats its input.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Decide everything, store nothing.
    pub dry_run: bool,
    /// The parameters of Spring's bare `{pbkdf2}` hashes.
    pub spring_pbkdf2: SpringPbkdf2,
}

/// One import run over one file: its options, the keys seen so far (to
/// refuse a login id, email, `accountId` or social identity given twice in
/// the file), the totals, and the rejects not yet taken by the caller.
///
/// Memory grows with the number of distinct keys (a few short strings per
/// account), not with the file: records themselves are handed over in
/// batches and dropped once stored.
#[derive(Debug)]
pub struct ImportRun {
    options: ImportOptions,
    seen: HashMap<String, u64>,
    report: ImportReport,
    rejects: Vec<RejectedLine>,
}

impl ImportRun {
    /// A new run.
    pub fn new(options: ImportOptions) -> Self {
        let report = ImportReport {
            dry_run: options.dry_run,
            ..ImportReport::default()
        };
        Self {
            options,
            seen: HashMap::new(),
            report,
            rejects: Vec::new(),
        }
    }

    /// Records a line the edge could not even read (malformed JSON, too
    /// long, cut off): it counts as a record and is rejected.
    pub fn reject_unreadable(&mut self, line: u64, reason: impl Into<String>) {
        self.report.records += 1;
        self.reject(line, reason);
    }

    fn reject(&mut self, line: u64, reason: impl Into<String>) {
        self.report.rejected += 1;
        self.rejects.push(RejectedLine {
            line,
            reason: reason.into(),
        });
    }

    /// The rejects recorded since the last call, in line order within a
    /// batch.
    pub fn take_rejects(&mut self) -> Vec<RejectedLine> {
        std::mem::take(&mut self.rejects)
    }

    /// The totals so far.
    pub fn report(&self) -> &ImportReport {
        &self.report
    }

    /// The options of this run.
    pub fn options(&self) -> &ImportOptions {
        &self.options
    }
}

/// A record that passed validation, with the keys it claims in the file.
struct Valid {
    line: u64,
    account: ImportAccount,
    keys: Vec<String>,
}

/// Importing accounts with their password hashes. Cheap to clone.
#[derive(Clone)]
pub struct Import {
    core: ServiceCore,
    users: Arc<dyn UserRepository>,
    hasher: Arc<dyn PasswordHasher>,
}

impl std::fmt::Debug for Import {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Import { .. }")
    }
}

impl Import {
    /// The import over the account store `users`; `hasher` checks and
    /// adopts the imported hashes (and hashes `{noop}` plain text).
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use auth_domain::import::ImportRecord;
    /// use auth_domain::import::use_cases::{Import, ImportOptions, ImportRun};
    /// use auth_domain::testing::{test_core, FakeHasher, MemUsers};
    /// use auth_domain::AuthPolicy;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let import = Import::new(
    ///     test_core(AuthPolicy::default()),
    ///     Arc::new(MemUsers::default()),
    ///     Arc::new(FakeHasher::default()),
    /// );
    /// let mut run = ImportRun::new(ImportOptions::default());
    /// let record = ImportRecord { email: Some("kim@example.com".into()), ..ImportRecord::default() };
    /// import.import_batch(&mut run, vec![(1, record)]).await.expect("stored");
    /// // Neither a password hash nor a social identity: refused.
    /// assert_eq!(run.report().rejected, 1);
    /// # }
    /// ```
    pub fn new(core: ServiceCore, users: Arc<dyn UserRepository>, hasher: Arc<dyn PasswordHasher>) -> Self {
        Self { core, users, hasher }
    }

    /// Writes a finished import run to the audit trail as an administrator's
    /// action (its totals, never a record); a dry run changed nothing and is
    /// not recorded.
    pub async fn audit_import(&self, report: &ImportReport, caller: &Caller) {
        if report.dry_run {
            return;
        }
        let target = format!(
            "import:imported={},skipped={},rejected={}",
            report.imported, report.skipped, report.rejected
        );
        self.core
            .audit_admin(
                crate::audit::AuditKind::AdminUserImport,
                None,
                None,
                target,
                caller,
            )
            .await;
    }

    /// Validates and stores one batch of records (`(line, record)` pairs, in
    /// file order) as part of `run`: invalid ones and those repeating a key
    /// of an earlier line are rejected; the rest go to the store in one call
    /// (each account atomic), which skips accounts imported before and
    /// rejects those in conflict with existing ones. Nothing existing is
    /// changed.
    ///
    /// # Errors
    /// [`PortError`] when the store or the hasher fails: the accounts of
    /// this batch are then absent (the run's totals do not count them) and
    /// a rerun of the file completes the import.
    pub async fn import_batch(
        &self,
        run: &mut ImportRun,
        batch: Vec<(u64, ImportRecord)>,
    ) -> Result<(), PortError> {
        let mut valid: Vec<Valid> = Vec::with_capacity(batch.len());
        let mut batch_keys: HashMap<String, u64> = HashMap::new();
        let mut rejects = Vec::new();
        for (line, record) in batch {
            match self.validate(record, &run.options).await? {
                Err(reason) => rejects.push((line, reason)),
                Ok((account, keys)) => {
                    let earlier = keys
                        .iter()
                        .find_map(|k| run.seen.get(k).or_else(|| batch_keys.get(k)).map(|l| (k, *l)));
                    if let Some((key, earlier)) = earlier {
                        let field = key.split(':').next().unwrap_or("key");
                        rejects.push((line, format!("{field} repeats line {earlier}")));
                        continue;
                    }
                    for k in &keys {
                        batch_keys.insert(k.clone(), line);
                    }
                    valid.push(Valid { line, account, keys });
                }
            }
        }
        let accounts: Vec<ImportAccount> = valid.iter().map(|v| v.account.clone()).collect();
        let outcomes = if accounts.is_empty() {
            Vec::new()
        } else {
            self.users.import(accounts, run.options.dry_run).await?
        };
        if outcomes.len() != valid.len() {
            return Err(PortError::new(
                "import users",
                "the store answered a different number of outcomes than accounts",
            ));
        }
        run.report.records += u64::try_from(valid.len() + rejects.len()).unwrap_or(u64::MAX);
        for (line, reason) in rejects {
            run.reject(line, reason);
        }
        for (v, outcome) in valid.into_iter().zip(outcomes) {
            for k in v.keys {
                run.seen.insert(k, v.line);
            }
            match outcome {
                ImportOutcome::Imported(_) => {
                    run.report.imported += 1;
                    let scheme = self.hasher.scheme(v.account.user.password_hash.as_ref());
                    *run.report.by_scheme.entry(scheme).or_default() += 1;
                }
                ImportOutcome::AlreadyImported(_) => run.report.skipped += 1,
                ImportOutcome::Conflict(conflict) => {
                    run.report.conflicts += 1;
                    run.reject(v.line, conflict.to_string());
                }
            }
        }
        run.rejects.sort_by_key(|r| r.line);
        Ok(())
    }

    /// Checks one record: `Ok(Err(reason))` when it is refused.
    async fn validate(
        &self,
        record: ImportRecord,
        options: &ImportOptions,
    ) -> Result<Result<(ImportAccount, Vec<String>), String>, PortError> {
        let login_id = match record
            .login_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(raw) => match LoginId::parse(raw) {
                Ok(id) => Some(id),
                Err(e) => return Ok(Err(format!("loginId: {e}"))),
            },
        };
        let email = match record.email.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(raw) => match Email::parse(raw) {
                Ok(email) => email,
                Err(e) => return Ok(Err(format!("email: {e}"))),
            },
            None if login_id.is_none() => return Ok(Err("loginId or email is required".into())),
            // `users.email` is the recovery address every contract relies
            // on (codes, password reset, social linking): no account
            // exists without one.
            None => {
                return Ok(Err(
                    "email is required: every account of this service has one (recovery address)".into(),
                ));
            }
        };
        let id = match record.account_id {
            None => None,
            Some(n) if (1..=MAX_ACCOUNT_ID).contains(&n) => Some(UserId::new(n)),
            Some(_) => {
                return Ok(Err(format!(
                    "accountId must be an integer from 1 to {MAX_ACCOUNT_ID} (2^53 - 1)"
                )));
            }
        };
        let mut links = Vec::with_capacity(record.providers.len());
        for (provider, subject) in &record.providers {
            let Some(p) = Provider::parse(provider.trim()) else {
                return Ok(Err(format!(
                    "providers: unknown provider {:?} (google, kakao, naver)",
                    provider.chars().take(20).collect::<String>()
                )));
            };
            let subject = subject.trim();
            if subject.is_empty() || subject.len() > MAX_SUBJECT_LEN || subject.chars().any(char::is_control)
            {
                return Ok(Err(format!(
                    "providers: the {} subject is empty or invalid",
                    p.as_str()
                )));
            }
            if links.iter().any(|(q, _)| *q == p) {
                return Ok(Err(format!("providers: {} is given twice", p.as_str())));
            }
            links.push((p, subject.to_owned()));
        }
        let password_hash = match record.password_hash.as_deref() {
            None | Some("") => None,
            Some(foreign) => match self.adopt_hash(foreign, options).await? {
                Ok(hash) => Some(hash),
                Err(reason) => return Ok(Err(format!("passwordHash: {reason}"))),
            },
        };
        if password_hash.is_none() && links.is_empty() {
            return Ok(Err("passwordHash or providers is required".into()));
        }
        let name = match record.name.as_deref() {
            Some(raw) if !raw.trim().is_empty() => match DisplayName::parse(raw) {
                Ok(name) => name,
                Err(e) => return Ok(Err(format!("name: {e}"))),
            },
            _ => match default_name(login_id.as_ref(), &email) {
                Some(name) => name,
                None => return Ok(Err("name is required".into())),
            },
        };
        let profile_image = match record.profile_image {
            Some(url) if url.len() > MAX_PROFILE_IMAGE_LEN || url.chars().any(char::is_control) => {
                return Ok(Err("profileImage: too long or invalid".into()));
            }
            other => other.filter(|u| !u.trim().is_empty()),
        };
        let mut keys = Vec::with_capacity(3 + links.len());
        if let Some(id) = id {
            keys.push(format!("accountId:{id}"));
        }
        if let Some(l) = &login_id {
            keys.push(format!("loginId:{l}"));
        }
        keys.push(format!("email:{email}"));
        for (p, s) in &links {
            keys.push(format!("providers:{}:{s}", p.as_str()));
        }
        let account = ImportAccount {
            id,
            user: NewUser {
                uuid: self.core.random_uuid(),
                login_id,
                email,
                name,
                profile_image,
                password_hash,
                created_at: record.created_at.unwrap_or_else(|| self.core.now()),
            },
            links,
            email_verified: record.email_verified.unwrap_or(true),
        };
        Ok(Ok((account, keys)))
    }

    /// The stored form of an imported hash; `{noop}` plain text is hashed
    /// with argon2id now.
    async fn adopt_hash(
        &self,
        foreign: &str,
        options: &ImportOptions,
    ) -> Result<Result<PasswordHash, String>, PortError> {
        if let Some(plain) = foreign.strip_prefix("{noop}") {
            if plain.is_empty() {
                return Ok(Err("{noop} password is empty".into()));
            }
            return Ok(Ok(self.hasher.hash(&NewPassword::accepted(plain)).await?));
        }
        Ok(self
            .hasher
            .adopt(foreign, &options.spring_pbkdf2)
            .map_err(|e| e.0))
    }
}

/// The name of an account whose source gave none: its login id, else the
/// local part of its email (cut to the 50 characters a name may have).
fn default_name(login_id: Option<&LoginId>, email: &Email) -> Option<DisplayName> {
    let base = login_id.map_or_else(
        || email.as_str().split('@').next().unwrap_or_default().to_owned(),
        |l| l.as_str().to_owned(),
    );
    let cut: String = base.chars().filter(|c| !c.is_control()).take(50).collect();
    DisplayName::parse(&cut).ok()
}
