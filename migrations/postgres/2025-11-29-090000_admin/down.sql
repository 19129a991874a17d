ALTER TABLE audit_log DROP COLUMN target;
ALTER TABLE apps DROP COLUMN secret_version;
ALTER TABLE sessions DROP COLUMN last_refreshed_at;
ALTER TABLE sessions DROP COLUMN user_agent;
ALTER TABLE sessions DROP COLUMN ip;
ALTER TABLE users DROP COLUMN disabled_at;
