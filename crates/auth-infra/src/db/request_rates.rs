//! [`RequestRates`] over diesel, in `request_rates`: the per-IP request
//! budgets of the public endpoints, shared by every instance.
//!
//! A bucket's row holds its GCRA theoretical arrival time (TAT) in
//! microseconds since the Unix epoch, so both backends do the arithmetic on
//! integers. The rule is [`auth_domain::identity::throttle::RequestRate`]'s.
//!
//! On PostgreSQL each request is **one statement**: an upsert whose
//! conflict branch updates the row only when the request is allowed
//! (`ON CONFLICT (bucket) DO UPDATE … WHERE tat <= now + tolerance`). The
//! conflict takes the row lock and evaluates the condition on the latest
//! committed version, so concurrent requests from any number of instances
//! are serialised on the row and each sees the ones before it: a burst
//! cannot outrun the budget. The statement is a CTE whose outer query
//! tells whether the upsert wrote (allowed) and reads the stored TAT for
//! the wait. That read sees the statement's snapshot, which under
//! concurrency may predate the TAT the refusal was decided on (or the row
//! itself): the wait is then an underestimate, or unknown and taken as one
//! interval, its upper bound (see [`RequestRates::hit`]).
//!
//! On SQLite (one instance, which keeps its limits in memory; the adapter
//! still works there): the same upsert with `RETURNING`, then, when it was
//! refused, a read of the TAT, in one transaction under the database's
//! single write lock.

use async_trait::async_trait;
use auth_domain::identity::throttle::{HitError, RequestRate};
use auth_domain::ports::RequestRates;
use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};

use crate::db::{AnyConnection, Database};

/// Stores per-client request budgets in `request_rates`.
#[derive(Debug, Clone)]
pub struct DieselRequestRates {
    db: Database,
}

impl DieselRequestRates {
    /// A store over `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

/// The upsert and the wait, in one statement (PostgreSQL). `$1` bucket,
/// `$2` now, `$3` interval, `$4` tolerance, all times in microseconds.
const PG_HIT: &str = "WITH hit AS ( \
        INSERT INTO request_rates AS r (bucket, tat_micros) VALUES ($1, $2 + $3) \
        ON CONFLICT (bucket) DO UPDATE SET tat_micros = GREATEST(r.tat_micros, $2) + $3 \
        WHERE r.tat_micros <= $2 + $4 \
        RETURNING r.tat_micros \
    ) \
    SELECT EXISTS (SELECT 1 FROM hit) AS allowed, \
        (SELECT s.tat_micros FROM request_rates s WHERE s.bucket = $1) - $4 - $2 AS wait_micros";

/// The upsert (SQLite): a row back means the request was allowed.
const SQLITE_HIT: &str = "INSERT INTO request_rates (bucket, tat_micros) VALUES (?1, ?2 + ?3) \
    ON CONFLICT (bucket) DO UPDATE SET tat_micros = MAX(tat_micros, ?2) + ?3 \
    WHERE tat_micros <= ?2 + ?4 \
    RETURNING tat_micros";

#[derive(QueryableByName)]
struct Decided {
    #[diesel(sql_type = Bool)]
    allowed: bool,
    #[diesel(sql_type = Nullable<BigInt>)]
    wait_micros: Option<i64>,
}

#[derive(QueryableByName)]
struct Tat {
    #[diesel(sql_type = BigInt)]
    tat_micros: i64,
}

/// Runs the hit on whichever backend `conn` is: `Ok(None)` when allowed,
/// `Ok(Some(wait))` (microseconds, maybe unknown or stale) when refused.
fn hit_row(
    conn: &mut AnyConnection,
    bucket: &str,
    now: i64,
    interval: i64,
    tolerance: i64,
) -> QueryResult<Option<Option<i64>>> {
    match conn {
        AnyConnection::Postgres(c) => {
            let decided = diesel::sql_query(PG_HIT)
                .bind::<Text, _>(bucket)
                .bind::<BigInt, _>(now)
                .bind::<BigInt, _>(interval)
                .bind::<BigInt, _>(tolerance)
                .get_result::<Decided>(c)?;
            Ok((!decided.allowed).then_some(decided.wait_micros))
        }
        AnyConnection::Sqlite(c) => c.transaction(|c| {
            let allowed = diesel::sql_query(SQLITE_HIT)
                .bind::<Text, _>(bucket)
                .bind::<BigInt, _>(now)
                .bind::<BigInt, _>(interval)
                .bind::<BigInt, _>(tolerance)
                .get_result::<Tat>(c)
                .optional()?
                .is_some();
            if allowed {
                return Ok(None);
            }
            let stored = diesel::sql_query("SELECT tat_micros FROM request_rates WHERE bucket = ?1")
                .bind::<Text, _>(bucket)
                .get_result::<Tat>(c)
                .optional()?;
            Ok(Some(stored.map(|t| t.tat_micros - tolerance - now)))
        }),
    }
}

#[async_trait]
impl RequestRates for DieselRequestRates {
    async fn hit(&self, bucket: &str, rate: RequestRate, now: DateTime<Utc>) -> Result<(), HitError> {
        let interval = rate.interval();
        let (bucket, now_micros) = (bucket.to_owned(), now.timestamp_micros());
        let (interval_micros, tolerance_micros) = (
            interval.num_microseconds().unwrap_or(i64::MAX),
            rate.tolerance().num_microseconds().unwrap_or(i64::MAX),
        );
        let refused = self
            .db
            .query("count a request against its rate limit", move |conn| {
                hit_row(conn, &bucket, now_micros, interval_micros, tolerance_micros)
            })
            .await
            .map_err(HitError::Internal)?;
        match refused {
            None => Ok(()),
            // A wait outside (0, interval] comes from a stale snapshot (or
            // no visible row), or from instances whose clocks disagree:
            // one interval is the bound the port promises.
            Some(wait) => Err(HitError::Over(
                wait.filter(|w| (1..=interval_micros).contains(w))
                    .map_or(interval, TimeDelta::microseconds),
            )),
        }
    }
}

/// Deletes the spent budgets (a TAT at or before `now`), for the purge.
pub(crate) fn purge_spent(conn: &mut AnyConnection, now: DateTime<Utc>) -> QueryResult<usize> {
    use crate::db::schema::request_rates as rr;
    diesel::delete(rr::table.filter(rr::tat_micros.le(now.timestamp_micros()))).execute(conn)
}
