DROP INDEX IF EXISTS users_name_trgm_idx;
DROP INDEX IF EXISTS users_email_trgm_idx;
DROP INDEX IF EXISTS users_login_id_trgm_idx;
