-- Login throttling (sqlite): failed password checks per key (`acct:login:…`,
-- `acct:email:…`, `ip:…`), shared by every instance.
-- Keep in step with ../../postgres and schema.rs.

CREATE TABLE login_throttle (
    throttle_key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    window_start TIMESTAMP NOT NULL,
    lockouts BIGINT NOT NULL,
    locked_until TIMESTAMP
);
