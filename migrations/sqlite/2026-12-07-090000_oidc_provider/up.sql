-- The OpenID provider (issue 28), sqlite. Lists (redirect URIs, grants,
-- scopes) are space-separated: none of their items may hold whitespace.
-- Codes and client secrets are stored as SHA-256 hex only. A grant is the
-- session an authorization-code exchange opened for one client; a code
-- remembers it (grant_session) so a replay revokes it.
-- Keep in step with ../../postgres and schema.rs.

CREATE TABLE oauth_clients (
    client_id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    secret_hash TEXT,
    redirect_uris TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    grant_types TEXT NOT NULL,
    auth_method TEXT NOT NULL,
    scopes TEXT NOT NULL,
    first_party BOOLEAN NOT NULL,
    id_token_alg TEXT NOT NULL,
    backchannel_logout_uri TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE oauth_codes (
    code_hash TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    browser_session TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT NOT NULL,
    auth_time TIMESTAMP NOT NULL,
    amr TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    replayed_at TIMESTAMP,
    grant_session TEXT
);
CREATE INDEX oauth_codes_expires_at ON oauth_codes (expires_at);

CREATE TABLE oauth_grants (
    session_id TEXT PRIMARY KEY NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    browser_session TEXT,
    scope TEXT NOT NULL,
    auth_time TIMESTAMP NOT NULL,
    amr TEXT NOT NULL
);
CREATE INDEX oauth_grants_browser_session ON oauth_grants (browser_session);

CREATE TABLE oauth_consents (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    granted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
