-- The `chat` contract (postgres): registered applications and each user's
-- profile inside one. An application's signing secret is not stored: it is
-- derived from the `apps_hmac` row of server_keys and the app_id.
-- Keep in step with ../../sqlite and schema.rs.

CREATE TABLE apps (
    app_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE app_users (
    app_id TEXT NOT NULL REFERENCES apps (app_id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    nickname TEXT,
    profile_image_url TEXT,
    -- A JSON array of strings.
    friends TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (app_id, user_id)
);
