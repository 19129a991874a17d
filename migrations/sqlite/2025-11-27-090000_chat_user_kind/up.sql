-- Chat identities (sqlite): an application's users and this service's users
-- are separate namespaces inside an application, so a profile is keyed by
-- (app_id, kind, user_id) where kind is 'app' (the id is the `sub` of a
-- token the application signed) or 'own' (the id is one of our users' UUIDs,
-- from our own access token). Keep in step with ../../postgres and schema.rs.
--
-- Existing rows: before this migration our own users' profiles were stored
-- under their UUID and applications' users under whatever `sub` they chose.
-- A row whose user_id is the UUID of one of our users becomes 'own' (our
-- UUIDs are random v4, so an application's honest ids never equal one; a row
-- an application minted with our user's UUID was that user's profile
-- overwritten, and stays with our user, who replaces it at the next login).
-- Every other row is 'app'. SQLite cannot change a primary key in place: the
-- table is rebuilt.

CREATE TABLE app_users_new (
    app_id TEXT NOT NULL REFERENCES apps (app_id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('app', 'own')),
    user_id TEXT NOT NULL,
    nickname TEXT,
    profile_image_url TEXT,
    -- A JSON array of strings.
    friends TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (app_id, kind, user_id)
);

INSERT INTO app_users_new
    (app_id, kind, user_id, nickname, profile_image_url, friends, created_at, updated_at)
SELECT
    app_id,
    CASE WHEN EXISTS (SELECT 1 FROM users WHERE users.uuid = app_users.user_id) THEN 'own' ELSE 'app' END,
    user_id, nickname, profile_image_url, friends, created_at, updated_at
FROM app_users;

DROP TABLE app_users;

ALTER TABLE app_users_new RENAME TO app_users;
