-- The admin user search (`GET /internal/users?query=…`) through an index
-- (postgres), issue 18: a substring of a login id, email or name is found
-- through trigram GIN indexes (pg_trgm) instead of reading every account
-- (a million accounts: 2.5 searches/s before, see docs/performance.md).
-- Keep in step with ../../sqlite. Checked by tests/tests/query_plans.rs.
--
-- The index expressions are exactly the ones the adapter's filter uses
-- (crates/auth-infra/src/db/users.rs), or the planner cannot match them.
--
-- pg_trgm ships with PostgreSQL (contrib) and is a trusted extension: the
-- owner of the database may create it. Where it is not installed or may
-- not be created, the migration still succeeds without these indexes and
-- the search reads the table as before (a NOTICE says so); create the
-- extension and the indexes by hand later (docs/operations.md).
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm unavailable (%): the admin user search reads the users table', SQLERRM;
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX users_login_id_trgm_idx ON users
            USING gin (lower(COALESCE(login_id, '')) gin_trgm_ops);
        CREATE INDEX users_email_trgm_idx ON users USING gin (lower(email) gin_trgm_ops);
        CREATE INDEX users_name_trgm_idx ON users USING gin (lower(name) gin_trgm_ops);
    END IF;
END
$$;
