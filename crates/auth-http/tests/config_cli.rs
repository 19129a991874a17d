//! Issue 33.8 on the real `auth-server` binary, with no database: `config
//! check` reports every wrong value in one run and says which file it read;
//! `send-test-email` names each cause of a refusal once, and an `smtps://`
//! URL against a server speaking plain SMTP says the TLS handshake failed.
// Helpers outside #[test] functions are not "in tests" for clippy.toml's
// allow-*-in-tests, so an integration-test file still allows them itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("auth-{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The binary in `dir` with only `PATH` and `vars` set.
fn run(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auth-server"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AUTH_MAIL_DIR", dir.join("outbox"))
        .envs(vars.iter().copied())
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn config_check_reports_every_wrong_value_at_once() {
    let dir = temp_dir("config-all");
    let out = run(
        &dir,
        &["config", "check"],
        &[
            ("AUTH_DATABASE_POOL_SIZE", "0"),
            ("AUTH_ACCESS_TTL_SECONDS", "-5"),
            ("AUTH_LOG_FORMAT", "jsn"),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(text.contains("3 problems"), "{text}");
    for (key, var) in [
        ("access_ttl_seconds", "AUTH_ACCESS_TTL_SECONDS"),
        ("database_pool_size", "AUTH_DATABASE_POOL_SIZE"),
        ("log_format", "AUTH_LOG_FORMAT"),
    ] {
        let line = format!("`{key}` ({var}):");
        assert_eq!(
            text.lines().filter(|l| l.trim_start().starts_with(&line)).count(),
            1,
            "{key} on a line of its own: {text}"
        );
    }
    // `serve` refuses to start with the same list.
    let serve = run(
        &dir,
        &[],
        &[
            ("AUTH_DATABASE_POOL_SIZE", "0"),
            ("AUTH_ACCESS_TTL_SECONDS", "-5"),
        ],
    );
    assert_eq!(serve.status.code(), Some(2), "{}", stderr(&serve));
    let text = stderr(&serve);
    assert!(
        text.contains("AUTH_DATABASE_POOL_SIZE") && text.contains("AUTH_ACCESS_TTL_SECONDS"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_check_says_which_file_it_read() {
    let dir = temp_dir("config-file");
    let out = run(&dir, &["config", "check"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no configuration file (AUTH_CONFIG unset, no ./auth.toml)"),
        "{}",
        stderr(&out)
    );
    std::fs::write(dir.join("auth.toml"), "access_ttl_seconds = 77\n").unwrap();
    let out = run(&dir, &["config", "check"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("read auth.toml"), "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A one-connection-at-a-time SMTP server: greets, then answers each line
/// with `reply` (`None`: hang up). Its port.
fn fake_smtp(reply: fn(&str) -> Option<&'static str>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.write_all(b"220 fake ESMTP\r\n");
            let lines = BufReader::new(stream.try_clone().unwrap()).lines();
            for line in lines {
                let Ok(line) = line else { break };
                match reply(&line.to_ascii_uppercase()) {
                    Some(answer) => drop(stream.write_all(answer.as_bytes())),
                    None => break,
                }
            }
        }
    });
    port
}

#[test]
fn a_refused_test_email_names_each_cause_once() {
    let dir = temp_dir("mail-refused");
    let port = fake_smtp(|line| {
        Some(if line.starts_with("RCPT") {
            "550 mailbox unavailable\r\n"
        } else if line.starts_with("QUIT") {
            "221 bye\r\n"
        } else {
            "250 OK\r\n"
        })
    });
    let url = format!("smtp://127.0.0.1:{port}");
    let out = run(
        &dir,
        &["send-test-email", "ops@example.com"],
        &[("AUTH_SMTP_URL", &url), ("AUTH_SMTP_TIMEOUT_SECONDS", "5")],
    );
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(
        text.contains("permanent error (550): mailbox unavailable"),
        "{text}"
    );
    assert_eq!(text.matches("mailbox unavailable").count(), 1, "{text}");
    assert_eq!(text.matches("permanent error").count(), 1, "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn smtps_against_a_plain_server_says_tls() {
    let dir = temp_dir("mail-smtps");
    let port = fake_smtp(|_| None);
    let url = format!("smtps://user:hunter2@127.0.0.1:{port}");
    let out = run(
        &dir,
        &["send-test-email", "ops@example.com"],
        &[("AUTH_SMTP_URL", &url), ("AUTH_SMTP_TIMEOUT_SECONDS", "5")],
    );
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(text.contains("TLS handshake failed"), "{text}");
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(text.contains("smtp://127.0.0.1:587?tls=required"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
