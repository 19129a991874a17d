-- Roles of accounts (issue 30), postgres: today only 'admin', who may enter
-- the admin console. A row per (user, role) held; granting twice stores
-- nothing more (the primary key, ON CONFLICT DO NOTHING). The role goes
-- with its account (ON DELETE CASCADE). Times are UTC in TIMESTAMP
-- (without time zone) columns.
-- Keep in step with ../../sqlite and schema.rs.

CREATE TABLE user_roles (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    granted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, role)
);
