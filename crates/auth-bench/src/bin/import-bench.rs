//! `import-bench`: how fast accounts are imported (100,000 generated
//! accounts by default, through `auth-server users import`'s code path,
//! on SQLite and on PostgreSQL), and what one login costs with each
//! foreign password scheme next to argon2id. Writes the figures into
//! `docs/performance.md` (`import-bench` section).
//!
//! `cargo run --release -p auth-bench --bin import-bench -- --accounts 100000`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use auth_bench::{arg, machine, ms, percentile, write_section};
use auth_contract_tests::{Settings, TestBackend, TestDatabase};
use auth_domain::identity::password::SpringPbkdf2;
use auth_domain::ports::PasswordHasher as _;
use auth_infra::Argon2Hasher;
use base64::Engine as _;
use serde_json::json;

/// The process's peak resident memory so far, MiB.
fn peak_rss_mib() -> u64 {
    auth_bench::proc_status_value("self", "VmHWM:").unwrap_or(0) / 1024
}

/// A file of `n` accounts: a mix of the formats teams have (hashes are
/// copied, so a few distinct ones cycled cost the same as all distinct),
/// a quarter with kept ids and a tenth with a social link.
fn generate(path: &std::path::Path, n: usize) {
    use std::io::Write as _;
    let hashes = [
        "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy".to_owned(),
        "{bcrypt}$2a$10$dXJ3SW6G7P50lGmMkkmwe.20cQQubK3.HZWzG3YB1tlRy.fqvM/BG".to_owned(),
        "{pbkdf2}5d923b44a6d129f3ddf3e3c8d29412723dcbde72445e8ef6bf3b508fbf17fa4ed4d6b99ca763d8dc".to_owned(),
        "$argon2id$v=19$m=16384,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$T/XOJ2mh1/TIpJHfCdQan76Q5esCFVoT5MAeIM1Oq2E"
            .to_owned(),
    ];
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..n {
        let mut line = json!({
            "loginId": format!("user{i}"),
            "email": format!("user{i}@example.com"),
            "emailVerified": true,
            "name": "홍길동",
            "passwordHash": hashes[i % hashes.len()],
            "createdAt": "2024-03-01T09:00:00Z",
        });
        if i % 4 == 0 {
            line["accountId"] = json!(1_000_000 + i);
        }
        if i % 10 == 0 {
            line["providers"] = json!([{"provider": "kakao", "subject": format!("k{i}")}]);
        }
        writeln!(out, "{line}").unwrap();
    }
    out.flush().unwrap();
}

async fn import_once(
    backend: TestBackend,
    file: &std::path::Path,
    n: usize,
    batch: usize,
) -> (f64, f64, u64) {
    let db = TestDatabase::new(backend);
    let dir = std::env::temp_dir().join(format!("import-bench-{}", uuid::Uuid::new_v4()));
    let settings = Settings {
        database: auth_http::settings::DatabaseSettings {
            url: db.url().to_owned(),
            ..auth_http::settings::DatabaseSettings::default()
        },
        mail: auth_http::settings::MailSettings {
            dir: Some(dir.join("outbox").display().to_string()),
            ..auth_http::settings::MailSettings::default()
        },
        ..Settings::default()
    };
    let args = auth_http::cli::ImportArgs {
        input: file.display().to_string(),
        dry_run: false,
        rejects: Some(dir.join("rejects.ndjson")),
        spring_pbkdf2: None,
        batch,
        progress: false,
    };
    std::fs::create_dir_all(&dir).unwrap();
    // Migrations and start-up are not the import: open the database once first.
    let _ = auth_http::startup::open_database(&settings).await.unwrap();
    let started = Instant::now();
    let report = auth_http::cli::import_users(&settings, &args).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(report["imported"], json!(n), "{report}");
    // A rerun of the same file: every account is skipped.
    let started = Instant::now();
    let again = auth_http::cli::import_users(&settings, &args).await.unwrap();
    let rerun = started.elapsed().as_secs_f64();
    assert_eq!(again["skipped"], json!(n), "{again}");
    let _ = std::fs::remove_dir_all(&dir);
    (n as f64 / secs, n as f64 / rerun, peak_rss_mib())
}

/// The median and p90 of `rounds` verifications of `password` against `hash`.
async fn login_cost(
    hasher: &Argon2Hasher,
    hash: &str,
    password: &str,
    rounds: usize,
) -> (Duration, Duration) {
    let stored = hasher.adopt(hash, &SpringPbkdf2::default()).unwrap();
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        assert!(hasher.verify(password, Some(&stored)).await.unwrap(), "{hash}");
        times.push(t.elapsed());
    }
    times.sort();
    (percentile(&times, 50.0), percentile(&times, 90.0))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = arg("--accounts", "100000").parse().unwrap();
    let batch: usize = arg("--batch", "1000").parse().unwrap();
    let rounds: usize = arg("--rounds", "10").parse().unwrap();
    let doc = arg("--doc", "docs/performance.md");
    let file = std::env::temp_dir().join(format!("import-bench-{n}.ndjson"));
    generate(&file, n);
    let size_mib = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) as f64 / (1 << 20) as f64;

    let mut body = String::new();
    writeln!(
        body,
        "Measured by `just bench` (`import-bench`, release build) on {}.",
        machine()
    )
    .unwrap();
    writeln!(body).unwrap();
    writeln!(
        body,
        "Import of {n} generated accounts ({size_mib:.1} MiB of NDJSON: bcrypt, Spring `{{bcrypt}}`/`{{pbkdf2}}`, argon2id; a quarter with kept ids, a tenth with a Kakao link), {batch} accounts per transaction, through `auth-server users import`:"
    )
    .unwrap();
    writeln!(body).unwrap();
    writeln!(
        body,
        "| backend | accounts/s | rerun (all skipped), accounts/s | peak RSS of the process |"
    )
    .unwrap();
    writeln!(body, "|---|---:|---:|---:|").unwrap();
    for backend in [TestBackend::Sqlite, TestBackend::Postgres] {
        let (rate, rerun, rss) = import_once(backend, &file, n, batch).await;
        eprintln!("{backend:?}: {rate:.0} accounts/s, rerun {rerun:.0}/s, peak RSS {rss} MiB");
        writeln!(body, "| {backend:?} | {rate:.0} | {rerun:.0} | {rss} MiB |").unwrap();
    }
    let _ = std::fs::remove_file(&file);

    // One login's password check, per scheme, on one hashing thread.
    let hasher = Argon2Hasher::with_nice(1, 0).unwrap();
    let pw = "Password123!";
    let ours = hasher
        .hash(
            &auth_domain::identity::password::PasswordPolicy::default()
                .check(pw)
                .unwrap(),
        )
        .await
        .unwrap();
    let salt16 = *b"0123456789abcdef";
    let bcrypt = |cost| {
        bcrypt::hash_with_salt(pw, cost, salt16)
            .unwrap()
            .format_for_version(bcrypt::Version::TwoB)
    };
    let mut v58 = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<pbkdf2::sha2::Sha256>(pw.as_bytes(), &salt16, 310_000, &mut v58);
    let mut v55 = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha1_of_pbkdf2::Sha1>(pw.as_bytes(), &salt16[..8], 185_000, &mut v55);
    let mut sc = [0u8; 32];
    scrypt::scrypt(
        pw.as_bytes(),
        &salt16,
        &scrypt::Params::new(14, 8, 1).unwrap(),
        &mut sc,
    )
    .unwrap();
    let mut sc17 = [0u8; 32];
    scrypt::scrypt(
        pw.as_bytes(),
        &salt16,
        &scrypt::Params::new(17, 8, 1).unwrap(),
        &mut sc17,
    )
    .unwrap();
    let spring_argon2 = {
        use argon2::PasswordHasher as _;
        argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(16384, 2, 1, None).unwrap(),
        )
        .hash_password_with_salt(pw.as_bytes(), &salt16)
        .unwrap()
        .to_string()
    };
    let schemes: Vec<(&str, String)> = vec![
        (
            "argon2id m=19456,t=2,p=1 (ours, the target)",
            ours.as_phc().to_owned(),
        ),
        ("bcrypt cost 10 (Spring, NestJS default)", bcrypt(10)),
        ("bcrypt cost 12", bcrypt(12)),
        (
            "Spring `{pbkdf2}` v5.5: HMAC-SHA1, 185,000 iterations",
            format!("{{pbkdf2}}{}{}", hex::encode(&salt16[..8]), hex::encode(v55)),
        ),
        (
            "Spring `{pbkdf2@SpringSecurity_v5_8}`: HMAC-SHA256, 310,000 iterations",
            format!(
                "{{pbkdf2@SpringSecurity_v5_8}}{}{}",
                hex::encode(salt16),
                hex::encode(v58)
            ),
        ),
        (
            "scrypt N=2^14, r=8, p=1 (Spring `{scrypt}` v4.1)",
            format!("$scrypt$ln=14,r=8,p=1${}${}", b64(&salt16), b64(&sc)),
        ),
        (
            "scrypt N=2^17, r=8, p=1 (RustCrypto default)",
            format!("$scrypt$ln=17,r=8,p=1${}${}", b64(&salt16), b64(&sc17)),
        ),
        (
            "argon2id m=16384,t=2,p=1 (Spring `{argon2}` v5.8)",
            format!("{{argon2}}{spring_argon2}"),
        ),
    ];
    writeln!(body).unwrap();
    writeln!(
        body,
        "One password check per scheme (the first login of an imported account; every later one is argon2id), one hashing thread, {rounds} rounds:"
    )
    .unwrap();
    writeln!(body).unwrap();
    writeln!(body, "| stored scheme | median | p90 |").unwrap();
    writeln!(body, "|---|---:|---:|").unwrap();
    for (name, hash) in &schemes {
        let (p50, p90) = login_cost(&hasher, hash, pw, rounds).await;
        eprintln!("{name}: {} / {}", ms(p50), ms(p90));
        writeln!(body, "| {name} | {} | {} |", ms(p50), ms(p90)).unwrap();
    }
    write_section(&doc, "import-bench", body.trim_end());
    println!("{body}");
}

/// SHA-1 for Spring's v5.5 PBKDF2, from the same crate the service uses.
mod sha1_of_pbkdf2 {
    pub use sha1::Sha1;
}
