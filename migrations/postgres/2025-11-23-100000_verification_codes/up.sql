-- Emailed verification codes (PostgreSQL): at most one per email; only a hash of
-- the code is stored. Keep in step with ../../sqlite and schema.rs.

CREATE TABLE verification_codes (
    email TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    sent_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    verified_at TIMESTAMP,
    consumed_at TIMESTAMP
);

CREATE INDEX verification_codes_user_id_idx ON verification_codes (user_id);
