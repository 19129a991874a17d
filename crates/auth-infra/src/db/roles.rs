//! [`AdminRoleStore`] over diesel, in `user_roles` (one row per role held,
//! keyed by `(user_id, role)`; the role here is `admin`).
//!
//! A grant is one `INSERT … ON CONFLICT DO NOTHING` and a revocation one
//! `DELETE`: both databases decide parallel callers under the key's lock,
//! so exactly one of them changes the row and none fails on the race (no
//! unique violation reaches the caller). The row goes with its account
//! (`ON DELETE CASCADE`).

use async_trait::async_trait;
use auth_domain::PortError;
use auth_domain::admin::roles::AdminRoleStore;
use auth_domain::identity::user::UserId;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::schema::user_roles as ur;
use crate::db::{AnyConnection, Database, to_db_time};

/// The stored name of the admin role.
const ADMIN: &str = "admin";

/// Stores the admin role of accounts in `user_roles`.
#[derive(Debug, Clone)]
pub struct DieselAdminRoleStore {
    db: Database,
}

impl DieselAdminRoleStore {
    /// The store over `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl AdminRoleStore for DieselAdminRoleStore {
    async fn is_admin(&self, user: UserId) -> Result<bool, PortError> {
        let found: Option<i64> = self
            .db
            .query("read admin role", move |conn| {
                ur::table
                    .find((user.get(), ADMIN))
                    .select(ur::user_id)
                    .get_result(conn)
                    .optional()
            })
            .await?;
        Ok(found.is_some())
    }

    async fn set_admin(&self, user: UserId, admin: bool, at: DateTime<Utc>) -> Result<bool, PortError> {
        let at = to_db_time(at);
        let changed = if admin {
            self.db
                .query("grant admin role", move |conn| {
                    let grant = diesel::insert_into(ur::table)
                        .values((
                            ur::user_id.eq(user.get()),
                            ur::role.eq(ADMIN),
                            ur::granted_at.eq(at),
                        ))
                        .on_conflict_do_nothing();
                    // `MultiConnection` cannot express `ON CONFLICT`: the
                    // same statement on the concrete connection.
                    let inserted = match conn {
                        AnyConnection::Sqlite(c) => grant.execute(c),
                        AnyConnection::Postgres(c) => grant.execute(c),
                    };
                    match inserted {
                        // The account was deleted after the use case read
                        // it: nothing to grant, nothing stored.
                        Err(DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)) => Ok(0),
                        other => other,
                    }
                })
                .await?
        } else {
            self.db
                .query("revoke admin role", move |conn| {
                    diesel::delete(ur::table.find((user.get(), ADMIN))).execute(conn)
                })
                .await?
        };
        Ok(changed == 1)
    }
}
