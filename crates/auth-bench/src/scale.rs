//! Bulk fill of a database for `load-bench --scale` (issue 18): a deployment
//! that has run for years, generated inside the database in one transaction
//! per table group (PostgreSQL `generate_series`, SQLite a recursive CTE),
//! so a million accounts take seconds to minutes instead of a million
//! requests.
//!
//! What is stored, for `accounts` = N:
//! - N accounts `scale{n}` / `scale{n}@scale.test`, every one with the same
//!   precomputed argon2id hash (of the bench password, so they can log in);
//!   every 10th with a Google link, every 10th (offset 5) with a chat
//!   profile in the app `scaleapp`;
//! - N live sessions (one per account) with their refresh history: two
//!   spent records and the live one, 3 N refresh records;
//! - 10 N audit rows spread over the last 10 N seconds (inside the default
//!   365-day retention up to N = 3 million), for every account in turn;
//! - N / 100 throttle rows, N / 100 open verification codes, 1,000 open
//!   OAuth states.
//!
//! Identifiers are derived from `n` (`%08x-0000-4000-8000-%012x` UUIDs,
//! zero-padded hex refresh hashes), so both backends hold the same rows.

use auth_infra::{Backend, Database, DbError};

/// What one fill stored.
#[derive(Debug, Clone, Copy)]
pub struct Filled {
    /// Accounts (each with one live session and 3 refresh records).
    pub accounts: u64,
    /// Audit rows.
    pub audit_rows: u64,
}

/// The statements that fill a migrated database, per backend.
fn statements(backend: Backend, n: u64, audit: u64, hash: &str) -> Vec<String> {
    let hash = hash.replace('\'', "''");
    let small = (n / 100).max(1);
    match backend {
        Backend::Postgres => {
            let now = "(now() AT TIME ZONE 'utc')";
            let uuid = |g: &str, tag: &str| {
                format!("lpad(to_hex({g}), 8, '0') || '-0000-4000-{tag}-' || lpad(to_hex({g}), 12, '0')")
            };
            let user_uuid = uuid("g", "8000");
            let session_id = uuid("g", "9000");
            vec![
                format!(
                    "INSERT INTO users (id, uuid, login_id, email, name, profile_image, password_hash, created_at) \
                     SELECT g, {user_uuid}, 'scale' || g, 'scale' || g || '@scale.test', '규모', NULL, '{hash}', \
                     {now} - make_interval(secs => g) FROM generate_series(1, {n}) g; \
                     SELECT setval(pg_get_serial_sequence('users', 'id'), {n});"
                ),
                format!(
                    "INSERT INTO social_identities (provider, subject, user_id, created_at) \
                     SELECT 'google', 'scale-' || g, g, {now} FROM generate_series(10, {n}, 10) g; \
                     INSERT INTO apps (app_id, name, created_at) VALUES ('scaleapp', 'Scale', {now}); \
                     INSERT INTO app_users (app_id, kind, user_id, nickname, profile_image_url, friends, created_at, updated_at) \
                     SELECT 'scaleapp', 'own', {user_uuid}, 'nick' || g, NULL, '[]', {now}, {now} \
                     FROM generate_series(5, {n}, 10) g;"
                ),
                format!(
                    "INSERT INTO sessions (id, user_id, client, created_at, revoked_at, revoke_reason) \
                     SELECT {session_id}, g, 'standard', {now} - make_interval(secs => g % 86400), NULL, NULL \
                     FROM generate_series(1, {n}) g; \
                     INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at, spent_at) \
                     SELECT lpad(to_hex(g * 4 + k), 64, '0'), {session_id}, \
                     {now} - make_interval(hours => 3 - k), {now} + interval '14 days', \
                     CASE WHEN k < 2 THEN {now} - make_interval(hours => 2 - k) END \
                     FROM generate_series(1, {n}) g CROSS JOIN generate_series(0, 2) k;"
                ),
                format!(
                    "INSERT INTO audit_log (at, kind, user_id, session_id, ip, user_agent) \
                     SELECT {now} - make_interval(secs => {audit} - a), 'login_success', a % {n} + 1, NULL, \
                     '203.0.113.7', 'scale-fill' FROM generate_series(1, {audit}) a;"
                ),
                format!(
                    "INSERT INTO login_throttle (throttle_key, failures, window_start, lockouts, locked_until) \
                     SELECT 'acct:login:scale' || g, 1, {now} - interval '1 minute', 0, NULL \
                     FROM generate_series(1, {small}) g; \
                     INSERT INTO verification_codes (email, purpose, user_id, code_hash, sent_at, expires_at, attempts, verified_at, consumed_at, login_id) \
                     SELECT 'code' || g || '@scale.test', 'SIGN_UP', NULL, lpad(to_hex(g), 64, '0'), \
                     {now} - interval '1 minute', {now} + interval '9 minutes', 0, NULL, NULL, NULL \
                     FROM generate_series(1, {small}) g; \
                     INSERT INTO oauth_states (state_hash, provider, pkce_verifier, created_at, expires_at, browser_hash) \
                     SELECT lpad(to_hex(g), 64, '0'), 'google', NULL, {now}, {now} + interval '10 minutes', NULL \
                     FROM generate_series(1, 1000) g;"
                ),
            ]
        }
        Backend::Sqlite => {
            let now = "strftime('%Y-%m-%d %H:%M:%f', 'now')";
            let ago =
                |secs: &str| format!("strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || ({secs}) || ' seconds')");
            let ahead =
                |secs: &str| format!("strftime('%Y-%m-%d %H:%M:%f', 'now', '+' || ({secs}) || ' seconds')");
            let series = |to: u64| {
                format!("WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {to}) ")
            };
            let user_uuid = "printf('%08x-0000-4000-8000-%012x', g, g)";
            let session_id = "printf('%08x-0000-4000-9000-%012x', g, g)";
            vec![
                format!(
                    "{s}INSERT INTO users (id, uuid, login_id, email, name, profile_image, password_hash, created_at) \
                     SELECT g, {user_uuid}, 'scale' || g, 'scale' || g || '@scale.test', '규모', NULL, '{hash}', {at} \
                     FROM s;",
                    s = series(n),
                    at = ago("g"),
                ),
                format!(
                    "{s}INSERT INTO social_identities (provider, subject, user_id, created_at) \
                     SELECT 'google', 'scale-' || g, g, {now} FROM s WHERE g % 10 = 0; \
                     INSERT INTO apps (app_id, name, created_at) VALUES ('scaleapp', 'Scale', {now}); \
                     {s}INSERT INTO app_users (app_id, kind, user_id, nickname, profile_image_url, friends, created_at, updated_at) \
                     SELECT 'scaleapp', 'own', {user_uuid}, 'nick' || g, NULL, '[]', {now}, {now} FROM s WHERE g % 10 = 5;",
                    s = series(n),
                ),
                format!(
                    "{s}INSERT INTO sessions (id, user_id, client, created_at, revoked_at, revoke_reason) \
                     SELECT {session_id}, g, 'standard', {at}, NULL, NULL FROM s; \
                     {s}INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at, spent_at) \
                     SELECT printf('%064x', g * 4 + k), {session_id}, {issued}, {expires}, \
                     CASE WHEN k < 2 THEN {spent} END \
                     FROM s, (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2);",
                    s = series(n),
                    at = ago("g % 86400"),
                    issued = ago("(3 - k) * 3600"),
                    expires = ahead("14 * 86400"),
                    spent = ago("(2 - k) * 3600"),
                ),
                format!(
                    "{s}INSERT INTO audit_log (at, kind, user_id, session_id, ip, user_agent) \
                     SELECT {at}, 'login_success', g % {n} + 1, NULL, '203.0.113.7', 'scale-fill' FROM s;",
                    s = series(audit),
                    at = ago(&format!("{audit} - g")),
                ),
                format!(
                    "{s}INSERT INTO login_throttle (throttle_key, failures, window_start, lockouts, locked_until) \
                     SELECT 'acct:login:scale' || g, 1, {minute}, 0, NULL FROM s; \
                     {s}INSERT INTO verification_codes (email, purpose, user_id, code_hash, sent_at, expires_at, attempts, verified_at, consumed_at, login_id) \
                     SELECT 'code' || g || '@scale.test', 'SIGN_UP', NULL, printf('%064x', g), {minute}, {nine}, 0, NULL, NULL, NULL FROM s; \
                     {o}INSERT INTO oauth_states (state_hash, provider, pkce_verifier, created_at, expires_at, browser_hash) \
                     SELECT printf('%064x', g), 'google', NULL, {now}, {ten}, NULL FROM s;",
                    s = series(small),
                    o = series(1000),
                    minute = ago("60"),
                    nine = ahead("540"),
                    ten = ahead("600"),
                ),
            ]
        }
    }
}

/// Fills `db` (migrated, empty) with `accounts` accounts and everything
/// listed in the module's documentation, `hash` being the stored password
/// hash of every account. Prints progress to stderr.
///
/// # Errors
/// [`DbError`] when a statement fails (a database that was not empty, say).
pub async fn fill(db: &Database, accounts: u64, hash: &str) -> Result<Filled, DbError> {
    let audit = accounts * 10;
    let backend = db.backend();
    let started = std::time::Instant::now();
    let names = [
        "accounts",
        "links and chat profiles",
        "sessions and refresh history",
        "audit rows",
        "throttle rows, codes, oauth states",
    ];
    for (name, sql) in names.iter().zip(statements(backend, accounts, audit, hash)) {
        let step = std::time::Instant::now();
        let batch = match backend {
            // A big page cache for this connection's inserts into indexes
            // in random order; one transaction per group.
            Backend::Sqlite => format!("PRAGMA cache_size = -262144; BEGIN; {sql} COMMIT;"),
            Backend::Postgres => format!("BEGIN; {sql} COMMIT;"),
        };
        db.execute_raw(&batch).await?;
        eprintln!("[fill {backend}] {name}: {:.1} s", step.elapsed().as_secs_f64());
    }
    // Planner statistics, as autovacuum would have gathered them in a
    // deployment of that age (SQLite keeps none unless asked, and a
    // deployment does not ask: none gathered there).
    // Then the fill's writes are flushed (a checkpoint), so that the
    // measurement rounds do not pay for them.
    match backend {
        // Separate statements: a batch would run in one transaction,
        // where VACUUM may not.
        Backend::Postgres => {
            db.execute_raw("VACUUM ANALYZE").await?;
            db.execute_raw("CHECKPOINT").await?;
        }
        Backend::Sqlite => db.execute_raw("PRAGMA wal_checkpoint(TRUNCATE)").await?,
    }
    eprintln!(
        "[fill {backend}] done in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(Filled {
        accounts,
        audit_rows: audit,
    })
}
