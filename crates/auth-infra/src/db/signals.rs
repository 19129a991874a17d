//! The outbox of session-ended signals (`session_signals`): written by
//! [`record_ends`] in the transaction that ends sessions, read and updated
//! by [`DieselSignalOutbox`] for the deliveries and the feed.
//!
//! Claims on PostgreSQL take rows with `FOR UPDATE SKIP LOCKED` and lease
//! them (`next_attempt_at` moved past the delivery) before committing, so
//! instances share the work without waiting on each other and a killed
//! instance's rows come back when the lease ends. SQLite has one writer:
//! the claim's first statement is a write, which takes the lock.

use async_trait::async_trait;
use auth_domain::PortError;
use auth_domain::oidc::client::IdTokenAlg;
use auth_domain::oidc::signals::{Backlog, Due, Signal, SignalOutbox, Target};
use auth_domain::sessions::session::{RevokeReason, SessionId};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{oauth_clients, oauth_grants, session_signals, sessions, users};
use crate::db::{AnyConnection, Database, from_db_time, to_db_time};

/// Rows inserted per statement (well under SQLite's bound-variable limit).
const CHUNK: usize = 500;

#[derive(Insertable)]
#[diesel(table_name = session_signals)]
struct NewSignal {
    jti: String,
    client_id: String,
    session_id: String,
    subject: String,
    reason: &'static str,
    ended_at: NaiveDateTime,
    push: bool,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
}

/// Writes the signals of sessions that just ended (`ended`, the ids the
/// revoking `UPDATE` returned), inside the caller's transaction: one row
/// per (session, client that hears of it): the client of the session's
/// grant and every client registered with `all_sessions`, when it has a
/// back-channel logout URI (a push) or a secret (it can poll).
///
/// # Errors
/// The database's.
pub(crate) fn record_ends(
    conn: &mut AnyConnection,
    ended: &[String],
    reason: RevokeReason,
    now: NaiveDateTime,
) -> QueryResult<()> {
    if ended.is_empty() {
        return Ok(());
    }
    let grants: Vec<(String, String)> = oauth_grants::table
        .filter(oauth_grants::session_id.eq_any(ended))
        .select((oauth_grants::session_id, oauth_grants::client_id))
        .load(conn)?;
    let grant_clients: Vec<&str> = grants.iter().map(|g| g.1.as_str()).collect();
    let clients: Vec<(String, Option<String>, Option<String>, bool)> = oauth_clients::table
        .filter(
            oauth_clients::all_sessions
                .eq(true)
                .or(oauth_clients::client_id.eq_any(grant_clients)),
        )
        .select((
            oauth_clients::client_id,
            oauth_clients::backchannel_logout_uri,
            oauth_clients::secret_hash,
            oauth_clients::all_sessions,
        ))
        .load(conn)?;
    let clients: Vec<_> = clients
        .into_iter()
        .filter(|(_, uri, secret, _)| uri.is_some() || secret.is_some())
        .collect();
    if clients.is_empty() {
        return Ok(());
    }
    let owners: Vec<(String, String)> = sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq_any(ended))
        .select((sessions::id, users::uuid))
        .load(conn)?;
    let mut rows = Vec::new();
    for (sid, subject) in &owners {
        for (client_id, uri, _, all) in &clients {
            if *all || grants.iter().any(|(s, c)| s == sid && c == client_id) {
                rows.push(NewSignal {
                    jti: Uuid::new_v4().to_string(),
                    client_id: client_id.clone(),
                    session_id: sid.clone(),
                    subject: subject.clone(),
                    reason: reason.as_str(),
                    ended_at: now,
                    push: uri.is_some(),
                    attempts: 0,
                    next_attempt_at: now,
                });
            }
        }
    }
    // A multi-row insert is backend-specific in diesel (SQLite has no
    // `DEFAULT` keyword), hence the match.
    for chunk in rows.chunks(CHUNK) {
        match conn {
            AnyConnection::Postgres(pg) => diesel::insert_into(session_signals::table)
                .values(chunk)
                .execute(pg)?,
            AnyConnection::Sqlite(sqlite) => diesel::insert_into(session_signals::table)
                .values(chunk)
                .execute(sqlite)?,
        };
    }
    Ok(())
}

/// [`SignalOutbox`] over diesel.
#[derive(Debug, Clone)]
pub struct DieselSignalOutbox {
    db: Database,
}

impl DieselSignalOutbox {
    /// The outbox in `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

type SignalRow = (i64, String, String, String, String, String, NaiveDateTime, i32);

fn signal_of_row(r: SignalRow) -> Option<Signal> {
    let (Ok(session), Ok(subject), Some(reason)) = (
        Uuid::parse_str(&r.3),
        Uuid::parse_str(&r.4),
        RevokeReason::parse(&r.5),
    ) else {
        tracing::error!(row = r.0, "stored session signal is unreadable; skipped");
        return None;
    };
    Some(Signal {
        id: r.0,
        jti: r.1,
        client_id: r.2,
        session: SessionId::from_uuid(session),
        subject,
        reason,
        ended_at: from_db_time(r.6),
        attempts: u32::try_from(r.7).unwrap_or(0),
    })
}

macro_rules! signal_columns {
    () => {
        (
            session_signals::id,
            session_signals::jti,
            session_signals::client_id,
            session_signals::session_id,
            session_signals::subject,
            session_signals::reason,
            session_signals::ended_at,
            session_signals::attempts,
        )
    };
}

/// The due pushes, oldest first, as a query of their ids.
macro_rules! due {
    ($now:expr, $limit:expr) => {
        session_signals::table
            .filter(session_signals::push.eq(true))
            .filter(session_signals::delivered_at.is_null())
            .filter(session_signals::gave_up_at.is_null())
            .filter(session_signals::next_attempt_at.le($now))
            .order((session_signals::next_attempt_at.asc(), session_signals::id.asc()))
            .limit($limit)
            .select(session_signals::id)
    };
}

/// The due pushes' ids, oldest first; locked and skipped-if-locked on
/// PostgreSQL (inside the claim's transaction).
fn due_ids(conn: &mut AnyConnection, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<i64>> {
    match conn {
        AnyConnection::Postgres(pg) => due!(now, limit).for_update().skip_locked().load(pg),
        AnyConnection::Sqlite(sqlite) => due!(now, limit).load(sqlite),
    }
}

#[async_trait]
impl SignalOutbox for DieselSignalOutbox {
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<Due>, PortError> {
        let (now, lease_until) = (to_db_time(now), to_db_time(lease_until));
        let (rows, clients) = self
            .db
            .query("claim session signals", move |conn| {
                // Most calls find nothing due: a plain read answers them
                // without a write transaction (SQLite's lock each second)
                // or row locks (PostgreSQL writes a locked row's tuple).
                let any: Vec<i64> = due!(now, 1).load(conn)?;
                if any.is_empty() {
                    return Ok((Vec::new(), Vec::new()));
                }
                conn.transaction(|conn| {
                    if matches!(conn, AnyConnection::Sqlite(_)) {
                        // Take SQLite's write lock first (see the module).
                        diesel::sql_query("UPDATE session_signals SET id = id WHERE 0").execute(conn)?;
                    }
                    let ids = due_ids(conn, now, i64::from(limit))?;
                    if ids.is_empty() {
                        return Ok((Vec::new(), Vec::new()));
                    }
                    diesel::update(session_signals::table.filter(session_signals::id.eq_any(&ids)))
                        .set((
                            session_signals::next_attempt_at.eq(lease_until),
                            session_signals::attempts.eq(session_signals::attempts + 1),
                        ))
                        .execute(conn)?;
                    let rows: Vec<SignalRow> = session_signals::table
                        .filter(session_signals::id.eq_any(&ids))
                        .order(session_signals::id.asc())
                        .select(signal_columns!())
                        .load(conn)?;
                    let names: Vec<&str> = rows.iter().map(|r| r.2.as_str()).collect();
                    let clients: Vec<(String, Option<String>, String)> = oauth_clients::table
                        .filter(oauth_clients::client_id.eq_any(names))
                        .select((
                            oauth_clients::client_id,
                            oauth_clients::backchannel_logout_uri,
                            oauth_clients::id_token_alg,
                        ))
                        .load(conn)?;
                    Ok((rows, clients))
                })
            })
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let client = r.2.clone();
                let signal = signal_of_row(r)?;
                let target = clients
                    .iter()
                    .find(|c| c.0 == client)
                    .and_then(|(_, uri, alg)| Some((uri.clone()?, IdTokenAlg::parse(alg)?)))
                    .map(|(uri, alg)| Target { uri, alg });
                Some(Due { signal, target })
            })
            .collect())
    }

    async fn delivered(&self, ids: &[i64], now: DateTime<Utc>) -> Result<(), PortError> {
        let (ids, now) = (ids.to_vec(), to_db_time(now));
        self.db
            .query("record session signals delivered", move |conn| {
                for chunk in ids.chunks(CHUNK) {
                    diesel::update(session_signals::table.filter(session_signals::id.eq_any(chunk)))
                        .set((
                            session_signals::delivered_at.eq(Some(now)),
                            session_signals::last_error.eq(None::<String>),
                        ))
                        .execute(conn)?;
                }
                Ok(())
            })
            .await
    }

    async fn retry_at(&self, id: i64, at: DateTime<Utc>, error: &str) -> Result<(), PortError> {
        let (at, error) = (to_db_time(at), truncate(error));
        self.db
            .query("schedule a session signal again", move |conn| {
                diesel::update(session_signals::table.find(id))
                    .set((
                        session_signals::next_attempt_at.eq(at),
                        session_signals::last_error.eq(Some(error)),
                    ))
                    .execute(conn)
                    .map(|_| ())
            })
            .await
    }

    async fn give_up(&self, id: i64, now: DateTime<Utc>, error: &str) -> Result<(), PortError> {
        let (now, error) = (to_db_time(now), truncate(error));
        self.db
            .query("give a session signal up", move |conn| {
                diesel::update(session_signals::table.find(id))
                    .set((
                        session_signals::gave_up_at.eq(Some(now)),
                        session_signals::last_error.eq(Some(error)),
                    ))
                    .execute(conn)
                    .map(|_| ())
            })
            .await
    }

    async fn backlog(&self) -> Result<Backlog, PortError> {
        let (n, oldest): (i64, Option<NaiveDateTime>) = self
            .db
            .query("count pending session signals", |conn| {
                session_signals::table
                    .filter(session_signals::push.eq(true))
                    .filter(session_signals::delivered_at.is_null())
                    .filter(session_signals::gave_up_at.is_null())
                    .select((
                        diesel::dsl::count_star(),
                        diesel::dsl::min(session_signals::ended_at),
                    ))
                    .get_result(conn)
            })
            .await?;
        Ok(Backlog {
            pending: u64::try_from(n).unwrap_or(0),
            oldest: oldest.map(from_db_time),
        })
    }

    async fn feed(
        &self,
        client_id: &str,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Signal>, PortError> {
        let (client, since) = (client_id.to_owned(), to_db_time(since));
        let rows: Vec<SignalRow> = self
            .db
            .query("read the session signal feed", move |conn| {
                session_signals::table
                    .filter(session_signals::client_id.eq(client))
                    .filter(session_signals::acked_at.is_null())
                    .filter(session_signals::ended_at.gt(since))
                    .order(session_signals::id.asc())
                    .limit(i64::from(limit))
                    .select(signal_columns!())
                    .load(conn)
            })
            .await?;
        Ok(rows.into_iter().filter_map(signal_of_row).collect())
    }

    async fn ack(&self, client_id: &str, jtis: &[String], now: DateTime<Utc>) -> Result<u64, PortError> {
        let (client, jtis, now) = (client_id.to_owned(), jtis.to_vec(), to_db_time(now));
        let n = self
            .db
            .query("acknowledge session signals", move |conn| {
                let mut n = 0;
                for chunk in jtis.chunks(CHUNK) {
                    n += diesel::update(
                        session_signals::table
                            .filter(session_signals::client_id.eq(&client))
                            .filter(session_signals::jti.eq_any(chunk))
                            .filter(session_signals::acked_at.is_null()),
                    )
                    .set(session_signals::acked_at.eq(Some(now)))
                    .execute(conn)?;
                }
                Ok(n)
            })
            .await?;
        Ok(n as u64)
    }

    async fn purge(&self, before: DateTime<Utc>) -> Result<u64, PortError> {
        let before = to_db_time(before);
        let n = self
            .db
            .query("purge session signals", move |conn| {
                diesel::delete(
                    session_signals::table
                        .filter(session_signals::ended_at.lt(before))
                        .filter(
                            session_signals::push
                                .eq(false)
                                .or(session_signals::delivered_at.is_not_null())
                                .or(session_signals::gave_up_at.is_not_null()),
                        ),
                )
                .execute(conn)
            })
            .await?;
        Ok(n as u64)
    }
}

/// An error kept in `last_error`: at most 500 characters.
fn truncate(error: &str) -> String {
    error.chars().take(500).collect()
}
