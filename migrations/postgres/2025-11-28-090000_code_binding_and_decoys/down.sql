DROP TABLE code_decoys;
DROP INDEX verification_codes_expires_at_idx;
ALTER TABLE verification_codes DROP COLUMN login_id;
