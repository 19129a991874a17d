-- The admin API (sqlite). Keep in step with ../../postgres and schema.rs.

-- An administrator can disable an account: no login on any contract while
-- set (its sessions are revoked when it is set).
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMP;

-- What the admin API shows of a session: the client of the login that
-- opened it, and when a refresh last used it. NULL for sessions opened
-- before this migration.
ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE sessions ADD COLUMN last_refreshed_at TIMESTAMP;

-- An application's secret is derived from the master key, its id and this
-- number; rotating the secret adds one, which retires the old secret.
-- Existing applications keep version 0, whose secret is the one they have.
ALTER TABLE apps ADD COLUMN secret_version BIGINT NOT NULL DEFAULT 0;

-- What an administrator's action acted on (`user:7`, `session:<sid>`,
-- `app:<id>`); NULL for other events.
ALTER TABLE audit_log ADD COLUMN target TEXT;
