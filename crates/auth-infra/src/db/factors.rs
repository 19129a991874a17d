//! [`FactorStore`] over diesel: TOTP authenticators (`mfa_totp`), recovery
//! codes (`mfa_recovery_codes`), passkeys (`mfa_passkeys`), pending second
//! steps (`mfa_pending`) and WebAuthn ceremonies (`mfa_ceremonies`).
//!
//! Every method that spends something is one statement whose `WHERE` both
//! databases re-check under the row lock (`UPDATE … WHERE …`, `DELETE …`,
//! with `RETURNING` where the row is wanted back), so of any number of
//! parallel callers, on any number of instances, exactly the allowed number
//! succeed.
//!
//! TOTP secrets and passkey data are sealed under the key-encryption key
//! when one is configured (`xchacha20poly1305:…`, see `db/kek.rs`, with
//! `totp:<user id>` or `passkey:<id>` as associated data so a sealed value
//! does not open in another row), and stored as `plain:…` otherwise. A
//! sealed value read without the KEK, or under another one, is an error.
//! Hashes and credential ids are stored as lowercase hex.

use async_trait::async_trait;
use auth_domain::PortError;
use auth_domain::factors::ports::{
    FactorStore, PendingCeremony, PendingSecondFactor, SecretHash, StoredPasskey, TotpRecord,
};
use auth_domain::identity::user::UserId;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::db::kek::Kek;
use crate::db::schema::{
    mfa_ceremonies as mc, mfa_passkeys as mp, mfa_pending as pend, mfa_recovery_codes as rc, mfa_totp as totp,
};
use crate::db::{AnyConnection, Database, from_db_time, to_db_time};

mod rows;

use rows::{CeremonyRow, PasskeyRow, PendingRow, TotpRow, Vault, hash_text, port};

/// Stores second factors and pending second steps.
#[derive(Debug, Clone)]
pub struct DieselFactorStore {
    db: Database,
    vault: Vault,
}

impl DieselFactorStore {
    /// The store over `db`, sealing TOTP secrets and passkey data under
    /// `kek` when given (values stored in clear before stay readable).
    pub fn new(db: Database, kek: Option<Kek>) -> Self {
        Self {
            db,
            vault: Vault(kek),
        }
    }
}

/// Whether exactly one row was changed (the caller won).
fn one(n: usize) -> bool {
    n == 1
}

/// Runs the same diesel DSL on the concrete connection, for what
/// `MultiConnection` cannot express (`ON CONFLICT`, batch inserts).
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            AnyConnection::Sqlite($c) => $body,
            AnyConnection::Postgres($c) => $body,
        }
    };
}

#[async_trait]
impl FactorStore for DieselFactorStore {
    async fn totp(&self, user: UserId) -> Result<Option<TotpRecord>, PortError> {
        const CONTEXT: &str = "read totp authenticator";
        let row: Option<TotpRow> = self
            .db
            .query(CONTEXT, move |conn| {
                totp::table
                    .find(user.get())
                    .select((
                        totp::secret,
                        totp::confirmed_at,
                        totp::last_step,
                        totp::created_at,
                    ))
                    .get_result(conn)
                    .optional()
            })
            .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(TotpRecord {
            secret: self.vault.open_secret(user, &r.secret).map_err(port(CONTEXT))?,
            confirmed_at: r.confirmed_at.map(from_db_time),
            last_step: r.last_step,
            created_at: from_db_time(r.created_at),
        }))
    }

    async fn begin_totp(&self, user: UserId, secret: &[u8], now: DateTime<Utc>) -> Result<bool, PortError> {
        const CONTEXT: &str = "begin totp enrolment";
        let stored = self.vault.seal_secret(user, secret).map_err(port(CONTEXT))?;
        let now = to_db_time(now);
        let n = self
            .db
            .query(CONTEXT, move |conn| {
                // One upsert: a pending authenticator is replaced, a
                // confirmed one is left alone (no row changed).
                on_backend!(conn, |c| {
                    let upsert = diesel::insert_into(totp::table)
                        .values((
                            totp::user_id.eq(user.get()),
                            totp::secret.eq(&stored),
                            totp::confirmed_at.eq(None::<NaiveDateTime>),
                            totp::last_step.eq(None::<i64>),
                            totp::created_at.eq(now),
                        ))
                        .on_conflict(totp::user_id)
                        .do_update()
                        .set((
                            totp::secret.eq(&stored),
                            totp::last_step.eq(None::<i64>),
                            totp::created_at.eq(now),
                        ));
                    // `ON CONFLICT … DO UPDATE … WHERE`: its own `filter`.
                    diesel::query_dsl::methods::FilterDsl::filter(upsert, totp::confirmed_at.is_null())
                        .execute(c)
                })
            })
            .await?;
        Ok(one(n))
    }

    async fn confirm_totp(
        &self,
        user: UserId,
        secret: &[u8],
        step: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        const CONTEXT: &str = "confirm totp authenticator";
        let row: Option<(String, Option<NaiveDateTime>)> = self
            .db
            .query(CONTEXT, move |conn| {
                totp::table
                    .find(user.get())
                    .select((totp::secret, totp::confirmed_at))
                    .get_result(conn)
                    .optional()
            })
            .await?;
        let Some((stored, None)) = row else {
            return Ok(false);
        };
        let current = self.vault.open_secret(user, &stored).map_err(port(CONTEXT))?;
        if !bool::from(current.ct_eq(secret)) {
            return Ok(false);
        }
        let now = to_db_time(now);
        // Compare-and-set on the stored text: a new enrolment meanwhile
        // (another secret, or the same one sealed under another nonce)
        // makes this change nothing.
        let n = self
            .db
            .query(CONTEXT, move |conn| {
                diesel::update(
                    totp::table
                        .find(user.get())
                        .filter(totp::confirmed_at.is_null())
                        .filter(totp::secret.eq(stored)),
                )
                .set((totp::confirmed_at.eq(Some(now)), totp::last_step.eq(Some(step))))
                .execute(conn)
            })
            .await?;
        Ok(one(n))
    }

    async fn spend_totp_step(&self, user: UserId, step: i64) -> Result<bool, PortError> {
        let n = self
            .db
            .query("spend totp step", move |conn| {
                diesel::update(
                    totp::table
                        .find(user.get())
                        .filter(totp::confirmed_at.is_not_null())
                        .filter(totp::last_step.is_null().or(totp::last_step.lt(step))),
                )
                .set(totp::last_step.eq(Some(step)))
                .execute(conn)
            })
            .await?;
        Ok(one(n))
    }

    async fn delete_totp(&self, user: UserId) -> Result<bool, PortError> {
        let n = self
            .db
            .query("delete totp authenticator", move |conn| {
                diesel::delete(totp::table.find(user.get())).execute(conn)
            })
            .await?;
        Ok(n > 0)
    }

    async fn replace_recovery_codes(
        &self,
        user: UserId,
        hashes: &[SecretHash],
        now: DateTime<Utc>,
    ) -> Result<(), PortError> {
        let mut hashes: Vec<String> = hashes.iter().map(hash_text).collect();
        hashes.sort();
        hashes.dedup();
        let now = to_db_time(now);
        self.db
            .query("replace recovery codes", move |conn| {
                // The delete first: a write takes SQLite's lock up front.
                conn.transaction(|conn| {
                    diesel::delete(rc::table.filter(rc::user_id.eq(user.get()))).execute(conn)?;
                    if hashes.is_empty() {
                        return Ok(());
                    }
                    let rows: Vec<_> = hashes
                        .iter()
                        .map(|h| {
                            (
                                rc::user_id.eq(user.get()),
                                rc::code_hash.eq(h.as_str()),
                                rc::created_at.eq(now),
                            )
                        })
                        .collect();
                    on_backend!(conn, |c| diesel::insert_into(rc::table).values(&rows).execute(c))?;
                    Ok(())
                })
            })
            .await
    }

    async fn spend_recovery_code(
        &self,
        user: UserId,
        hash: &SecretHash,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let hash = hash_text(hash);
        let now = to_db_time(now);
        let n = self
            .db
            .query("spend recovery code", move |conn| {
                diesel::update(rc::table.find((user.get(), hash)).filter(rc::used_at.is_null()))
                    .set(rc::used_at.eq(Some(now)))
                    .execute(conn)
            })
            .await?;
        Ok(one(n))
    }

    async fn recovery_codes_left(&self, user: UserId) -> Result<u32, PortError> {
        let n: i64 = self
            .db
            .query("count recovery codes", move |conn| {
                rc::table
                    .filter(rc::user_id.eq(user.get()))
                    .filter(rc::used_at.is_null())
                    .count()
                    .get_result(conn)
            })
            .await?;
        Ok(u32::try_from(n.max(0)).unwrap_or(u32::MAX))
    }

    async fn passkeys(&self, user: UserId) -> Result<Vec<StoredPasskey>, PortError> {
        const CONTEXT: &str = "list passkeys";
        let rows: Vec<PasskeyRow> = self
            .db
            .query(CONTEXT, move |conn| {
                mp::table
                    .filter(mp::user_id.eq(user.get()))
                    .order((mp::created_at.asc(), mp::id.asc()))
                    .load(conn)
            })
            .await?;
        rows.into_iter()
            .map(|r| self.vault.passkey_of_row(r))
            .collect::<Result<_, _>>()
            .map_err(port(CONTEXT))
    }

    async fn passkey_by_credential(&self, credential_id: &[u8]) -> Result<Option<StoredPasskey>, PortError> {
        const CONTEXT: &str = "find passkey";
        let credential = hex::encode(credential_id);
        let row: Option<PasskeyRow> = self
            .db
            .query(CONTEXT, move |conn| {
                mp::table
                    .filter(mp::credential_id.eq(credential))
                    .get_result(conn)
                    .optional()
            })
            .await?;
        row.map(|r| self.vault.passkey_of_row(r))
            .transpose()
            .map_err(port(CONTEXT))
    }

    async fn add_passkey(&self, p: &StoredPasskey) -> Result<bool, PortError> {
        const CONTEXT: &str = "add passkey";
        let data = self.vault.seal_data(p.id, &p.data).map_err(port(CONTEXT))?;
        let row = (
            mp::id.eq(p.id.to_string()),
            mp::user_id.eq(p.user_id.get()),
            mp::credential_id.eq(hex::encode(&p.credential_id)),
            mp::name.eq(p.name.clone()),
            mp::data.eq(data),
            mp::backup_eligible.eq(p.backup_eligible),
            mp::created_at.eq(to_db_time(p.created_at)),
            mp::last_used_at.eq(p.last_used_at.map(to_db_time)),
        );
        self.db
            .query(CONTEXT, move |conn| {
                // The unique credential id decides between racing adds.
                match diesel::insert_into(mp::table).values(row).execute(conn) {
                    Ok(_) => Ok(true),
                    Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
                    Err(e) => Err(e),
                }
            })
            .await
    }

    async fn record_passkey_use(&self, id: Uuid, data: &str, now: DateTime<Utc>) -> Result<bool, PortError> {
        const CONTEXT: &str = "record passkey use";
        let data = self.vault.seal_data(id, data).map_err(port(CONTEXT))?;
        let now = to_db_time(now);
        let n = self
            .db
            .query(CONTEXT, move |conn| {
                diesel::update(mp::table.find(id.to_string()))
                    .set((mp::data.eq(data), mp::last_used_at.eq(Some(now))))
                    .execute(conn)
            })
            .await?;
        Ok(one(n))
    }

    async fn delete_passkey(&self, user: UserId, id: Uuid) -> Result<bool, PortError> {
        let n = self
            .db
            .query("delete passkey", move |conn| {
                diesel::delete(mp::table.find(id.to_string()).filter(mp::user_id.eq(user.get())))
                    .execute(conn)
            })
            .await?;
        Ok(one(n))
    }

    async fn delete_all(&self, user: UserId) -> Result<bool, PortError> {
        let u = user.get();
        let n = self
            .db
            .query("delete all second factors", move |conn| {
                conn.transaction(|conn| {
                    Ok(diesel::delete(totp::table.find(u)).execute(conn)?
                        + diesel::delete(rc::table.filter(rc::user_id.eq(u))).execute(conn)?
                        + diesel::delete(mp::table.filter(mp::user_id.eq(u))).execute(conn)?
                        + diesel::delete(pend::table.filter(pend::user_id.eq(u))).execute(conn)?
                        + diesel::delete(mc::table.filter(mc::user_id.eq(u))).execute(conn)?)
                })
            })
            .await?;
        Ok(n > 0)
    }

    async fn create_pending(&self, pending: &PendingSecondFactor) -> Result<(), PortError> {
        let row = PendingRow::from_domain(pending);
        self.db
            .query("store pending second step", move |conn| {
                diesel::insert_into(pend::table)
                    .values(&row)
                    .execute(conn)
                    .map(|_| ())
            })
            .await
    }

    async fn reserve_attempt(
        &self,
        hash: &SecretHash,
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingSecondFactor>, PortError> {
        const CONTEXT: &str = "reserve second-step attempt";
        let hash = hash_text(hash);
        let now = to_db_time(now);
        let row: Option<PendingRow> = self
            .db
            .query(CONTEXT, move |conn| {
                diesel::update(
                    pend::table
                        .find(hash)
                        .filter(pend::expires_at.gt(now))
                        .filter(pend::attempts.lt(i64::from(max_attempts))),
                )
                .set(pend::attempts.eq(pend::attempts + 1_i64))
                .returning(pend::all_columns)
                .get_result(conn)
                .optional()
            })
            .await?;
        row.map(PendingRow::into_domain)
            .transpose()
            .map_err(port(CONTEXT))
    }

    async fn pending(
        &self,
        hash: &SecretHash,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingSecondFactor>, PortError> {
        const CONTEXT: &str = "read pending second step";
        let hash = hash_text(hash);
        let now = to_db_time(now);
        let row: Option<PendingRow> = self
            .db
            .query(CONTEXT, move |conn| {
                pend::table
                    .find(hash)
                    .filter(pend::expires_at.gt(now))
                    .get_result(conn)
                    .optional()
            })
            .await?;
        row.map(PendingRow::into_domain)
            .transpose()
            .map_err(port(CONTEXT))
    }

    async fn set_passkey_state(&self, hash: &SecretHash, state: &str) -> Result<bool, PortError> {
        let (hash, state) = (hash_text(hash), state.to_owned());
        let n = self
            .db
            .query("store passkey challenge state", move |conn| {
                diesel::update(pend::table.find(hash))
                    .set(pend::passkey_state.eq(Some(state)))
                    .execute(conn)
            })
            .await?;
        Ok(one(n))
    }

    async fn spend_pending(&self, hash: &SecretHash) -> Result<bool, PortError> {
        let hash = hash_text(hash);
        let n = self
            .db
            .query("spend pending second step", move |conn| {
                diesel::delete(pend::table.find(hash)).execute(conn)
            })
            .await?;
        Ok(one(n))
    }

    async fn put_ceremony(&self, ceremony: &PendingCeremony) -> Result<(), PortError> {
        let row = CeremonyRow {
            id_hash: hash_text(&ceremony.id_hash),
            user_id: ceremony.user_id.map(UserId::get),
            state: ceremony.state.clone(),
            expires_at: to_db_time(ceremony.expires_at),
        };
        self.db
            .query("store webauthn ceremony", move |conn| {
                diesel::insert_into(mc::table)
                    .values(&row)
                    .execute(conn)
                    .map(|_| ())
            })
            .await
    }

    async fn take_ceremony(
        &self,
        id_hash: &SecretHash,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingCeremony>, PortError> {
        const CONTEXT: &str = "take webauthn ceremony";
        let hash = hash_text(id_hash);
        let now = to_db_time(now);
        let row: Option<CeremonyRow> = self
            .db
            .query(CONTEXT, move |conn| {
                diesel::delete(mc::table.find(hash).filter(mc::expires_at.gt(now)))
                    .returning(mc::all_columns)
                    .get_result(conn)
                    .optional()
            })
            .await?;
        row.map(CeremonyRow::into_domain)
            .transpose()
            .map_err(port(CONTEXT))
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, PortError> {
        let now = to_db_time(now);
        let n = self
            .db
            .query("purge expired second steps", move |conn| {
                Ok(
                    diesel::delete(pend::table.filter(pend::expires_at.le(now))).execute(conn)?
                        + diesel::delete(mc::table.filter(mc::expires_at.le(now))).execute(conn)?,
                )
            })
            .await?;
        Ok(n as u64)
    }
}
