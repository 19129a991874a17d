-- Session-ended signals for services (issue 31), postgres: the outbox of
-- OpenID Connect Back-Channel Logout deliveries and the RFC 8936 poll feed.
-- A row per (ended session, client that hears of it), written in the same
-- transaction that ends the session; any instance delivers a row (taken
-- with FOR UPDATE SKIP LOCKED and leased through next_attempt_at). No
-- foreign keys: a row outlives its session, its user (withdrawal deletes
-- them) and even its client (then it is given up). Times are UTC.
-- Keep in step with ../../sqlite and schema.rs.

ALTER TABLE oauth_clients ADD COLUMN all_sessions BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE session_signals (
    id BIGSERIAL PRIMARY KEY,
    jti TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    reason TEXT NOT NULL,
    ended_at TIMESTAMP NOT NULL,
    push BOOLEAN NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP,
    gave_up_at TIMESTAMP,
    last_error TEXT,
    acked_at TIMESTAMP
);
CREATE INDEX session_signals_due ON session_signals (next_attempt_at)
    WHERE push AND delivered_at IS NULL AND gave_up_at IS NULL;
CREATE INDEX session_signals_feed ON session_signals (client_id, id) WHERE acked_at IS NULL;
CREATE INDEX session_signals_ended_at ON session_signals (ended_at);
