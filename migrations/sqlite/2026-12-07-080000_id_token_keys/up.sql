-- ID-token signing keys (OpenID Connect) beside the access-token keys:
-- `purpose` names the ring a key belongs to (`access`, or `id:RS256`,
-- `id:ES256`, `id:EdDSA`), and `generation` counts within a purpose, so
-- each ring's racing first starts and rotations still agree on one key
-- per generation. Existing keys are access keys.
-- SQLite cannot drop a UNIQUE constraint: the table is rebuilt (create,
-- copy, drop, rename). Keep in step with ../../postgres and schema.rs.

CREATE TABLE signing_keys_new (
    kid TEXT PRIMARY KEY NOT NULL,
    generation BIGINT NOT NULL,
    alg TEXT NOT NULL,
    private_key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    activates_at TIMESTAMP NOT NULL,
    purpose TEXT NOT NULL DEFAULT 'access',
    UNIQUE (purpose, generation)
);

INSERT INTO signing_keys_new (kid, generation, alg, private_key, created_at, activates_at, purpose)
SELECT kid, generation, alg, private_key, created_at, activates_at, 'access' FROM signing_keys;

DROP TABLE signing_keys;

ALTER TABLE signing_keys_new RENAME TO signing_keys;
