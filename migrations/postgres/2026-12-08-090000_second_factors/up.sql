-- Second factors (TOTP, recovery codes, passkeys) and the second step of a
-- login that needs one, postgres. Times are UTC in TIMESTAMP (without time
-- zone) columns.
-- Secrets the client holds (mfaToken, recovery codes, ceremony ids) are
-- stored as SHA-256 hex only; binary ids (WebAuthn credential ids) as hex.
-- TOTP secrets and passkey data are 'plain:…' or, under the key-encryption
-- key, 'xchacha20poly1305:…' sealed with the row's identity as associated
-- data. Lists (first_factor, amr) are space-separated RFC 8176 values.
-- Keep in step with ../../sqlite and schema.rs.

CREATE TABLE mfa_totp (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    confirmed_at TIMESTAMP,
    last_step BIGINT,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE mfa_recovery_codes (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE mfa_passkeys (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL CONSTRAINT mfa_passkeys_credential_id_key UNIQUE,
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    backup_eligible BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
CREATE INDEX mfa_passkeys_user_id ON mfa_passkeys (user_id);

CREATE TABLE mfa_pending (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    contract TEXT NOT NULL,
    first_factor TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    passkey_state TEXT
);
CREATE INDEX mfa_pending_expires_at ON mfa_pending (expires_at);
CREATE INDEX mfa_pending_user_id ON mfa_pending (user_id);

CREATE TABLE mfa_ceremonies (
    id_hash TEXT PRIMARY KEY,
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX mfa_ceremonies_expires_at ON mfa_ceremonies (expires_at);
CREATE INDEX mfa_ceremonies_user_id ON mfa_ceremonies (user_id);

-- How the user signed in to each session (RFC 8176 values, space-separated;
-- '' for the sessions opened before this column existed).
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '';
