-- Emailed codes, second step (sqlite). Keep in step with ../../postgres and schema.rs.
--
-- A SIGN_UP verification is bound to the login id it was sent or first
-- checked for, and opens the sign-up of that login id only.
ALTER TABLE verification_codes ADD COLUMN login_id TEXT;

-- Codes the purge job deletes are found by expiry.
CREATE INDEX verification_codes_expires_at_idx ON verification_codes (expires_at);

-- A FORGET_PASSWORD request that matches no account keeps its resend
-- cooldown here, keyed by a SHA-256 of (email, login id), and never touches
-- the email's code. Rows are useless once expires_at has passed.
CREATE TABLE code_decoys (
    key_hash TEXT PRIMARY KEY NOT NULL,
    sent_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

CREATE INDEX code_decoys_expires_at_idx ON code_decoys (expires_at);

-- Decoys the previous version stored in place of the email's code: never
-- usable (no account), they only delayed the owner's next request.
DELETE FROM verification_codes WHERE purpose = 'FORGET_PASSWORD' AND user_id IS NULL;
