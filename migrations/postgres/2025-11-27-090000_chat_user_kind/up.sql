-- Chat identities (postgres): an application's users and this service's
-- users are separate namespaces inside an application, so a profile is keyed
-- by (app_id, kind, user_id) where kind is 'app' (the id is the `sub` of a
-- token the application signed) or 'own' (the id is one of our users' UUIDs,
-- from our own access token). Keep in step with ../../sqlite and schema.rs.
--
-- Existing rows: before this migration our own users' profiles were stored
-- under their UUID and applications' users under whatever `sub` they chose.
-- A row whose user_id is the UUID of one of our users becomes 'own' (our
-- UUIDs are random v4, so an application's honest ids never equal one; a row
-- an application minted with our user's UUID was that user's profile
-- overwritten, and stays with our user, who replaces it at the next login).
-- Every other row is 'app'. The column has no default afterwards: every
-- writer states the kind.

ALTER TABLE app_users
    ADD COLUMN kind TEXT NOT NULL DEFAULT 'app' CHECK (kind IN ('app', 'own'));

UPDATE app_users SET kind = 'own'
WHERE EXISTS (SELECT 1 FROM users WHERE users.uuid = app_users.user_id);

ALTER TABLE app_users ALTER COLUMN kind DROP DEFAULT;

ALTER TABLE app_users DROP CONSTRAINT app_users_pkey;

ALTER TABLE app_users ADD PRIMARY KEY (app_id, kind, user_id);
