-- Whether the account's email address was proven (issue 26): false only for
-- accounts imported with `emailVerified: false` until their owner proves the
-- address with an emailed code (a password reset). A social login never
-- joins an account whose address is unproven.
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT 1;
