//! `auth-server users import`: newline-delimited JSON accounts from a file
//! or standard input, through the reader `POST /internal/users/import`
//! uses, with the refused lines written to a rejects file.

use crate::admin::import::ndjson::{MAX_LINE_BYTES, NdjsonImport};
use crate::admin::views::{CliImportReport, ImportReportView, RejectView};
use crate::settings::Settings;
use crate::startup::{StartupError, import_service, open_database};

use super::output;

/// Why `auth-server users import` or `users show` failed.
#[derive(Debug, thiserror::Error)]
pub enum UsersCommandError {
    /// The database or the service could not be set up.
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// An argument is invalid.
    #[error("{0}")]
    Invalid(String),
    /// The input or the rejects file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// No user has that id, login id or email.
    #[error("no user is {0}")]
    UnknownUser(String),
    /// The database failed; accounts of the batch in progress are absent,
    /// earlier ones stored: running the same import again completes it.
    #[error("{0} (the accounts stored so far stay; run the same import again to complete it)")]
    Internal(auth_domain::PortError),
}

/// What `auth-server users import` is told.
#[derive(Debug, Clone)]
pub struct ImportArgs {
    /// A file path, or `-` for standard input.
    pub input: String,
    /// Decide everything, store nothing.
    pub dry_run: bool,
    /// Where refused lines go (`{"line","reason"}` per line); default
    /// `<input>.rejects.ndjson`, or `import.rejects.ndjson` for stdin.
    pub rejects: Option<std::path::PathBuf>,
    /// Parameters of bare Spring `{pbkdf2}` hashes (`v5.5`, `v5.8`, or
    /// `DIGEST:ITERATIONS:SALT_BYTES:HASH_BYTES`).
    pub spring_pbkdf2: Option<String>,
    /// Accounts per transaction.
    pub batch: usize,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

/// A progress line on stderr, redrawn at most every 200 ms.
struct Progress {
    enabled: bool,
    total: Option<u64>,
    started: std::time::Instant,
    last: std::time::Instant,
}

impl Progress {
    fn draw(&mut self, bytes: u64, lines: u64, force: bool) {
        use std::io::Write as _;
        if !self.enabled || (!force && self.last.elapsed() < std::time::Duration::from_millis(200)) {
            return;
        }
        self.last = std::time::Instant::now();
        let rate = lines as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
        let bar = match self.total.filter(|t| *t > 0) {
            Some(total) => {
                let done = (bytes.min(total) * 30 / total) as usize;
                format!(
                    "[{}{}] {:3}%",
                    "=".repeat(done),
                    " ".repeat(30 - done),
                    bytes.min(total) * 100 / total
                )
            }
            None => String::from("[reading stdin]"),
        };
        let mut err = std::io::stderr();
        let _ = write!(err, "\r{bar} {lines} lines, {rate:.0}/s ");
        let _ = err.flush();
    }
}

/// `auth-server users import FILE|-`: imports newline-delimited JSON
/// accounts (see [`crate::admin::import::ndjson`]) into the configured database in
/// batched transactions, writes refused lines to the rejects file, and
/// returns the report (`POST /internal/users/import`'s answer, with the
/// first 20 rejects and `rejectsFile`).
///
/// # Errors
/// [`UsersCommandError`].
pub async fn import_users(
    settings: &Settings,
    args: &ImportArgs,
) -> Result<serde_json::Value, UsersCommandError> {
    use std::io::{Read as _, Write as _};
    let spring_pbkdf2 = match &args.spring_pbkdf2 {
        None => auth_domain::identity::password::SpringPbkdf2::default(),
        Some(raw) => auth_domain::identity::password::SpringPbkdf2::parse(raw).ok_or_else(|| {
            UsersCommandError::Invalid(format!(
                "--spring-pbkdf2 {raw:?}: expected v5.5, v5.8 or DIGEST:ITERATIONS:SALT_BYTES:HASH_BYTES"
            ))
        })?,
    };
    let (mut input, total): (Box<dyn std::io::BufRead>, Option<u64>) = if args.input == "-" {
        (Box::new(std::io::BufReader::new(std::io::stdin())), None)
    } else {
        let file = std::fs::File::open(&args.input)
            .map_err(|e| UsersCommandError::Io(format!("{}: {e}", args.input)))?;
        let len = file.metadata().ok().map(|m| m.len());
        (Box::new(std::io::BufReader::with_capacity(256 << 10, file)), len)
    };
    let rejects_path = args.rejects.clone().unwrap_or_else(|| {
        if args.input == "-" {
            "import.rejects.ndjson".into()
        } else {
            format!("{}.rejects.ndjson", args.input).into()
        }
    });
    let mut rejects_file = std::io::BufWriter::new(
        std::fs::File::create(&rejects_path)
            .map_err(|e| UsersCommandError::Io(format!("{}: {e}", rejects_path.display())))?,
    );
    let db = open_database(settings).await?;
    let importer = import_service(settings, &db)?;
    let options = auth_domain::import::use_cases::ImportOptions {
        dry_run: args.dry_run,
        spring_pbkdf2,
    };
    let mut import = NdjsonImport::new(options, args.batch, MAX_LINE_BYTES);
    let mut shown: Vec<RejectView> = Vec::new();
    let mut write_rejects =
        |import: &mut NdjsonImport, shown: &mut Vec<RejectView>| -> Result<(), UsersCommandError> {
            for r in import.take_rejects() {
                let reject = RejectView::from(r);
                writeln!(rejects_file, "{}", output(&reject))
                    .map_err(|e| UsersCommandError::Io(e.to_string()))?;
                if shown.len() < 20 {
                    shown.push(reject);
                }
            }
            Ok(())
        };
    let now = std::time::Instant::now();
    let mut progress = Progress {
        enabled: args.progress,
        total,
        started: now,
        last: now,
    };
    let mut read: u64 = 0;
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(UsersCommandError::Io(format!("{}: {e}", args.input))),
        };
        read += n as u64;
        let chunk = buf.get(..n).unwrap_or_default();
        import
            .feed(&importer, chunk)
            .await
            .map_err(UsersCommandError::Internal)?;
        write_rejects(&mut import, &mut shown)?;
        progress.draw(read, import.lines(), false);
    }
    // As before the explicit caller: `users import` records no user agent.
    import
        .finish(&importer, &super::cli_caller())
        .await
        .map_err(UsersCommandError::Internal)?;
    write_rejects(&mut import, &mut shown)?;
    rejects_file
        .flush()
        .map_err(|e| UsersCommandError::Io(e.to_string()))?;
    progress.draw(read, import.lines(), true);
    if progress.enabled {
        eprintln!();
    }
    Ok(output(&CliImportReport {
        report: ImportReportView::new(import.report(), shown),
        rejects_file: rejects_path.display().to_string(),
        seconds: (now.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
    }))
}
