-- Signing keys of access tokens (issue 13), shared by every instance.
-- `generation` is unique: the first key is 1, a rotation adds the highest
-- plus one, so racing first starts or rotations cannot add two keys of one
-- generation. `private_key` is `pem:` + PKCS#8 PEM, or
-- `xchacha20poly1305:` + base64(nonce || sealed PEM) under the configured
-- key-encryption key. A key signs from `activates_at` until a newer key
-- activates. Keep in step with ../../postgres and schema.rs.

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    generation BIGINT NOT NULL UNIQUE,
    alg TEXT NOT NULL,
    private_key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    activates_at TIMESTAMP NOT NULL
);
