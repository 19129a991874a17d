//! The machine's limits, read in the benchmark's own process: the argon2
//! ceiling (one thread per core), and a process's memory and threads from
//! `/proc`.

use std::time::{Duration, Instant};

use argon2::password_hash::phc::PasswordHash as PhcHash;
use argon2::{Argon2, PasswordHasher as _};

/// Verifications per second with one thread per core: the fastest way to
/// run argon2 with these parameters, each thread reusing one work area (no
/// 19 MiB allocation and page faults per run). The result is compared with
/// the stored hash, as a verification does.
pub fn argon2_ceiling(phc: &str, password: &str, seconds: f64) -> f64 {
    let threads = cores();
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let parsed = PhcHash::new(phc).unwrap();
    let salt = parsed.salt.unwrap();
    let expected = parsed.hash.unwrap();
    let done: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let argon2 = Argon2::default();
                    let mut blocks = vec![argon2::Block::default(); argon2.params().block_count()];
                    let mut out = vec![0u8; expected.as_bytes().len()];
                    let mut n = 0u64;
                    while Instant::now() < until {
                        argon2
                            .hash_password_into_with_memory(
                                password.as_bytes(),
                                salt.as_ref(),
                                &mut out,
                                &mut blocks,
                            )
                            .unwrap();
                        assert_eq!(out, expected.as_bytes(), "the ceiling must compute the real hash");
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    done as f64 / started.elapsed().as_secs_f64()
}

/// A stored hash of `password` with the service's parameters.
pub fn stored_hash(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes())
        .unwrap()
        .to_string()
}

/// [`argon2_ceiling`] off the async workers.
pub async fn ceiling(phc: &str, password: &str, seconds: f64) -> f64 {
    let (phc, password) = (phc.to_owned(), password.to_owned());
    tokio::task::spawn_blocking(move || argon2_ceiling(&phc, &password, seconds))
        .await
        .unwrap()
}

/// Resident KiB of a process by kind of mapping (`/proc/PID/smaps`): the
/// executable, shared libraries, the main heap, and anonymous mappings
/// (thread arenas, stacks, large allocations), largest first.
pub fn memory_map(pid: u32) -> String {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
    let mut kinds: std::collections::BTreeMap<String, u64> = Default::default();
    let mut kind = String::new();
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields
            .first()
            .is_some_and(|f| f.contains('-') && !f.ends_with(':'))
        {
            let path = fields.get(5).copied().unwrap_or("");
            kind = if path.is_empty() {
                "anonymous".into()
            } else if std::path::Path::new(path) == exe {
                "executable".into()
            } else if path.starts_with('[') {
                path.into()
            } else {
                "libraries and files".into()
            };
        } else if let Some(kib) = line.strip_prefix("Rss:") {
            *kinds.entry(kind.clone()).or_default() +=
                kib.trim().trim_end_matches("kB").trim().parse::<u64>().unwrap();
        }
    }
    let mut kinds: Vec<_> = kinds.into_iter().filter(|(_, kib)| *kib > 0).collect();
    kinds.sort_by_key(|(_, kib)| std::cmp::Reverse(*kib));
    kinds
        .iter()
        .map(|(k, kib)| format!("{k} {kib} KiB"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Threads of a process.
pub fn threads(pid: u32) -> u64 {
    crate::proc_status_value(&pid.to_string(), "Threads:").unwrap()
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}
