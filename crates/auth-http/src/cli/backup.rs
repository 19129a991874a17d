//! `auth-server backup FILE`: a consistent copy of the configured database,
//! taken while servers use it. SQLite: `VACUUM INTO` (one read transaction;
//! writers carry on in WAL mode). PostgreSQL: `pg_dump --format=custom`
//! (one snapshot), which must be on `PATH`.
//!
//! The copy is written beside FILE under a temporary name and linked into
//! place at the end, so a failed backup leaves no half file; an existing
//! FILE is refused, never overwritten. The restore procedures are in
//! `docs/operations.md` ("Backup and restore") and are what
//! `tests/backup_restore.rs` does.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use auth_infra::redact_database_url;

use crate::settings::Settings;

/// Why `auth-server backup` failed. Nothing is left at FILE either way.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// FILE exists; a backup never replaces a file.
    #[error("{} already exists: a backup never overwrites a file; choose a new name", .0.display())]
    Exists(PathBuf),
    /// A file operation around the copy failed.
    #[error("{what} {}: {source}", .path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file it was done to.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The SQLite database could not be opened or copied.
    #[error("SQLite backup failed: {0}")]
    Sqlite(#[from] auth_infra::DbError),
    /// The configuration is PostgreSQL's and `pg_dump` cannot be run.
    #[error(
        "pg_dump could not be run ({0}): install PostgreSQL's client tools (pg_dump, of the \
         server's major version or newer) and put them on PATH; the backup is \
         `pg_dump --format=custom`"
    )]
    NoPgDump(String),
    /// `pg_dump` ran and failed.
    #[error("pg_dump failed ({status}): {stderr}")]
    PgDump {
        /// Its exit status.
        status: String,
        /// What it wrote on stderr, the database password removed.
        stderr: String,
    },
}

/// `auth-server backup FILE`: writes a consistent copy of the database of
/// `AUTH_DATABASE_URL` to `file` and returns
/// `{"backend":"sqlite","file","bytes"}`, or for PostgreSQL
/// `{"backend":"postgresql","file","bytes","pgDumpVersion"}`; says on
/// stderr how to restore. The database is read as it is (not migrated).
///
/// # Errors
/// [`BackupError`]; `file` is then absent, or untouched when it existed.
pub async fn backup(settings: &Settings, file: &Path) -> Result<serde_json::Value, BackupError> {
    if file.symlink_metadata().is_ok() {
        return Err(BackupError::Exists(file.to_path_buf()));
    }
    let partial = reserve_partial(file)?;
    let url = settings.database.url.trim();
    let postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
    let made = if postgres {
        pg_dump(url, &partial).map(Some)
    } else {
        auth_infra::db::sqlite_vacuum_into(url, &partial)
            .await
            .map(|()| None)
            .map_err(BackupError::from)
    };
    let published = made.and_then(|version| Ok((version, publish(&partial, file)?)));
    let (version, bytes) = match published {
        Ok(done) => done,
        Err(e) => {
            // Ours (created by `reserve_partial`); FILE itself was never written.
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    let shown = file.display().to_string();
    Ok(match version {
        Some(version) => {
            eprintln!(
                "auth-server: restore into a new, empty database with \
                 `pg_restore --no-owner --dbname NEWDB {shown}` (docs/operations.md)"
            );
            serde_json::json!({"backend": "postgresql", "file": shown, "bytes": bytes, "pgDumpVersion": version})
        }
        None => {
            eprintln!(
                "auth-server: restore by copying {shown} to the database's path while no server \
                 runs on it (docs/operations.md)"
            );
            serde_json::json!({"backend": "sqlite", "file": shown, "bytes": bytes})
        }
    })
}

/// Creates the empty temporary file beside `file` that the copy is written
/// to (`.NAME.partial-PID`), as an absolute path: SQLite would read a path
/// beginning with `file:` as a URI. Created here, so a failure removes
/// only what this command made; `VACUUM INTO` accepts an empty file.
fn reserve_partial(file: &Path) -> Result<PathBuf, BackupError> {
    let io = |what, source| BackupError::Io {
        what,
        path: file.to_path_buf(),
        source,
    };
    let name = file.file_name().ok_or_else(|| {
        io(
            "not a file name:",
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "no final component"),
        )
    })?;
    let parent = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = std::path::absolute(parent).map_err(|e| io("cannot resolve the folder of", e))?;
    let mut partial_name = std::ffi::OsString::from(".");
    partial_name.push(name);
    partial_name.push(format!(".partial-{}", std::process::id()));
    let partial = dir.join(partial_name);
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&partial)
        .map_err(|source| BackupError::Io {
            what: "cannot create",
            path: partial.clone(),
            source,
        })?;
    Ok(partial)
}

/// Flushes the finished copy to disk and links it to `file`, which must
/// still not exist (checked by the link itself); returns its size.
fn publish(partial: &Path, file: &Path) -> Result<u64, BackupError> {
    let io = |what, source| BackupError::Io {
        what,
        path: file.to_path_buf(),
        source,
    };
    std::fs::File::open(partial)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("cannot flush the copy for", e))?;
    match std::fs::hard_link(partial, file) {
        Ok(()) => {
            let _ = std::fs::remove_file(partial);
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(BackupError::Exists(file.to_path_buf()));
        }
        // A filesystem without hard links: a rename would replace, so look
        // first (a file appearing in between is the one race left).
        Err(_) => {
            if file.symlink_metadata().is_ok() {
                return Err(BackupError::Exists(file.to_path_buf()));
            }
            std::fs::rename(partial, file).map_err(|e| io("cannot move the copy to", e))?;
        }
    }
    if let Some(dir) = partial.parent()
        && let Ok(dir) = std::fs::File::open(dir)
    {
        // The new name is durable too; not every platform can sync a folder.
        let _ = dir.sync_all();
    }
    std::fs::metadata(file)
        .map(|m| m.len())
        .map_err(|e| io("cannot read", e))
}

/// Runs `pg_dump --format=custom` on `url` into `dest`; returns
/// `pg_dump --version`'s line. The password goes through `PGPASSWORD`,
/// not the command line (which `ps` shows), and never into a message.
fn pg_dump(url: &str, dest: &Path) -> Result<String, BackupError> {
    let version = Command::new("pg_dump")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| BackupError::NoPgDump(format!("pg_dump --version: {e}")))?;
    if !version.status.success() {
        return Err(BackupError::NoPgDump(format!(
            "pg_dump --version exited with {}",
            version.status
        )));
    }
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    let (dbname, password) = split_password(url);
    let mut command = Command::new("pg_dump");
    command
        .args(["--format=custom", "--no-password", "--file"])
        .arg(dest)
        .arg("--dbname")
        .arg(&dbname)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    if let Some(password) = &password {
        command.env("PGPASSWORD", password);
    }
    let out = command
        .output()
        .map_err(|e| BackupError::NoPgDump(format!("pg_dump: {e}")))?;
    if out.status.success() {
        return Ok(version);
    }
    let mut stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    stderr = stderr.replace(url, &redact_database_url(url));
    if let Some(password) = password.filter(|p| !p.is_empty()) {
        stderr = stderr.replace(&password, "***");
    }
    Err(BackupError::PgDump {
        status: out.status.to_string(),
        stderr,
    })
}

/// `url` without its password (in the user part or a `password=`
/// parameter), and that password, percent-decoded as libpq reads it.
fn split_password(url: &str) -> (String, Option<String>) {
    let Some(scheme_end) = url.find("://") else {
        return (url.to_owned(), None);
    };
    let (scheme, rest) = url.split_at(scheme_end + 3);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let mut password = None;
    let authority = match authority.rfind('@') {
        Some(at) => match authority[..at].split_once(':') {
            Some((user, secret)) => {
                password = Some(percent_decode(secret));
                format!("{user}{}", &authority[at..])
            }
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let mut kept = Vec::new();
            for pair in query.split('&') {
                match pair.split_once('=') {
                    Some((key, value)) if key.eq_ignore_ascii_case("password") => {
                        password = Some(percent_decode(value));
                    }
                    _ => kept.push(pair),
                }
            }
            if kept.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{}", kept.join("&"))
            }
        }
        None => tail.to_owned(),
    };
    (format!("{scheme}{authority}{tail}"), password)
}

/// Decodes `%XX` escapes; anything else is kept as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url() {
        assert_eq!(
            split_password("postgres://app:s%40cr3t@db:5432/auth?sslmode=require"),
            (
                "postgres://app@db:5432/auth?sslmode=require".to_owned(),
                Some("s@cr3t".to_owned())
            )
        );
        assert_eq!(
            split_password("postgresql://app@db/auth?password=pw&sslmode=disable"),
            (
                "postgresql://app@db/auth?sslmode=disable".to_owned(),
                Some("pw".to_owned())
            )
        );
        assert_eq!(
            split_password("postgres://db/auth?password=pw"),
            ("postgres://db/auth".to_owned(), Some("pw".to_owned()))
        );
        assert_eq!(
            split_password("postgres://postgres@127.0.0.1:5432/x"),
            ("postgres://postgres@127.0.0.1:5432/x".to_owned(), None)
        );
        assert_eq!(percent_decode("a%zz%2"), "a%zz%2");
    }
}
