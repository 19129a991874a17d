//! A throwaway PostgreSQL cluster for the tests of one process, for
//! machines where the server package is installed but no server runs.
//!
//! `initdb` into a fresh temporary directory (trust authentication, no
//! fsync), `pg_ctl start` on a free loopback port with the socket in that
//! directory. A *keeper* process is started first, in its own session (a
//! Ctrl-C to the test run does not reach it), reading a pipe whose only
//! writer is this process: when this process ends in any way (normal exit,
//! panic, SIGINT, SIGKILL), the kernel closes the pipe, the keeper reads
//! end-of-file, stops the server (`-m immediate`) and deletes the
//! directory. Nothing is left behind, and nothing depends on destructors
//! running.
//!
//! PostgreSQL refuses to run as root: as root (CI containers) the server
//! runs as the `postgres` user (or `nobody`) through `runuser`.

use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};

/// A running throwaway cluster; the server lives as long as this process.
#[derive(Debug)]
pub(super) struct Cluster {
    /// `postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable`.
    pub(super) url: String,
    /// The write end of the keeper's pipe: never written, never closed
    /// before the process ends.
    _keeper: ChildStdin,
}

/// What to tell a developer whose machine has no PostgreSQL server binaries.
pub(super) const INSTALL_HINT: &str = "install PostgreSQL's server package \
     (Debian/Ubuntu: `apt-get install postgresql`; Fedora/RHEL: `dnf install postgresql-server`; \
     macOS: `brew install postgresql`), or point AUTH_TEST_POSTGRES_URL at a running server";

/// The directory holding `initdb` and `pg_ctl`: `pg_config --bindir`, then
/// `PATH`, then the distributions' usual places (newest version first).
fn find_bindir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_tools(&dir) {
            return Some(dir);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_tools(&dir) {
                return Some(dir);
            }
        }
    }
    let mut versioned: Vec<PathBuf> = ["/usr/lib/postgresql", "/usr/local/opt"]
        .iter()
        .filter_map(|root| std::fs::read_dir(root).ok())
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .chain(
            std::fs::read_dir("/usr")
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("pgsql"))
                .map(|e| e.path().join("bin")),
        )
        .filter(|d| has_tools(d))
        .collect();
    versioned.sort_by_key(|d| {
        let version = d
            .parent()
            .and_then(Path::file_name)
            .map(|n| {
                n.to_string_lossy()
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect::<String>()
            })
            .unwrap_or_default();
        version.parse::<u32>().unwrap_or(0)
    });
    versioned.pop().or_else(|| {
        ["/usr/local/pgsql/bin", "/opt/homebrew/bin"]
            .iter()
            .map(PathBuf::from)
            .find(|d| has_tools(d))
    })
}

/// Whether this process runs as root (PostgreSQL then needs another user).
fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The unprivileged user to run the server as, when root.
fn server_user() -> Result<String, String> {
    for user in ["postgres", "nobody"] {
        if Command::new("id")
            .arg("-u")
            .arg(user)
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Ok(user.to_owned());
        }
    }
    Err(
        "running as root, and neither a `postgres` nor a `nobody` user exists to run the \
         throwaway PostgreSQL server as (PostgreSQL refuses root): create one \
         (`useradd --system postgres`), run the tests as a normal user, or set \
         AUTH_TEST_POSTGRES_URL"
            .into(),
    )
}

/// `program args…`, as `user` when given (through `runuser`).
fn command(user: Option<&str>, program: &Path) -> Command {
    match user {
        Some(user) => {
            let mut c = Command::new("runuser");
            c.arg("-u").arg(user).arg("--").arg(program);
            c
        }
        None => Command::new(program),
    }
}

fn run(mut c: Command, what: &str) -> Result<(), String> {
    let out = c
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: could not run it ({e})"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A port nobody listens on right now.
fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// Single-quotes `s` for `sh`.
fn quote(s: &Path) -> String {
    format!("'{}'", s.display().to_string().replace('\'', r"'\''"))
}

impl Cluster {
    /// Starts a cluster, or says why not (with what to do).
    pub(super) fn start() -> Result<Self, String> {
        let bindir = find_bindir()
            .ok_or_else(|| format!("no PostgreSQL server binaries (initdb, pg_ctl) found: {INSTALL_HINT}"))?;
        let user = if running_as_root() {
            Some(server_user()?)
        } else {
            None
        };
        let dir = std::env::temp_dir().join(format!("auth-pg-{}", super::random_hex(6)));
        std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let data = dir.join("data");
        let pg_ctl = bindir.join("pg_ctl");

        // The keeper first, so that whatever fails below is cleaned up too.
        let stop = match &user {
            Some(u) => format!(
                "runuser -u {u} -- {} -D {} stop -m immediate",
                quote(&pg_ctl),
                quote(&data)
            ),
            None => format!("{} -D {} stop -m immediate", quote(&pg_ctl), quote(&data)),
        };
        let script = format!(
            // `rm -rf` again until the directory is gone: a server (or a
            // `pg_ctl start`) still stopping can write into it after the
            // first pass, which then fails to remove the directory itself.
            "cat >/dev/null; if [ -f {pid} ]; then {stop} >/dev/null 2>&1; fi; \
             for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do \
             rm -rf {dir} 2>/dev/null; [ -e {dir} ] || break; sleep 0.25; done",
            pid = quote(&data.join("postmaster.pid")),
            dir = quote(&dir),
        );
        let mut keeper = Command::new("setsid")
            .arg("sh")
            .arg("-c")
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the cluster keeper (setsid sh): {e}"))?;
        // Held until the end; an early return drops it, and the keeper
        // cleans up at once.
        let Some(keeper_pipe) = keeper.stdin.take() else {
            return Err("the cluster keeper has no stdin".into());
        };

        if let Some(u) = &user {
            run(
                {
                    let mut c = Command::new("chown");
                    c.arg(format!("{u}:")).arg(&dir);
                    c
                },
                "chown of the cluster directory",
            )?;
        }
        let mut initdb = command(user.as_deref(), &bindir.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ])
            .env("LC_ALL", "C");
        run(initdb, "initdb")?;
        let port = free_port()?;
        let mut start = command(user.as_deref(), &pg_ctl);
        start
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.join("server.log"))
            .args(["-w", "-t", "60", "-o"])
            .arg(format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
                 -c full_page_writes=off -c max_connections=300",
                dir.display()
            ))
            .arg("start")
            .env("LC_ALL", "C");
        run(start, "pg_ctl start").map_err(|e| {
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            format!("{e}\nserver log:\n{log}")
        })?;
        Ok(Self {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable"),
            _keeper: keeper_pipe,
        })
    }
}
