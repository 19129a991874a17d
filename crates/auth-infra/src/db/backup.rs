//! A consistent copy of a live SQLite database (`auth-server backup`).
//! PostgreSQL's copy is `pg_dump`'s, run by the command itself.

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl, SqliteConnection};

use super::{DbError, Target};
use crate::redact::redact_database_url;

/// Writes a consistent copy of the SQLite database of `url` to `dest` with
/// `VACUUM INTO`: one read transaction, so the copy is the database as of
/// one moment while servers keep writing (WAL mode lets them). `dest` must
/// not exist (or be empty): SQLite refuses to overwrite a database. The
/// database is opened as it is, unmigrated; a URL that names no existing
/// file is refused rather than created.
///
/// # Errors
/// [`DbError::UnsupportedUrl`] when `url` is not SQLite's,
/// [`DbError::Connect`] when there is no database at its path or it cannot
/// be opened, [`DbError::Query`] when the copy fails (an existing `dest`,
/// a full disk).
pub async fn sqlite_vacuum_into(url: &str, dest: &Path) -> Result<(), DbError> {
    let Target::Sqlite { path } = Target::parse(url)? else {
        return Err(DbError::UnsupportedUrl(redact_database_url(url)));
    };
    // `file:` URIs (with their query) are SQLite's to resolve.
    if !path.starts_with("file:") && !Path::new(&path).is_file() {
        return Err(DbError::Connect(format!("no SQLite database at {path}")));
    }
    let dest = dest
        .to_str()
        .ok_or(DbError::Corrupt("the backup path is not valid UTF-8"))?
        .to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = SqliteConnection::establish(&path).map_err(|e| DbError::Connect(e.to_string()))?;
        // Wait for, rather than fail on, a writer's lock while the read
        // transaction starts.
        conn.batch_execute("PRAGMA busy_timeout = 5000;")?;
        diesel::sql_query("VACUUM INTO ?")
            .bind::<diesel::sql_types::Text, _>(dest)
            .execute(&mut conn)?;
        Ok(())
    })
    .await?
}
