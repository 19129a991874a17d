//! [`AuditLog`] over diesel, in `audit_log`. Recording is best effort: a
//! failure is logged here and never reaches the use case.

use async_trait::async_trait;
use auth_domain::PortError;
use auth_domain::audit::{AuditEvent, AuditKind};
use auth_domain::identity::user::UserId;
use auth_domain::ports::AuditLog;
use auth_domain::sessions::session::SessionId;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::audit_log as al;
use crate::db::{Database, DbError, from_db_time, to_db_time};

/// Stores audit events in `audit_log`.
#[derive(Debug, Clone)]
pub struct DieselAuditLog {
    db: Database,
}

impl DieselAuditLog {
    /// A log over `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[derive(Insertable)]
#[diesel(table_name = al)]
struct NewAuditRow {
    at: NaiveDateTime,
    kind: String,
    user_id: Option<i64>,
    session_id: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    target: Option<String>,
}

#[derive(Queryable)]
struct AuditRow {
    _id: i64,
    at: NaiveDateTime,
    kind: String,
    user_id: Option<i64>,
    session_id: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    target: Option<String>,
}

impl AuditRow {
    fn into_domain(self) -> Result<AuditEvent, DbError> {
        Ok(AuditEvent {
            at: from_db_time(self.at),
            kind: AuditKind::parse(&self.kind).ok_or(DbError::Corrupt("unknown audit_log.kind"))?,
            user_id: self.user_id.map(UserId::new),
            session_id: self
                .session_id
                .map(|s| {
                    Uuid::parse_str(&s)
                        .map(SessionId::from_uuid)
                        .map_err(|_| DbError::Corrupt("audit_log.session_id is not a UUID"))
                })
                .transpose()?,
            ip: self
                .ip
                .map(|ip| {
                    ip.parse()
                        .map_err(|_| DbError::Corrupt("audit_log.ip is not an IP"))
                })
                .transpose()?,
            user_agent: self.user_agent,
            target: self.target,
        })
    }
}

#[async_trait]
impl AuditLog for DieselAuditLog {
    async fn record(&self, event: AuditEvent) {
        let row = NewAuditRow {
            at: to_db_time(event.at),
            kind: event.kind.as_str().to_owned(),
            user_id: event.user_id.map(UserId::get),
            session_id: event.session_id.map(|s| s.to_string()),
            ip: event.ip.map(|ip| ip.to_string()),
            // PostgreSQL refuses NUL in TEXT; the domain already drops
            // control characters, this is a second guard.
            user_agent: event.user_agent.map(|ua| ua.replace('\0', "")),
            target: event.target.map(|t| t.replace('\0', "")),
        };
        let stored = self
            .db
            .query("record audit event", move |conn| {
                diesel::insert_into(al::table).values(&row).execute(conn)
            })
            .await;
        if let Err(e) = stored {
            tracing::warn!(error = %e, kind = event.kind.as_str(), "audit event not stored");
        }
    }

    async fn recent(&self, user: Option<UserId>, limit: u32) -> Result<Vec<AuditEvent>, PortError> {
        const CONTEXT: &str = "read audit trail";
        let rows: Vec<AuditRow> = self
            .db
            .query(CONTEXT, move |conn| {
                let mut query = al::table
                    .order(al::id.desc())
                    .limit(i64::from(limit))
                    .into_boxed();
                if let Some(user) = user {
                    query = query.filter(al::user_id.eq(user.get()));
                }
                query.load(conn)
            })
            .await?;
        rows.into_iter()
            .map(AuditRow::into_domain)
            .collect::<Result<_, _>>()
            .map_err(|e| PortError::new(CONTEXT, e))
    }
}
