//! [`SessionStore`] over diesel.
//!
//! Every multi-statement transaction starts with a write, so that on SQLite
//! the write lock is taken (and waited for, with `busy_timeout`) up front
//! instead of failing with `SQLITE_BUSY` on a read-to-write upgrade; on
//! PostgreSQL that first write takes the row lock that serialises racers.

use async_trait::async_trait;
use auth_domain::PortError;
use auth_domain::identity::user::UserId;
use auth_domain::ports::SessionStore;
use auth_domain::sessions::session::{
    RefreshRecord, RefreshTokenHash, RevokeReason, RotateOutcome, Session, SessionId,
};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{refresh_tokens, sessions};
use crate::db::signals::record_ends;
use crate::db::{AnyConnection, Database, DbError, from_db_time, to_db_time};

/// Stores sessions and refresh tokens in `sessions` and `refresh_tokens`.
#[derive(Debug, Clone)]
pub struct DieselSessionStore {
    db: Database,
}

impl DieselSessionStore {
    /// A store over `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[derive(Queryable, Insertable)]
#[diesel(table_name = sessions)]
struct SessionRow {
    id: String,
    user_id: i64,
    client: String,
    created_at: NaiveDateTime,
    revoked_at: Option<NaiveDateTime>,
    revoke_reason: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    last_refreshed_at: Option<NaiveDateTime>,
    /// How the user signed in: RFC 8176 values, space-separated.
    amr: String,
}

#[derive(Queryable, Insertable)]
#[diesel(table_name = refresh_tokens)]
struct RefreshRow {
    token_hash: String,
    session_id: String,
    issued_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    spent_at: Option<NaiveDateTime>,
}

fn parse_session_id(raw: &str) -> Result<SessionId, DbError> {
    Uuid::parse_str(raw)
        .map(SessionId::from_uuid)
        .map_err(|_| DbError::Corrupt("session id is not a UUID"))
}

impl SessionRow {
    fn from_domain(s: &Session) -> Self {
        Self {
            id: s.id.to_string(),
            user_id: s.user_id.get(),
            client: s.client.clone(),
            created_at: to_db_time(s.created_at),
            revoked_at: s.revoked_at.map(to_db_time),
            revoke_reason: s.revoke_reason.map(|r| r.as_str().to_owned()),
            ip: s.ip.map(|ip| ip.to_string()),
            // PostgreSQL refuses NUL in TEXT; the domain drops control
            // characters already.
            user_agent: s.user_agent.as_ref().map(|ua| ua.replace('\0', "")),
            last_refreshed_at: s.last_refreshed_at.map(to_db_time),
            amr: s.amr.join(" "),
        }
    }

    fn into_domain(self) -> Result<Session, DbError> {
        Ok(Session {
            id: parse_session_id(&self.id)?,
            user_id: UserId::new(self.user_id),
            client: self.client,
            created_at: from_db_time(self.created_at),
            revoked_at: self.revoked_at.map(from_db_time),
            revoke_reason: self
                .revoke_reason
                .map(|r| RevokeReason::parse(&r).ok_or(DbError::Corrupt("unknown sessions.revoke_reason")))
                .transpose()?,
            // An unreadable address is shown as unknown rather than failing
            // every read of the session.
            ip: self.ip.and_then(|ip| ip.parse().ok()),
            user_agent: self.user_agent,
            last_refreshed_at: self.last_refreshed_at.map(from_db_time),
            amr: self.amr.split_whitespace().map(str::to_owned).collect(),
        })
    }
}

impl RefreshRow {
    fn from_domain(r: &RefreshRecord) -> Self {
        Self {
            token_hash: r.hash.as_str().to_owned(),
            session_id: r.session_id.to_string(),
            issued_at: to_db_time(r.issued_at),
            expires_at: to_db_time(r.expires_at),
            spent_at: r.spent_at.map(to_db_time),
        }
    }

    fn into_domain(self) -> Result<RefreshRecord, DbError> {
        Ok(RefreshRecord {
            hash: RefreshTokenHash::from_stored(self.token_hash),
            session_id: parse_session_id(&self.session_id)?,
            issued_at: from_db_time(self.issued_at),
            expires_at: from_db_time(self.expires_at),
            spent_at: self.spent_at.map(from_db_time),
        })
    }
}

/// `refresh_tokens.session_id` names a session that is not revoked: a
/// correlated `EXISTS` that looks the one session up by primary key. (An
/// `IN (SELECT id FROM sessions WHERE revoked_at IS NULL)` made SQLite read
/// every live session on each rotation, so rotations slowed down as sessions
/// piled up: 3× after a few thousand logins in `load-bench`. PostgreSQL
/// plans both forms as the same index lookup.) Written with diesel's DSL,
/// not as an SQL literal, so the rotation has a static query id and diesel
/// keeps it prepared instead of preparing it again on every rotation.
/// `tests/tests/query_plans.rs` checks its plan.
#[diesel::dsl::auto_type]
fn session_is_live() -> _ {
    diesel::dsl::exists(
        sessions::table
            .filter(sessions::id.eq(refresh_tokens::session_id))
            .filter(sessions::revoked_at.is_null()),
    )
}

/// Marks `session` as written in this transaction (a no-op update) if it is
/// live. Returns whether it is.
fn lock_live_session(conn: &mut AnyConnection, session: &str) -> QueryResult<bool> {
    diesel::update(
        sessions::table
            .filter(sessions::id.eq(session))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::client.eq(sessions::client))
    .execute(conn)
    .map(|n| n == 1)
}

#[async_trait]
impl SessionStore for DieselSessionStore {
    async fn create(&self, session: &Session, first: &RefreshRecord) -> Result<(), PortError> {
        let session = SessionRow::from_domain(session);
        let first = RefreshRow::from_domain(first);
        self.db
            .query("create session", move |conn| {
                conn.transaction(|conn| {
                    diesel::insert_into(sessions::table)
                        .values(&session)
                        .execute(conn)?;
                    diesel::insert_into(refresh_tokens::table)
                        .values(&first)
                        .execute(conn)?;
                    Ok(())
                })
            })
            .await
    }

    async fn get(&self, id: SessionId) -> Result<Option<Session>, PortError> {
        const CONTEXT: &str = "get session";
        let row = self
            .db
            .query(CONTEXT, move |conn| {
                sessions::table
                    .find(id.to_string())
                    .get_result::<SessionRow>(conn)
                    .optional()
            })
            .await?;
        row.map(SessionRow::into_domain)
            .transpose()
            .map_err(|e| PortError::new(CONTEXT, e))
    }

    async fn refresh_record(&self, hash: &RefreshTokenHash) -> Result<Option<RefreshRecord>, PortError> {
        const CONTEXT: &str = "get refresh token";
        let hash = hash.as_str().to_owned();
        let row = self
            .db
            .query(CONTEXT, move |conn| {
                refresh_tokens::table
                    .find(hash)
                    .get_result::<RefreshRow>(conn)
                    .optional()
            })
            .await?;
        row.map(RefreshRow::into_domain)
            .transpose()
            .map_err(|e| PortError::new(CONTEXT, e))
    }

    async fn refresh_record_with_session(
        &self,
        hash: &RefreshTokenHash,
    ) -> Result<Option<(RefreshRecord, Option<Session>)>, PortError> {
        const CONTEXT: &str = "get refresh token and session";
        let hash = hash.as_str().to_owned();
        // One query, one pooled connection, one hop to the blocking pool
        // (it was two of each on every refresh).
        let row = self
            .db
            .query(CONTEXT, move |conn| {
                refresh_tokens::table
                    .inner_join(sessions::table)
                    .filter(refresh_tokens::token_hash.eq(hash))
                    .get_result::<(RefreshRow, SessionRow)>(conn)
                    .optional()
            })
            .await?;
        row.map(|(record, session)| Ok((record.into_domain()?, Some(session.into_domain()?))))
            .transpose()
            .map_err(|e: DbError| PortError::new(CONTEXT, e))
    }

    async fn rotate(
        &self,
        spent: &RefreshTokenHash,
        next: &RefreshRecord,
        now: DateTime<Utc>,
    ) -> Result<RotateOutcome, PortError> {
        let spent = spent.as_str().to_owned();
        let next = RefreshRow::from_domain(next);
        let now = to_db_time(now);
        self.db
            .query("rotate refresh token", move |conn| {
                conn.transaction(|conn| {
                    // The first statement writes: the database decides which
                    // of several concurrent rotations wins.
                    let marked = diesel::update(
                        refresh_tokens::table
                            .filter(refresh_tokens::token_hash.eq(&spent))
                            .filter(refresh_tokens::spent_at.is_null())
                            .filter(session_is_live()),
                    )
                    .set(refresh_tokens::spent_at.eq(Some(now)))
                    .execute(conn)?;
                    if marked == 1 {
                        diesel::insert_into(refresh_tokens::table)
                            .values(&next)
                            .execute(conn)?;
                        // The session's last refresh, in the same commit
                        // (`touch` was a second one: a second WAL flush on
                        // PostgreSQL).
                        diesel::update(sessions::table.filter(sessions::id.eq(&next.session_id)))
                            .set(sessions::last_refreshed_at.eq(Some(now)))
                            .execute(conn)?;
                        return Ok(RotateOutcome::Rotated);
                    }
                    let found = refresh_tokens::table
                        .find(&spent)
                        .select(refresh_tokens::spent_at)
                        .get_result::<Option<NaiveDateTime>>(conn)
                        .optional()?;
                    Ok(match found {
                        None => RotateOutcome::Unknown,
                        Some(Some(at)) => RotateOutcome::AlreadySpent(from_db_time(at)),
                        Some(None) => RotateOutcome::SessionRevoked,
                    })
                })
            })
            .await
    }

    async fn add_refresh(&self, next: &RefreshRecord) -> Result<bool, PortError> {
        let next = RefreshRow::from_domain(next);
        self.db
            .query("add refresh token", move |conn| {
                conn.transaction(|conn| {
                    // A write first: locks the session row (PostgreSQL: a
                    // concurrent revoke waits for us) and takes SQLite's lock.
                    if !lock_live_session(conn, &next.session_id)? {
                        return Ok(false);
                    }
                    diesel::insert_into(refresh_tokens::table)
                        .values(&next)
                        .execute(conn)?;
                    Ok(true)
                })
            })
            .await
    }

    async fn revoke(
        &self,
        id: SessionId,
        reason: RevokeReason,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let now = to_db_time(now);
        self.db
            .query("revoke session", move |conn| {
                conn.transaction(|conn| {
                    let ended: Vec<String> = diesel::update(
                        sessions::table
                            .filter(sessions::id.eq(id.to_string()))
                            .filter(sessions::revoked_at.is_null()),
                    )
                    .set(revoked(now, reason))
                    .returning(sessions::id)
                    .get_results(conn)?;
                    record_ends(conn, &ended, reason, now)?;
                    Ok(ended.len() == 1)
                })
            })
            .await
    }

    async fn refresh_expiry(&self, id: SessionId) -> Result<Option<DateTime<Utc>>, PortError> {
        let expiry: Option<NaiveDateTime> = self
            .db
            .query("latest refresh expiry", move |conn| {
                refresh_tokens::table
                    .filter(refresh_tokens::session_id.eq(id.to_string()))
                    .filter(refresh_tokens::spent_at.is_null())
                    .select(diesel::dsl::max(refresh_tokens::expires_at))
                    .get_result::<Option<NaiveDateTime>>(conn)
            })
            .await?;
        Ok(expiry.map(from_db_time))
    }

    async fn live_sessions(&self, user: UserId) -> Result<Vec<Session>, PortError> {
        const CONTEXT: &str = "list live sessions";
        let rows = self
            .db
            .query(CONTEXT, move |conn| {
                sessions::table
                    .filter(sessions::user_id.eq(user.get()))
                    .filter(sessions::revoked_at.is_null())
                    .order((sessions::created_at.asc(), sessions::id.asc()))
                    .load::<SessionRow>(conn)
            })
            .await?;
        rows.into_iter()
            .map(SessionRow::into_domain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PortError::new(CONTEXT, e))
    }

    async fn revoke_all(
        &self,
        user: UserId,
        reason: RevokeReason,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionId>, PortError> {
        const CONTEXT: &str = "revoke all sessions";
        let now = to_db_time(now);
        let ids = self
            .db
            .query(CONTEXT, move |conn| {
                conn.transaction(|conn| {
                    let ended = diesel::update(
                        sessions::table
                            .filter(sessions::user_id.eq(user.get()))
                            .filter(sessions::revoked_at.is_null()),
                    )
                    .set(revoked(now, reason))
                    .returning(sessions::id)
                    .get_results::<String>(conn)?;
                    record_ends(conn, &ended, reason, now)?;
                    Ok(ended)
                })
            })
            .await?;
        ids.iter()
            .map(|id| parse_session_id(id))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PortError::new(CONTEXT, e))
    }

    async fn active_sessions(&self, user: UserId, now: DateTime<Utc>) -> Result<Vec<Session>, PortError> {
        const CONTEXT: &str = "list active sessions";
        let now = to_db_time(now);
        let rows = self
            .db
            .query(CONTEXT, move |conn| {
                sessions::table
                    .filter(sessions::user_id.eq(user.get()))
                    .filter(sessions::revoked_at.is_null())
                    .filter(diesel::dsl::exists(
                        refresh_tokens::table
                            .filter(refresh_tokens::session_id.eq(sessions::id))
                            .filter(refresh_tokens::spent_at.is_null())
                            .filter(refresh_tokens::expires_at.gt(now)),
                    ))
                    .order((sessions::created_at.asc(), sessions::id.asc()))
                    .load::<SessionRow>(conn)
            })
            .await?;
        rows.into_iter()
            .map(SessionRow::into_domain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PortError::new(CONTEXT, e))
    }

    async fn count_active(&self, now: DateTime<Utc>) -> Result<u64, PortError> {
        let now = to_db_time(now);
        let n: i64 = self
            .db
            .query("count active sessions", move |conn| {
                sessions::table
                    .filter(sessions::revoked_at.is_null())
                    .filter(diesel::dsl::exists(
                        refresh_tokens::table
                            .filter(refresh_tokens::session_id.eq(sessions::id))
                            .filter(refresh_tokens::spent_at.is_null())
                            .filter(refresh_tokens::expires_at.gt(now)),
                    ))
                    .count()
                    .get_result(conn)
            })
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn touch(&self, id: SessionId, now: DateTime<Utc>) -> Result<(), PortError> {
        let now = to_db_time(now);
        self.db
            .query("record session refresh", move |conn| {
                diesel::update(sessions::table.filter(sessions::id.eq(id.to_string())))
                    .set(sessions::last_refreshed_at.eq(Some(now)))
                    .execute(conn)
                    .map(|_| ())
            })
            .await
    }
}

/// `revoked_at = now, revoke_reason = reason`.
type RevokedSet = (
    diesel::dsl::Eq<sessions::revoked_at, Option<NaiveDateTime>>,
    diesel::dsl::Eq<sessions::revoke_reason, Option<&'static str>>,
);

/// The `SET` of a revocation: when, and why. One definition for revoking
/// one session and all of a user's.
fn revoked(now: NaiveDateTime, reason: RevokeReason) -> RevokedSet {
    (
        sessions::revoked_at.eq(Some(now)),
        sessions::revoke_reason.eq(Some(reason.as_str())),
    )
}
