DROP INDEX audit_log_at_idx;
DROP INDEX login_throttle_window_start_idx;
DROP INDEX sessions_created_at_idx;
DROP INDEX sessions_revoked_at_idx;
DROP INDEX refresh_tokens_expires_at_idx;
