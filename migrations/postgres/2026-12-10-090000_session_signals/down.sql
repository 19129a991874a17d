DROP TABLE session_signals;
ALTER TABLE oauth_clients DROP COLUMN all_sessions;
