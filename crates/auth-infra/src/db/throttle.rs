//! [`LoginThrottle`] over diesel, in `login_throttle`.
//!
//! An attempt is reserved in two steps: an insert of a neutral row (no
//! failures yet) for each key, outside any transaction, whose unique
//! violation just means the row exists; then one transaction that first
//! writes every row (a no-op update, in key order: the SQLite write lock, or
//! the PostgreSQL row locks), reads them, refuses if one is locked, and else
//! applies the domain's rule to each and stores the results. Concurrent
//! reservations on one key are therefore serialised and each sees the ones
//! before it, across instances: a burst cannot outrun the lock.

use async_trait::async_trait;
use auth_domain::PortError;
use auth_domain::identity::throttle::{Reservation, ThrottleRule, ThrottleState};
use auth_domain::ports::LoginThrottle;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::schema::login_throttle as lt;
use crate::db::{AnyConnection, Database, from_db_time, to_db_time};

/// Stores failed-login counters in `login_throttle`.
#[derive(Debug, Clone)]
pub struct DieselLoginThrottle {
    db: Database,
}

impl DieselLoginThrottle {
    /// A store over `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[derive(Queryable, Insertable)]
#[diesel(table_name = lt)]
struct ThrottleRow {
    throttle_key: String,
    failures: i64,
    window_start: NaiveDateTime,
    lockouts: i64,
    locked_until: Option<NaiveDateTime>,
}

impl ThrottleRow {
    fn from_domain(key: String, s: &ThrottleState) -> Self {
        Self {
            throttle_key: key,
            failures: i64::from(s.failures),
            window_start: to_db_time(s.window_start),
            lockouts: i64::from(s.lockouts),
            locked_until: s.locked_until.map(to_db_time),
        }
    }

    fn into_domain(self) -> ThrottleState {
        ThrottleState {
            failures: u32::try_from(self.failures.max(0)).unwrap_or(u32::MAX),
            window_start: from_db_time(self.window_start),
            lockouts: u32::try_from(self.lockouts.max(0)).unwrap_or(u32::MAX),
            locked_until: self.locked_until.map(from_db_time),
        }
    }
}

/// Makes sure `key` has a row, so that the transaction that follows can
/// lock it with a write. Outside any transaction: a unique violation (the
/// row exists, or a concurrent caller just made it) would abort a
/// PostgreSQL transaction, and here it just means the row is there.
fn ensure_row(conn: &mut AnyConnection, key: &str, now: NaiveDateTime) -> QueryResult<()> {
    let neutral = ThrottleRow {
        throttle_key: key.to_owned(),
        failures: 0,
        window_start: now,
        lockouts: 0,
        locked_until: None,
    };
    match diesel::insert_into(lt::table).values(&neutral).execute(conn) {
        Ok(_) | Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Takes the row's write lock (the SQLite write lock, or the PostgreSQL row
/// lock) with a no-op update and reads the state under it.
fn lock_row(conn: &mut AnyConnection, key: &str) -> QueryResult<Option<ThrottleState>> {
    diesel::update(lt::table.find(key))
        .set(lt::failures.eq(lt::failures))
        .execute(conn)?;
    Ok(lt::table
        .find(key)
        .get_result::<ThrottleRow>(conn)
        .optional()?
        .map(ThrottleRow::into_domain))
}

/// Stores `state` as `key`'s row (inserting it if a reset removed it).
fn store_row(conn: &mut AnyConnection, key: &str, state: &ThrottleState, existed: bool) -> QueryResult<()> {
    let row = ThrottleRow::from_domain(key.to_owned(), state);
    if existed {
        diesel::update(lt::table.find(key))
            .set((
                lt::failures.eq(row.failures),
                lt::window_start.eq(row.window_start),
                lt::lockouts.eq(row.lockouts),
                lt::locked_until.eq(row.locked_until),
            ))
            .execute(conn)?;
    } else {
        diesel::insert_into(lt::table).values(&row).execute(conn)?;
    }
    Ok(())
}

#[async_trait]
impl LoginThrottle for DieselLoginThrottle {
    async fn reserve(
        &self,
        keys: &[(String, ThrottleRule)],
        now: DateTime<Utc>,
    ) -> Result<Reservation, PortError> {
        let mut keys = keys.to_vec();
        let order: Vec<String> = keys.iter().map(|(k, _)| k.clone()).collect();
        // One lock order for every caller, so two reservations that share
        // keys cannot deadlock.
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        let now_db = to_db_time(now);
        let decided = self
            .db
            .query("reserve a login attempt", move |conn| {
                for (key, _) in &keys {
                    ensure_row(conn, key, now_db)?;
                }
                conn.transaction(|conn| {
                    let mut stored = Vec::with_capacity(keys.len());
                    for (key, _) in &keys {
                        stored.push(lock_row(conn, key)?);
                    }
                    let lock = stored
                        .iter()
                        .flatten()
                        .filter_map(|s| s.locked_until)
                        .filter(|t| *t > now)
                        .max();
                    if let Some(until) = lock {
                        return Ok(Err(until));
                    }
                    let mut granted = Vec::with_capacity(keys.len());
                    for ((key, rule), state) in keys.iter().zip(stored) {
                        let next = rule.after_failure(state, now);
                        store_row(conn, key, &next, state.is_some())?;
                        granted.push((key.clone(), next));
                    }

                    Ok(Ok(granted))
                })
            })
            .await?;
        if let Ok(granted) = &decided {
            // No lock stood (the reservation was granted): a lock in the
            // new state is imposed by this attempt.
            for (key, state) in granted {
                if state.locked_until.is_some_and(|t| t > now) {
                    let scope = if key.starts_with("ip:") { "ip" } else { "account" };
                    metrics::counter!("auth_throttle_locks_total", "scope" => scope).increment(1);
                    // The key names an account or an IP bucket by a hash,
                    // never the login id or the address itself.
                    tracing::warn!(scope, until = %state.locked_until.unwrap_or(now), "login lock imposed after repeated failures");
                }
            }
        }
        Ok(match decided {
            Err(until) => Reservation::Refused(until),
            Ok(granted) => Reservation::Granted(
                order
                    .iter()
                    .filter_map(|k| granted.iter().find(|(g, _)| g == k).map(|(_, s)| *s))
                    .collect(),
            ),
        })
    }

    async fn release(
        &self,
        key: &str,
        rule: &ThrottleRule,
        reserved: &ThrottleState,
    ) -> Result<(), PortError> {
        let (key, rule, reserved) = (key.to_owned(), *rule, *reserved);
        self.db
            .query("release a login attempt", move |conn| {
                conn.transaction(|conn| {
                    if let Some(state) = lock_row(conn, &key)? {
                        store_row(conn, &key, &rule.after_release(state, &reserved), true)?;
                    }
                    Ok(())
                })
            })
            .await
    }

    async fn reset(&self, key: &str) -> Result<(), PortError> {
        let key = key.to_owned();
        self.db
            .query("reset login throttle", move |conn| {
                diesel::delete(lt::table.find(key)).execute(conn).map(|_| ())
            })
            .await
    }
}
