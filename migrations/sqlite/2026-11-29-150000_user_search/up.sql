-- The admin user search (`GET /internal/users?query=…`) through an index
-- (sqlite), issue 18: a substring of a login id, email or name is found
-- through a trigram full-text index instead of reading every account
-- (a million accounts: 1.6 searches/s before, see docs/performance.md).
-- Keep in step with ../../postgres and schema.rs (which does not list
-- virtual tables). Checked by tests/tests/query_plans.rs.
--
-- An external-content FTS5 table: it stores only the index; the columns
-- are read from `users`. The triggers keep it in step with every insert,
-- update of a searched column and delete, and `rebuild` indexes the
-- accounts already stored. Queries shorter than three characters (fewer
-- than one trigram) cannot use it; the adapter reads `users` for those.
CREATE VIRTUAL TABLE users_search USING fts5(
    login_id, email, name,
    content = 'users', content_rowid = 'id', tokenize = 'trigram'
);

CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_search (rowid, login_id, email, name)
    VALUES (new.id, new.login_id, new.email, new.name);
END;

CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_search (users_search, rowid, login_id, email, name)
    VALUES ('delete', old.id, old.login_id, old.email, old.name);
END;

CREATE TRIGGER users_search_update AFTER UPDATE OF login_id, email, name ON users BEGIN
    INSERT INTO users_search (users_search, rowid, login_id, email, name)
    VALUES ('delete', old.id, old.login_id, old.email, old.name);
    INSERT INTO users_search (rowid, login_id, email, name)
    VALUES (new.id, new.login_id, new.email, new.name);
END;

INSERT INTO users_search (users_search) VALUES ('rebuild');
