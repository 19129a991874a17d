-- Indexes for the scheduled purge (sqlite), issue 18: each purge statement
-- finds its rows through an index instead of reading the whole table, so a
-- purge costs what it deletes, not what is stored (a million sessions, ten
-- million audit rows). Checked by tests/tests/contract/query_plans.rs.
-- Keep in step with ../../postgres and schema.rs.

-- Spent and unused refresh records past their expiry.
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);
-- Revoked sessions, and sessions created before the refresh horizon.
CREATE INDEX sessions_revoked_at_idx ON sessions (revoked_at);
CREATE INDEX sessions_created_at_idx ON sessions (created_at);
-- Throttle counters whose window is over.
CREATE INDEX login_throttle_window_start_idx ON login_throttle (window_start);
-- Audit retention (AUTH_AUDIT_RETENTION_DAYS).
CREATE INDEX audit_log_at_idx ON audit_log (at);
