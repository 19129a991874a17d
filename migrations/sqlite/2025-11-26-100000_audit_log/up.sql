-- The audit trail (sqlite): security events with time, user, session, client
-- IP and user agent; never a secret. No foreign keys: the trail outlives
-- deleted users and sessions. Keep in step with ../../postgres and schema.rs.

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TIMESTAMP NOT NULL,
    kind TEXT NOT NULL,
    user_id BIGINT,
    session_id TEXT,
    ip TEXT,
    user_agent TEXT
);

CREATE INDEX audit_log_user ON audit_log (user_id, id);
