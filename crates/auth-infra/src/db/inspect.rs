//! What tests and benchmarks read of a database besides the ports: raw SQL,
//! row counts, the schema's columns, sizes and query plans. Kept apart from
//! the pool and the migrations in `mod.rs`.

use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl};

use super::{AnyConnection, Backend, Database, DbError};

impl Database {
    /// Runs raw SQL statements (test fixtures, e.g. rows of an older schema).
    ///
    /// # Errors
    /// [`DbError`] when no connection is available or a statement fails.
    #[cfg(feature = "test-support")]
    pub async fn execute_raw(&self, sql: &str) -> Result<(), DbError> {
        let sql = sql.to_owned();
        self.with_conn(move |conn| conn.batch_execute(&sql))
            .await?
            .map_err(DbError::from)
    }

    /// How many rows `table` holds (a test's view of what was stored).
    ///
    /// # Errors
    /// [`DbError`] when no connection is available or the query fails
    /// (an unknown table, say).
    #[cfg(feature = "test-support")]
    pub async fn count_rows(&self, table: &str) -> Result<i64, DbError> {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        // Tests name the table; refuse anything but an identifier anyway.
        if !table.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(DbError::Corrupt("count_rows takes a table name"));
        }
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        self.with_conn(move |conn| diesel::sql_query(sql).get_result::<Count>(conn).map(|c| c.n))
            .await?
            .map_err(DbError::from)
    }

    /// Every `(table, column)` of the migrated schema, sorted, without
    /// diesel's own bookkeeping table: lets a test hold the SQLite and
    /// PostgreSQL migrations in step. SQLite's full-text index of the
    /// user search (`users_search` and its shadow tables) is left out: it
    /// is an index, the counterpart of PostgreSQL's trigram indexes.
    ///
    /// # Errors
    /// [`DbError`] when no connection is available or the query fails.
    #[cfg(feature = "test-support")]
    pub async fn columns(&self) -> Result<Vec<(String, String)>, DbError> {
        #[derive(diesel::QueryableByName)]
        struct Column {
            #[diesel(sql_type = diesel::sql_types::Text)]
            t: String,
            #[diesel(sql_type = diesel::sql_types::Text)]
            c: String,
        }
        let sql = match self.backend() {
            Backend::Sqlite => {
                "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
                 AND m.name NOT LIKE 'users_search%'"
            }
            Backend::Postgres => {
                "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
                 WHERE table_schema = current_schema()"
            }
        };
        let mut rows = self
            .with_conn(move |conn| diesel::sql_query(sql).load::<Column>(conn))
            .await?
            .map_err(DbError::from)?
            .into_iter()
            .filter(|r| r.t != "__diesel_schema_migrations")
            .map(|r| (r.t, r.c))
            .collect::<Vec<_>>();
        rows.sort();
        Ok(rows)
    }

    /// The text column `value` of every row `sql` selects (a test's view
    /// of what was stored).
    ///
    /// # Errors
    /// [`DbError`] when no connection is available or the query fails.
    #[cfg(feature = "test-support")]
    pub async fn raw_strings(&self, sql: &str) -> Result<Vec<String>, DbError> {
        #[derive(diesel::QueryableByName)]
        struct Text {
            #[diesel(sql_type = diesel::sql_types::Text)]
            value: String,
        }
        let sql = sql.to_owned();
        self.with_conn(move |conn| diesel::sql_query(sql).load::<Text>(conn))
            .await?
            .map(|rows| rows.into_iter().map(|r| r.value).collect())
            .map_err(DbError::from)
    }

    /// The size of the database in bytes: PostgreSQL's
    /// `pg_database_size`, or SQLite's page count × page size (without the
    /// WAL file).
    ///
    /// # Errors
    /// [`DbError`] when no connection is available or the query fails.
    #[cfg(feature = "test-support")]
    pub async fn database_bytes(&self) -> Result<i64, DbError> {
        #[derive(diesel::QueryableByName)]
        struct Size {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let sql = match self.backend {
            Backend::Postgres => "SELECT pg_database_size(current_database()) AS n",
            Backend::Sqlite => {
                "SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()"
            }
        };
        self.with_conn(move |conn| diesel::sql_query(sql).get_result::<Size>(conn).map(|s| s.n))
            .await?
            .map_err(DbError::from)
    }

    /// The plan the database would use for `sql`, one line per plan row:
    /// SQLite's `EXPLAIN QUERY PLAN` details, or PostgreSQL's text
    /// `EXPLAIN` with `enable_seqscan = off` (set for this transaction
    /// only), so that even a tiny table shows whether an index *can* serve
    /// the statement: a `Seq Scan` left in the plan means none can. The
    /// statement itself is not run (no `ANALYZE`).
    ///
    /// # Errors
    /// [`DbError`] when no connection is available or `sql` does not parse.
    #[cfg(feature = "test-support")]
    pub async fn explain(&self, sql: &str) -> Result<Vec<String>, DbError> {
        #[derive(diesel::QueryableByName)]
        struct SqlitePlan {
            #[diesel(sql_type = diesel::sql_types::Text)]
            detail: String,
        }
        #[derive(diesel::QueryableByName)]
        struct PgPlan {
            #[diesel(sql_type = diesel::sql_types::Text)]
            #[diesel(column_name = "QUERY PLAN")]
            line: String,
        }
        let sql = sql.to_owned();
        self.with_conn(move |conn| match conn {
            AnyConnection::Sqlite(c) => diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                .load::<SqlitePlan>(c)
                .map(|rows| rows.into_iter().map(|r| r.detail).collect()),
            AnyConnection::Postgres(c) => c.transaction(|c| {
                c.batch_execute("SET LOCAL enable_seqscan = off")?;
                diesel::sql_query(format!("EXPLAIN {sql}"))
                    .load::<PgPlan>(c)
                    .map(|rows| rows.into_iter().map(|r| r.line).collect())
            }),
        })
        .await?
        .map_err(DbError::from)
    }
}
