ALTER TABLE sessions DROP COLUMN amr;
DROP TABLE mfa_ceremonies;
DROP TABLE mfa_pending;
DROP TABLE mfa_passkeys;
DROP TABLE mfa_recovery_codes;
DROP TABLE mfa_totp;
