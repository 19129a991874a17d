-- Social login (PostgreSQL). Keep in step with ../../sqlite and with
-- crates/auth-infra/src/db/schema.rs.

-- Which user each (provider, subject) pair belongs to. The primary key makes
-- a pair map to exactly one user; the user's deletion removes the link.
CREATE TABLE social_identities (
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (provider, subject)
);

CREATE INDEX social_identities_user_id_idx ON social_identities (user_id);

-- Started social logins awaiting their callback: the SHA-256 of the `state`,
-- and the PKCE verifier for providers that support it. A callback deletes its
-- row (single use); expired rows are purged when new flows start.
CREATE TABLE oauth_states (
    state_hash TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    pkce_verifier TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

CREATE INDEX oauth_states_expires_at_idx ON oauth_states (expires_at);
