//! [`LoginThrottle`] over diesel, in `login_throttle`.
//!
//! A failure is counted in two steps: an insert of a neutral row (no
//! failures yet) outside any transaction, whose unique violation just means
//! the row exists; then a transaction that first writes the row (a no-op
//! update: the SQLite write lock, or the PostgreSQL row lock), reads it,
//! applies the domain's rule and stores the result. Concurrent failures on
//! one key are therefore serialised and all counted, across instances.

use async_trait::async_trait;
use auth_domain::PortError;
use auth_domain::ports::LoginThrottle;
use auth_domain::throttle::{ThrottleRule, ThrottleState};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::schema::login_throttle as lt;
use crate::db::{Database, from_db_time, to_db_time};

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

#[async_trait]
impl LoginThrottle for DieselLoginThrottle {
    async fn locked_until(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, PortError> {
        let keys = keys.to_vec();
        let now_db = to_db_time(now);
        let locks: Vec<Option<NaiveDateTime>> = self
            .db
            .query("read login throttle", move |conn| {
                lt::table
                    .filter(lt::throttle_key.eq_any(keys))
                    .filter(lt::locked_until.gt(now_db))
                    .select(lt::locked_until)
                    .load(conn)
            })
            .await?;
        Ok(locks.into_iter().flatten().map(from_db_time).max())
    }

    async fn record_failure(
        &self,
        key: &str,
        rule: &ThrottleRule,
        now: DateTime<Utc>,
    ) -> Result<ThrottleState, PortError> {
        let key = key.to_owned();
        let rule = *rule;
        self.db
            .query("count a failed login", move |conn| {
                let neutral = ThrottleRow {
                    throttle_key: key.clone(),
                    failures: 0,
                    window_start: to_db_time(now),
                    lockouts: 0,
                    locked_until: None,
                };
                match diesel::insert_into(lt::table).values(&neutral).execute(conn) {
                    Ok(_) | Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {}
                    Err(e) => return Err(e),
                }
                conn.transaction(|conn| {
                    diesel::update(lt::table.find(&key))
                        .set(lt::failures.eq(lt::failures))
                        .execute(conn)?;
                    let stored = lt::table
                        .find(&key)
                        .first::<ThrottleRow>(conn)
                        .optional()?
                        .map(ThrottleRow::into_domain);
                    let next = rule.after_failure(stored, now);
                    let row = ThrottleRow::from_domain(key.clone(), &next);
                    if stored.is_some() {
                        diesel::update(lt::table.find(&key))
                            .set((
                                lt::failures.eq(row.failures),
                                lt::window_start.eq(row.window_start),
                                lt::lockouts.eq(row.lockouts),
                                lt::locked_until.eq(row.locked_until),
                            ))
                            .execute(conn)?;
                    } else {
                        // Reset between the two steps: store the state anew.
                        diesel::insert_into(lt::table).values(&row).execute(conn)?;
                    }
                    Ok(next)
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
