//! The hot statements use an index on both backends (issue 18): a later
//! change to a query or a migration that makes one of them read a whole
//! table (cost that grows with the accounts, sessions or audit rows stored)
//! fails here, not on day 400 of a deployment.
//!
//! Each statement below has the shape of the one its adapter in
//! `crates/auth-infra/src/` sends (same tables, columns, conditions and
//! order), with literals for the bound values. SQLite's
//! `EXPLAIN QUERY PLAN` must show no `SCAN` of a table (only `SEARCH`es
//! through an index); PostgreSQL's `EXPLAIN`, with sequential scans
//! disabled for the transaction so that tiny test tables still show
//! whether an index *can* serve the statement, must show no `Seq Scan`.
//! Not timed: the plans are checked, not the speed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_contract_tests::{TestBackend, TestDatabase, on_both_backends};
use auth_infra::Database;

on_both_backends!(hot_statements_use_an_index);

const T: &str = "'2026-01-01 00:00:00'";

/// `(name, statement, what a SQLite plan may scan)`. A scan is allowed
/// only where it reads rows in the order wanted and stops at a `LIMIT`.
fn hot_statements() -> Vec<(&'static str, String, Option<&'static str>)> {
    let live = "EXISTS (SELECT 1 FROM sessions WHERE sessions.id = refresh_tokens.session_id \
                AND sessions.revoked_at IS NULL)";
    vec![
        // users.rs
        ("user by id", "SELECT * FROM users WHERE users.id = 7".into(), None),
        ("user by uuid", "SELECT * FROM users WHERE users.uuid = 'u'".into(), None),
        ("user by login id", "SELECT * FROM users WHERE users.login_id = 'l'".into(), None),
        ("user by email", "SELECT * FROM users WHERE users.email = 'e@x.com'".into(), None),
        (
            "password upgrade",
            "UPDATE users SET password_hash = 'n' WHERE users.id = 7 AND users.password_hash = 'o'".into(),
            None,
        ),
        // sessions.rs
        ("session by id", "SELECT * FROM sessions WHERE sessions.id = 's'".into(), None),
        (
            "lock a live session",
            "UPDATE sessions SET client = client WHERE sessions.id = 's' AND sessions.revoked_at IS NULL"
                .into(),
            None,
        ),
        (
            "refresh record by hash",
            "SELECT * FROM refresh_tokens WHERE refresh_tokens.token_hash = 'h'".into(),
            None,
        ),
        (
            "refresh record with its session",
            "SELECT * FROM refresh_tokens INNER JOIN sessions ON refresh_tokens.session_id = sessions.id \
             WHERE refresh_tokens.token_hash = 'h'"
                .into(),
            None,
        ),
        (
            "rotation",
            format!(
                "UPDATE refresh_tokens SET spent_at = {T} WHERE refresh_tokens.token_hash = 'h' \
                 AND refresh_tokens.spent_at IS NULL AND {live}"
            ),
            None,
        ),
        (
            "latest refresh expiry of a session",
            "SELECT MAX(expires_at) FROM refresh_tokens WHERE refresh_tokens.session_id = 's' \
             AND refresh_tokens.spent_at IS NULL"
                .into(),
            None,
        ),
        (
            "live sessions of a user",
            "SELECT * FROM sessions WHERE sessions.user_id = 7 AND sessions.revoked_at IS NULL \
             ORDER BY sessions.created_at ASC, sessions.id ASC"
                .into(),
            None,
        ),
        (
            "revoke every session of a user",
            format!(
                "UPDATE sessions SET revoked_at = {T}, revoke_reason = 'r' \
                 WHERE sessions.user_id = 7 AND sessions.revoked_at IS NULL"
            ),
            None,
        ),
        // codes.rs
        (
            "code by email",
            "SELECT * FROM verification_codes WHERE verification_codes.email = 'e@x.com'".into(),
            None,
        ),
        (
            "code check",
            format!(
                "UPDATE verification_codes SET attempts = attempts + 1 \
                 WHERE verification_codes.email = 'e@x.com' AND verification_codes.code_hash = 'h' \
                 AND verification_codes.consumed_at IS NULL AND verification_codes.expires_at > {T} \
                 AND verification_codes.attempts < 5"
            ),
            None,
        ),
        (
            "send decoy",
            format!("UPDATE code_decoys SET sent_at = {T} WHERE code_decoys.key_hash = 'k' AND code_decoys.sent_at <= {T}"),
            None,
        ),
        // social_store.rs
        (
            "oauth state take",
            "SELECT * FROM oauth_states WHERE oauth_states.state_hash = 'h' AND oauth_states.provider = 'google'"
                .into(),
            None,
        ),
        (
            "oauth states expired on a new flow",
            format!("DELETE FROM oauth_states WHERE oauth_states.expires_at <= {T}"),
            None,
        ),
        (
            "social identity",
            "SELECT * FROM social_identities WHERE social_identities.provider = 'google' \
             AND social_identities.subject = 's'"
                .into(),
            None,
        ),
        (
            "social identities of a user",
            "SELECT * FROM social_identities WHERE social_identities.user_id = 7".into(),
            None,
        ),
        // throttle.rs
        (
            "throttle row",
            "UPDATE login_throttle SET failures = failures WHERE login_throttle.throttle_key = 'k'".into(),
            None,
        ),
        // apps.rs
        ("app by id", "SELECT * FROM apps WHERE apps.app_id = 'a'".into(), None),
        (
            "chat profile",
            "SELECT * FROM app_users WHERE app_users.app_id = 'a' AND app_users.kind = 'own' \
             AND app_users.user_id = 'u'"
                .into(),
            None,
        ),
        // audit.rs
        (
            "audit trail of a user",
            "SELECT * FROM audit_log WHERE audit_log.user_id = 7 ORDER BY audit_log.id DESC LIMIT 50".into(),
            None,
        ),
        (
            // Newest first by rowid, stopping after the limit.
            "audit trail, everyone",
            "SELECT * FROM audit_log ORDER BY audit_log.id DESC LIMIT 50".into(),
            Some("SCAN audit_log"),
        ),
        // roles.rs: every user view (and the admin console's check).
        (
            "admin role of a user",
            "SELECT user_roles.user_id FROM user_roles WHERE user_roles.user_id = 7 \
             AND user_roles.role = 'admin'"
                .into(),
            None,
        ),
        // The cascade of an account's deletion to its roles.
        (
            "roles of a deleted user",
            "DELETE FROM user_roles WHERE user_roles.user_id = 7".into(),
            None,
        ),
        // housekeeping.rs and codes.rs: the scheduled purge.
        (
            "purge expired refresh records",
            format!("DELETE FROM refresh_tokens WHERE refresh_tokens.expires_at < {T}"),
            None,
        ),
        (
            "purge refresh records of revoked sessions",
            format!(
                "DELETE FROM refresh_tokens WHERE refresh_tokens.session_id IN \
                 (SELECT sessions.id FROM sessions WHERE sessions.revoked_at < {T})"
            ),
            None,
        ),
        (
            "purge sessions",
            format!(
                "DELETE FROM sessions WHERE sessions.revoked_at < {T} OR (sessions.created_at < {T} \
                 AND NOT EXISTS (SELECT * FROM refresh_tokens WHERE refresh_tokens.session_id = sessions.id))"
            ),
            None,
        ),
        (
            "purge throttle rows",
            format!(
                "DELETE FROM login_throttle WHERE login_throttle.window_start < {T} \
                 AND (login_throttle.locked_until IS NULL OR login_throttle.locked_until <= {T})"
            ),
            None,
        ),
        (
            "purge codes",
            format!(
                "DELETE FROM verification_codes WHERE verification_codes.expires_at <= {T} \
                 AND verification_codes.sent_at <= {T} \
                 AND (verification_codes.verified_at IS NULL OR verification_codes.verified_at <= {T})"
            ),
            None,
        ),
        (
            "purge send decoys",
            format!("DELETE FROM code_decoys WHERE code_decoys.expires_at <= {T}"),
            None,
        ),
        (
            "purge audit rows",
            format!("DELETE FROM audit_log WHERE audit_log.at < {T}"),
            None,
        ),
    ]
}

/// What in `plan` reads a whole table, if anything.
fn scans(backend: TestBackend, plan: &[String], allowed: Option<&str>) -> Vec<String> {
    plan.iter()
        .filter(|line| match backend {
            TestBackend::Sqlite => {
                let line = line.trim_start();
                line.starts_with("SCAN ") && allowed.is_none_or(|a| line != a)
            }
            TestBackend::Postgres => line.contains("Seq Scan"),
        })
        .cloned()
        .collect()
}

async fn hot_statements_use_an_index(backend: TestBackend) {
    let t = TestDatabase::new(backend);
    let db = Database::connect(t.url(), 2).await.unwrap();
    db.migrate().await.unwrap();
    let mut failures = Vec::new();
    for (name, sql, allowed) in hot_statements() {
        let plan = db
            .explain(&sql)
            .await
            .unwrap_or_else(|e| panic!("{name}: {sql}: {e}"));
        assert!(!plan.is_empty(), "{name}: no plan");
        let bad = scans(backend, &plan, allowed);
        if !bad.is_empty() {
            failures.push(format!("{name}: {sql}\n    {}", plan.join("\n    ")));
        }
    }
    assert!(
        failures.is_empty(),
        "statements that read a whole table on {backend:?}:\n{}",
        failures.join("\n")
    );
}

/// The check itself can fail: a statement on a column without an index is
/// reported as a scan on both backends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unindexed_filter_is_reported_as_a_scan() {
    for backend in [TestBackend::Sqlite, TestBackend::Postgres] {
        let t = TestDatabase::new(backend);
        let db = Database::connect(t.url(), 2).await.unwrap();
        db.migrate().await.unwrap();
        let plan = db
            .explain("SELECT * FROM users WHERE users.name = 'n'")
            .await
            .unwrap();
        assert!(!scans(backend, &plan, None).is_empty(), "{backend:?}: {plan:?}");
    }
}

on_both_backends!(admin_user_search_uses_the_trigram_index);

/// The admin user search (`GET /internal/users?query=…`, a substring of a
/// login id, email or name) reads the trigram index, not every account:
/// SQLite's FTS5 `users_search` (matched, in id order), PostgreSQL's three
/// GIN indexes. The statements have the shapes `db/users.rs` sends for a
/// query of three characters or more (on PostgreSQL the capped candidate
/// read, which is what must use the indexes), on a table of 5,000
/// accounts so that PostgreSQL's planner weighs a real table.
async fn admin_user_search_uses_the_trigram_index(backend: TestBackend) {
    let t = TestDatabase::new(backend);
    let db = Database::connect(t.url(), 2).await.unwrap();
    db.migrate().await.unwrap();
    let rows = "SELECT 'u' || x, 'user' || x, 'user' || x || '@example.com', 'Name ' || x, \
                '2026-01-01 00:00:00'";
    let columns = "INSERT INTO users (uuid, login_id, email, name, created_at)";
    let (fill, search) = match backend {
        TestBackend::Sqlite => (
            format!(
                "{columns} WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n \
                 WHERE x < 5000) {rows} FROM n"
            ),
            "SELECT * FROM users WHERE users.id IN (SELECT rowid FROM users_search \
             WHERE users_search MATCH '\"user1234@\"' AND rowid > 0 ORDER BY rowid LIMIT 20) \
             ORDER BY users.id ASC LIMIT 20"
                .to_owned(),
        ),
        TestBackend::Postgres => (
            format!("{columns} {rows} FROM generate_series(1, 5000) x; ANALYZE users"),
            // The capped, unordered candidate read (`SEARCH_CANDIDATES`).
            "SELECT users.id FROM users WHERE (lower(COALESCE(users.login_id, '')) \
             LIKE '%user1234@%' OR lower(users.email) LIKE '%user1234@%' \
             OR lower(users.name) LIKE '%user1234@%') LIMIT 1001"
                .to_owned(),
        ),
    };
    db.execute_raw(&fill).await.unwrap();
    let plan = db.explain(&search).await.unwrap();
    let text = plan.join("\n");
    match backend {
        TestBackend::Sqlite => {
            let bad: Vec<_> = plan
                .iter()
                .map(|l| l.trim_start())
                .filter(|l| l.starts_with("SCAN ") && !l.contains("users_search VIRTUAL TABLE INDEX"))
                .collect();
            assert!(bad.is_empty(), "{text}");
            // `M`: the index is searched by the MATCH, not read whole.
            assert!(
                plan.iter()
                    .any(|l| l.contains("users_search VIRTUAL TABLE INDEX") && l.contains(":M")),
                "{text}"
            );
        }
        TestBackend::Postgres => {
            assert!(!text.contains("Seq Scan"), "{text}");
            for index in [
                "users_login_id_trgm_idx",
                "users_email_trgm_idx",
                "users_name_trgm_idx",
            ] {
                assert!(text.contains(index), "{index} unused:\n{text}");
            }
        }
    }
}
