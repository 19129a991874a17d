-- Login CSRF defence (sqlite): a flow started by a browser (GET
-- /api/auth/{provider}) stores the SHA-256 of a random nonce that the same
-- browser holds in an HttpOnly cookie; the callback must bring it back.
-- NULL for flows whose URL was handed to an application (POST
-- /api/auth/{provider}/login), and for flows started before this migration,
-- which keep working until they expire (10 minutes).
-- Keep in step with ../../postgres and schema.rs.
ALTER TABLE oauth_states ADD COLUMN browser_hash TEXT;
