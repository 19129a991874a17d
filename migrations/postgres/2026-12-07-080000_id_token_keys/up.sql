-- ID-token signing keys (OpenID Connect) beside the access-token keys:
-- `purpose` names the ring a key belongs to (`access`, or `id:RS256`,
-- `id:ES256`, `id:EdDSA`), and `generation` counts within a purpose, so
-- each ring's racing first starts and rotations still agree on one key
-- per generation. Existing keys are access keys.
-- Keep in step with ../../sqlite and schema.rs.

ALTER TABLE signing_keys ADD COLUMN purpose TEXT NOT NULL DEFAULT 'access';
ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_generation_key;
ALTER TABLE signing_keys
    ADD CONSTRAINT signing_keys_purpose_generation_key UNIQUE (purpose, generation);
