-- Back to access-token keys only, `generation` unique across the table
-- (the ID-token keys are dropped). Rebuilt as in up.sql.

CREATE TABLE signing_keys_old (
    kid TEXT PRIMARY KEY NOT NULL,
    generation BIGINT NOT NULL UNIQUE,
    alg TEXT NOT NULL,
    private_key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    activates_at TIMESTAMP NOT NULL
);

INSERT INTO signing_keys_old (kid, generation, alg, private_key, created_at, activates_at)
SELECT kid, generation, alg, private_key, created_at, activates_at FROM signing_keys
WHERE purpose = 'access';

DROP TABLE signing_keys;

ALTER TABLE signing_keys_old RENAME TO signing_keys;
