//! [`Housekeeping`] over diesel: one `DELETE` per kind of row, each decided
//! by the domain's cutoffs, on both backends.
//!
//! Every statement is idempotent and races only with other purges (or with
//! writes that make a row live again, which the conditions then exclude),
//! so several instances may purge the same database at once.
//!
//! On PostgreSQL the purge then vacuums the tables that churn (issue 18):
//! a deleted or updated row's space is reused only after a `VACUUM`, and
//! bounded growth must not depend on autovacuum being on, or on its
//! default thresholds (20 % of a table dead) being low enough.

use async_trait::async_trait;
use auth_domain::PortError;
use auth_domain::housekeeping::{Housekeeping, PurgeCutoffs, PurgeReport};
use auth_domain::ports::CodeStore;
use diesel::dsl::{exists, not};
use diesel::prelude::*;

use crate::db::schema::{
    audit_log, login_throttle, mfa_ceremonies, mfa_pending, oauth_codes, oauth_states, refresh_tokens,
    sessions,
};
use crate::db::{Backend, Database, to_db_time};

/// The tables whose rows the service updates or deletes all day (rotation,
/// throttle counters, request budgets, codes, the purge itself); `audit_log` is vacuumed
/// only after the purge deleted some of it (it is otherwise append-only).
const CHURNING_TABLES: &str = "sessions, refresh_tokens, verification_codes, code_decoys, login_throttle, \
                               request_rates, oauth_states, oauth_codes";

/// Purges expired rows from every table that accumulates them.
#[derive(Debug, Clone)]
pub struct DieselHousekeeping {
    db: Database,
}

impl DieselHousekeeping {
    /// A purger over `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[async_trait]
impl Housekeeping for DieselHousekeeping {
    async fn purge(&self, c: &PurgeCutoffs) -> Result<PurgeReport, PortError> {
        // Codes and send decoys: the code store's own rule, so the two
        // never disagree on what a cooldown or an open sign-up still needs.
        let codes = crate::DieselCodeStore::new(self.db.clone())
            .purge_expired(c.now, c.code_horizon)
            .await?;
        let purge_time = c.now;
        let now = to_db_time(c.now);
        let refresh_before = to_db_time(c.refresh_expired_before);
        let revoked_before = to_db_time(c.revoked_before);
        let window_before = to_db_time(c.throttle_window_started_before);
        let audit_before = c.audit_before.map(to_db_time);
        let report = self
            .db
            .query("purge expired rows", move |conn| {
                let mut report = PurgeReport::default();
                // Refresh records first: they reference their session. Two
                // statements, each served by an index (PostgreSQL cannot use
                // one for `expires_at < … OR session_id IN (…)` and read the
                // whole table; tests/tests/query_plans.rs).
                let revoked = sessions::table
                    .filter(sessions::revoked_at.lt(revoked_before))
                    .select(sessions::id);
                let expired = diesel::delete(
                    refresh_tokens::table.filter(refresh_tokens::expires_at.lt(refresh_before)),
                )
                .execute(conn)?;
                let of_revoked =
                    diesel::delete(refresh_tokens::table.filter(refresh_tokens::session_id.eq_any(revoked)))
                        .execute(conn)?;
                report.refresh_records = count(expired + of_revoked);
                let has_refresh =
                    exists(refresh_tokens::table.filter(refresh_tokens::session_id.eq(sessions::id)));
                report.sessions = count(
                    diesel::delete(
                        sessions::table.filter(
                            sessions::revoked_at
                                .lt(revoked_before)
                                .or(sessions::created_at.lt(refresh_before).and(not(has_refresh))),
                        ),
                    )
                    .execute(conn)?,
                );
                report.oauth_states = count(
                    diesel::delete(oauth_states::table.filter(oauth_states::expires_at.le(now)))
                        .execute(conn)?,
                );
                // A code is worth nothing after its 60 seconds (a replay of
                // an expired code is refused as unknown).
                report.authorization_codes = count(
                    diesel::delete(oauth_codes::table.filter(oauth_codes::expires_at.le(now)))
                        .execute(conn)?,
                );
                // A second step lives 5 minutes, a ceremony as long.
                report.second_factor_steps = count(
                    diesel::delete(mfa_pending::table.filter(mfa_pending::expires_at.le(now)))
                        .execute(conn)?,
                ) + count(
                    diesel::delete(mfa_ceremonies::table.filter(mfa_ceremonies::expires_at.le(now)))
                        .execute(conn)?,
                );
                report.throttle_counters = count(
                    diesel::delete(
                        login_throttle::table
                            .filter(login_throttle::window_start.lt(window_before))
                            .filter(
                                login_throttle::locked_until
                                    .is_null()
                                    .or(login_throttle::locked_until.le(now)),
                            ),
                    )
                    .execute(conn)?,
                );
                // A budget whose arrival time has passed is a fresh one.
                report.request_rates = count(crate::db::request_rates::purge_spent(conn, purge_time)?);
                report.codes = count(codes);
                if let Some(before) = audit_before {
                    report.audit_events = count(
                        diesel::delete(audit_log::table.filter(audit_log::at.lt(before))).execute(conn)?,
                    );
                }
                Ok(report)
            })
            .await?;
        self.vacuum(report.audit_events > 0).await;
        Ok(report)
    }
}

impl DieselHousekeeping {
    /// PostgreSQL only: `VACUUM (SKIP_LOCKED)` of [`CHURNING_TABLES`] (and
    /// of `audit_log` when `audit` is set), so the space of the rows just
    /// purged, and of rows updated since the last purge, is reused.
    /// `SKIP_LOCKED`: a table another instance's purge (or autovacuum) is
    /// vacuuming is skipped rather than waited for. A failure is logged,
    /// not returned: the purge itself succeeded.
    async fn vacuum(&self, audit: bool) {
        if self.db.backend() != Backend::Postgres {
            return;
        }
        let sql = format!(
            "VACUUM (SKIP_LOCKED) {CHURNING_TABLES}{}",
            if audit { ", audit_log" } else { "" }
        );
        let vacuumed = self
            .db
            .query("vacuum after the purge", move |conn| {
                diesel::connection::SimpleConnection::batch_execute(conn, &sql)
            })
            .await;
        if let Err(e) = vacuumed {
            tracing::warn!(error = %e, "vacuum after the purge failed");
        }
    }
}
