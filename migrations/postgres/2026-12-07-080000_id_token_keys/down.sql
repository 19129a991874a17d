-- Back to access-token keys only, `generation` unique across the table
-- (the ID-token keys are dropped).

DELETE FROM signing_keys WHERE purpose <> 'access';
ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_purpose_generation_key;
ALTER TABLE signing_keys DROP COLUMN purpose;
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_generation_key UNIQUE (generation);
