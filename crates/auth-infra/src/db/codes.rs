//! [`CodeStore`] over diesel: one row per email in `verification_codes`,
//! and the cooldowns of `FORGET_PASSWORD` requests that matched no account
//! in `code_decoys`. Every conditional method is one `UPDATE … WHERE …` (or
//! `DELETE`), whose condition both databases re-check under the row lock, so
//! concurrent callers on any number of instances cannot all pass it.

use async_trait::async_trait;
use auth_domain::PortError;
use auth_domain::identity::user::{Email, LoginId, UserId};
use auth_domain::ports::CodeStore;
use auth_domain::verification::{CodeHash, CodePurpose, DecoyKey, PutOutcome, StoredCode};
use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::schema::code_decoys as cd;
use crate::db::schema::verification_codes as vc;
use crate::db::{Database, DbError, from_db_time, to_db_time};

/// The backend of every query ([`crate::db::AnyConnection`]'s).
type Db = <crate::db::AnyConnection as Connection>::Backend;

/// The rows of `email`'s code `hash` that can still be used at `now`: not
/// consumed, not expired, and with at most `max_attempts` tries reserved
/// (`below_cap`: fewer than `max_attempts`, so one more may be reserved).
/// One definition for the reserve, verify and consume writes.
fn live_code(
    email: String,
    hash: String,
    now: chrono::NaiveDateTime,
    max_attempts: u32,
    below_cap: bool,
) -> Box<dyn BoxableExpression<vc::table, Db, SqlType = diesel::sql_types::Bool>> {
    let open = vc::email
        .eq(email)
        .and(vc::code_hash.eq(hash))
        .and(vc::consumed_at.is_null())
        .and(vc::expires_at.gt(now));
    let cap = i64::from(max_attempts);
    if below_cap {
        Box::new(open.and(vc::attempts.lt(cap)))
    } else {
        Box::new(open.and(vc::attempts.le(cap)))
    }
}

/// Stores emailed verification codes (hashes only).
#[derive(Debug, Clone)]
pub struct DieselCodeStore {
    db: Database,
}

impl DieselCodeStore {
    /// A store over `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[derive(Queryable, Insertable)]
#[diesel(table_name = vc)]
struct CodeRow {
    email: String,
    purpose: String,
    user_id: Option<i64>,
    code_hash: String,
    sent_at: chrono::NaiveDateTime,
    expires_at: chrono::NaiveDateTime,
    attempts: i64,
    verified_at: Option<chrono::NaiveDateTime>,
    consumed_at: Option<chrono::NaiveDateTime>,
    login_id: Option<String>,
}

impl CodeRow {
    fn from_domain(c: &StoredCode) -> Self {
        Self {
            email: c.email.as_str().to_owned(),
            purpose: c.purpose.as_str().to_owned(),
            user_id: c.user_id.map(UserId::get),
            code_hash: c.hash.as_str().to_owned(),
            sent_at: to_db_time(c.sent_at),
            expires_at: to_db_time(c.expires_at),
            attempts: i64::from(c.attempts),
            verified_at: c.verified_at.map(to_db_time),
            consumed_at: c.consumed_at.map(to_db_time),
            login_id: c.login_id.as_ref().map(|l| l.as_str().to_owned()),
        }
    }

    fn into_domain(self) -> Result<StoredCode, DbError> {
        Ok(StoredCode {
            email: Email::parse(&self.email)
                .map_err(|_| DbError::Corrupt("verification_codes.email is not an email"))?,
            purpose: CodePurpose::parse(&self.purpose)
                .ok_or(DbError::Corrupt("verification_codes.purpose is unknown"))?,
            user_id: self.user_id.map(UserId::new),
            login_id: self
                .login_id
                .map(|l| LoginId::parse(&l))
                .transpose()
                .map_err(|_| DbError::Corrupt("verification_codes.login_id is not a login id"))?,
            hash: CodeHash::from_stored(self.code_hash),
            sent_at: from_db_time(self.sent_at),
            expires_at: from_db_time(self.expires_at),
            attempts: u32::try_from(self.attempts.max(0)).unwrap_or(u32::MAX),
            verified_at: self.verified_at.map(from_db_time),
            consumed_at: self.consumed_at.map(from_db_time),
        })
    }
}

#[async_trait]
impl CodeStore for DieselCodeStore {
    async fn put(&self, code: &StoredCode, cooldown: TimeDelta) -> Result<PutOutcome, PortError> {
        let row = CodeRow::from_domain(code);
        let threshold = to_db_time(code.sent_at - cooldown);
        let fallback = code.sent_at + cooldown;
        self.db
            .query("store verification code", move |conn| {
                // Replace an old enough code in place. The WHERE clause is
                // re-checked under the row lock, so of two racing sends at
                // most one replaces it; the other falls through to INSERT,
                // which the primary key refuses.
                let replaced = diesel::update(
                    vc::table
                        .filter(vc::email.eq(&row.email))
                        .filter(vc::sent_at.le(threshold)),
                )
                .set((
                    vc::purpose.eq(&row.purpose),
                    vc::user_id.eq(row.user_id),
                    vc::code_hash.eq(&row.code_hash),
                    vc::sent_at.eq(row.sent_at),
                    vc::expires_at.eq(row.expires_at),
                    vc::attempts.eq(0_i64),
                    vc::verified_at.eq(None::<chrono::NaiveDateTime>),
                    vc::consumed_at.eq(None::<chrono::NaiveDateTime>),
                    vc::login_id.eq(&row.login_id),
                ))
                .execute(conn)?;
                if replaced == 1 {
                    return Ok(PutOutcome::Stored);
                }
                match diesel::insert_into(vc::table).values(&row).execute(conn) {
                    Ok(_) => Ok(PutOutcome::Stored),
                    Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                        let sent: Option<chrono::NaiveDateTime> = vc::table
                            .find(&row.email)
                            .select(vc::sent_at)
                            .get_result(conn)
                            .optional()?;
                        Ok(PutOutcome::Cooldown(
                            sent.map_or(fallback, |s| from_db_time(s) + cooldown),
                        ))
                    }
                    Err(e) => Err(e),
                }
            })
            .await
    }

    async fn get(&self, email: &Email) -> Result<Option<StoredCode>, PortError> {
        const CONTEXT: &str = "find verification code";
        let email = email.as_str().to_owned();
        self.db
            .query(CONTEXT, move |conn| {
                vc::table.find(email).get_result::<CodeRow>(conn).optional()
            })
            .await?
            .map(CodeRow::into_domain)
            .transpose()
            .map_err(|e| PortError::new(CONTEXT, e))
    }

    async fn reserve_attempt(
        &self,
        email: &Email,
        hash: &CodeHash,
        now: DateTime<Utc>,
        max_attempts: u32,
    ) -> Result<bool, PortError> {
        let (email, hash) = (email.as_str().to_owned(), hash.as_str().to_owned());
        let now = to_db_time(now);
        self.db
            .query("reserve a code try", move |conn| {
                diesel::update(vc::table.filter(live_code(email, hash, now, max_attempts, true)))
                    .set(vc::attempts.eq(vc::attempts + 1_i64))
                    .execute(conn)
            })
            .await
            .map(|n| n == 1)
    }

    async fn mark_verified(
        &self,
        email: &Email,
        hash: &CodeHash,
        now: DateTime<Utc>,
        max_attempts: u32,
        login_id: Option<&LoginId>,
    ) -> Result<bool, PortError> {
        let (email, hash) = (email.as_str().to_owned(), hash.as_str().to_owned());
        let login_id = login_id.map(|l| l.as_str().to_owned());
        let now = to_db_time(now);
        self.db
            .query("mark code verified", move |conn| {
                let open = vc::table.filter(live_code(email, hash, now, max_attempts, false));
                // The caller's reserved try is given back: a right code is
                // not a wrong try.
                match login_id {
                    Some(login_id) => diesel::update(
                        open.filter(vc::login_id.is_null().or(vc::login_id.eq(login_id.clone()))),
                    )
                    .set((
                        vc::verified_at.eq(Some(now)),
                        vc::attempts.eq(vc::attempts - 1_i64),
                        vc::login_id.eq(Some(login_id)),
                    ))
                    .execute(conn),
                    None => diesel::update(open)
                        .set((
                            vc::verified_at.eq(Some(now)),
                            vc::attempts.eq(vc::attempts - 1_i64),
                        ))
                        .execute(conn),
                }
            })
            .await
            .map(|n| n == 1)
    }

    async fn consume(
        &self,
        email: &Email,
        hash: &CodeHash,
        now: DateTime<Utc>,
        max_attempts: u32,
    ) -> Result<bool, PortError> {
        let (email, hash) = (email.as_str().to_owned(), hash.as_str().to_owned());
        let now = to_db_time(now);
        self.db
            .query("consume verification code", move |conn| {
                diesel::update(vc::table.filter(live_code(email, hash, now, max_attempts, false)))
                    .set(vc::consumed_at.eq(Some(now)))
                    .execute(conn)
            })
            .await
            .map(|n| n == 1)
    }

    async fn consume_sign_up(
        &self,
        email: &Email,
        hash: &CodeHash,
        login_id: &LoginId,
        verified_since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let (email, hash) = (email.as_str().to_owned(), hash.as_str().to_owned());
        let login_id = login_id.as_str().to_owned();
        let (since, now) = (to_db_time(verified_since), to_db_time(now));
        self.db
            .query("spend sign-up verification", move |conn| {
                diesel::update(
                    vc::table
                        .filter(vc::email.eq(email))
                        .filter(vc::code_hash.eq(hash))
                        .filter(vc::purpose.eq(CodePurpose::SignUp.as_str()))
                        .filter(vc::login_id.eq(login_id))
                        .filter(vc::consumed_at.is_null())
                        .filter(vc::verified_at.ge(since)),
                )
                .set(vc::consumed_at.eq(Some(now)))
                .execute(conn)
            })
            .await
            .map(|n| n == 1)
    }

    async fn discard(&self, email: &Email, hash: &CodeHash) -> Result<(), PortError> {
        let (email, hash) = (email.as_str().to_owned(), hash.as_str().to_owned());
        self.db
            .query("discard verification code", move |conn| {
                diesel::delete(
                    vc::table
                        .filter(vc::email.eq(email))
                        .filter(vc::code_hash.eq(hash)),
                )
                .execute(conn)
            })
            .await
            .map(|_| ())
    }

    async fn put_decoy(
        &self,
        key: &DecoyKey,
        now: DateTime<Utc>,
        cooldown: TimeDelta,
    ) -> Result<PutOutcome, PortError> {
        let key = key.as_str().to_owned();
        let (sent, expires) = (to_db_time(now), to_db_time(now + cooldown));
        let threshold = to_db_time(now - cooldown);
        let fallback = now + cooldown;
        self.db
            .query("store code decoy", move |conn| {
                // As `put`: restart an ended cooldown in place, else insert;
                // the primary key refuses the loser of a race.
                let restarted = diesel::update(
                    cd::table
                        .filter(cd::key_hash.eq(&key))
                        .filter(cd::sent_at.le(threshold)),
                )
                .set((cd::sent_at.eq(sent), cd::expires_at.eq(expires)))
                .execute(conn)?;
                if restarted == 1 {
                    return Ok(PutOutcome::Stored);
                }
                let inserted = diesel::insert_into(cd::table)
                    .values((
                        cd::key_hash.eq(&key),
                        cd::sent_at.eq(sent),
                        cd::expires_at.eq(expires),
                    ))
                    .execute(conn);
                match inserted {
                    Ok(_) => Ok(PutOutcome::Stored),
                    Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                        let started: Option<chrono::NaiveDateTime> = cd::table
                            .find(&key)
                            .select(cd::sent_at)
                            .get_result(conn)
                            .optional()?;
                        Ok(PutOutcome::Cooldown(
                            started.map_or(fallback, |s| from_db_time(s) + cooldown),
                        ))
                    }
                    Err(e) => Err(e),
                }
            })
            .await
    }

    async fn purge_expired(&self, now: DateTime<Utc>, horizon: TimeDelta) -> Result<usize, PortError> {
        let (cutoff, now) = (to_db_time(now - horizon), to_db_time(now));
        self.db
            .query("purge expired codes", move |conn| {
                let decoys = diesel::delete(cd::table.filter(cd::expires_at.le(now))).execute(conn)?;
                let codes = diesel::delete(
                    vc::table
                        .filter(vc::expires_at.le(now))
                        .filter(vc::sent_at.le(cutoff))
                        .filter(vc::verified_at.is_null().or(vc::verified_at.le(cutoff))),
                )
                .execute(conn)?;
                Ok(decoys + codes)
            })
            .await
    }
}
