use super::phc::*;
use super::pool::*;
use super::work_area::*;
use super::*;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use argon2::password_hash::phc::{PasswordHash as PhcHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use argon2::{PasswordHasher as _, PasswordVerifier as _};
use auth_domain::identity::password::PasswordPolicy;

fn pw(s: &str) -> NewPassword {
    PasswordPolicy::default().check(s).unwrap()
}

fn runs(h: &Argon2Hasher) -> u64 {
    h.pool.shared.runs.load(Ordering::Relaxed)
}

#[tokio::test]
async fn hashes_and_verifies() {
    let h = Argon2Hasher::new(2).unwrap();
    let hash = h.hash(&pw("correct horse")).await.unwrap();
    assert!(
        hash.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        hash.as_phc()
    );
    assert!(h.verify("correct horse", Some(&hash)).await.unwrap());
    assert!(!h.verify("wrong horse", Some(&hash)).await.unwrap());
    assert!(!h.verify("correct horse", None).await.unwrap());
    // Fresh salt each time.
    let again = h.hash(&pw("correct horse")).await.unwrap();
    assert_ne!(hash, again);
}

#[test]
fn new_hashes_are_the_crates_phc_string_byte_for_byte() {
    let salt = *b"0123456789abcdef";
    let ours = hash_new(
        b"correct horse",
        &salt,
        &mut WorkArea::default(),
        &AtomicU64::new(0),
    )
    .unwrap();
    let theirs = Argon2::default()
        .hash_password_with_salt(b"correct horse", &salt)
        .unwrap()
        .to_string();
    assert_eq!(ours, theirs);
}

#[tokio::test]
async fn our_hashes_verify_with_the_crate_and_theirs_with_us() {
    let h = Argon2Hasher::new(1).unwrap();
    let ours = h.hash(&pw("correct horse")).await.unwrap();
    let parsed = PhcHash::new(ours.as_phc()).unwrap();
    assert!(
        Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok()
    );
    assert!(
        Argon2::default()
            .verify_password(b"wrong horse", &parsed)
            .is_err()
    );

    let theirs = Argon2::default()
        .hash_password(b"correct horse")
        .unwrap()
        .to_string();
    let theirs = PasswordHash::from_phc(theirs);
    assert!(h.verify("correct horse", Some(&theirs)).await.unwrap());
    assert!(!h.verify("wrong horse", Some(&theirs)).await.unwrap());
}

#[tokio::test]
async fn older_hashes_with_other_parameters_verify() {
    let h = Argon2Hasher::new(2).unwrap();
    // Reference vectors (argon2 crate's KAT, from the reference
    // implementation): password "password", salt "somesalt".
    for phc in [
        "$argon2i$v=19$m=256,t=2,p=2$c29tZXNhbHQ$T/XOJ2mh1/TIpJHfCdQan76Q5esCFVoT5MAeIM1Oq2E",
        "$argon2i$v=16$m=256,t=2,p=1$c29tZXNhbHQ$/U3YPXYsSb3q9XxHvc0MLxur+GP960kN9j7emXX8zwY",
    ] {
        let stored = PasswordHash::from_phc(phc.into());
        assert!(h.verify("password", Some(&stored)).await.unwrap(), "{phc}");
        assert!(!h.verify("passwore", Some(&stored)).await.unwrap(), "{phc}");
    }
    // Other algorithms, versions, costs, output lengths, salt lengths,
    // as the crate writes them.
    let cases = [
        (Algorithm::Argon2id, Version::V0x13, 8 * 1024, 3, 1, 32, 16),
        (Algorithm::Argon2id, Version::V0x13, 40 * 1024, 1, 2, 64, 32),
        (Algorithm::Argon2id, Version::V0x10, 4096, 2, 1, 32, 8),
        (Algorithm::Argon2i, Version::V0x13, 4096, 3, 1, 16, 16),
        (Algorithm::Argon2d, Version::V0x13, 4096, 2, 4, 24, 16),
    ];
    for (algorithm, version, m, t, p, len, salt_len) in cases {
        let params = Params::new(m, t, p, Some(len)).unwrap();
        let salt = vec![7u8; salt_len];
        let phc = Argon2::new(algorithm, version, params)
            .hash_password_with_salt(b"old password", &salt)
            .unwrap()
            .to_string();
        let stored = PasswordHash::from_phc(phc.clone());
        assert!(h.verify("old password", Some(&stored)).await.unwrap(), "{phc}");
        assert!(!h.verify("old passwore", Some(&stored)).await.unwrap(), "{phc}");
    }
    // Without a version field the crate assumes v=19; so do we.
    let phc = Argon2::default()
        .hash_password(b"old password")
        .unwrap()
        .to_string();
    let stored = PasswordHash::from_phc(phc.replace("$v=19", ""));
    assert!(h.verify("old password", Some(&stored)).await.unwrap());
}

#[tokio::test]
async fn malformed_hash_is_false_after_one_verification() {
    let h = Argon2Hasher::new(1).unwrap();
    for bad in [
        "",
        "not a hash",
        "$argon2id$v=19$m=19456,t=2,p=1$garbage",
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ",
        "$argon2id$v=18$m=19456,t=2,p=1$c29tZXNhbHQ$T/XOJ2mh1/TIpJHfCdQan76Q5esCFVoT5MAeIM1Oq2E",
        "$argon2x$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$T/XOJ2mh1/TIpJHfCdQan76Q5esCFVoT5MAeIM1Oq2E",
        "$argon2id$v=19$m=19456,t=0,p=1$c29tZXNhbHQ$T/XOJ2mh1/TIpJHfCdQan76Q5esCFVoT5MAeIM1Oq2E",
        "$argon2id$v=19$m=19456,t=2,p=1,x=3$c29tZXNhbHQ$T/XOJ2mh1/TIpJHfCdQan76Q5esCFVoT5MAeIM1Oq2E",
        "$2b$12$abcdefghijklmnopqrstuv",
    ] {
        let before = runs(&h);
        let stored = PasswordHash::from_phc(bad.into());
        assert!(!h.verify("whatever1", Some(&stored)).await.unwrap(), "{bad}");
        assert_eq!(runs(&h), before + 1, "one verification for {bad:?}");
    }
}

#[tokio::test]
async fn foreign_hashes_verify_on_the_pool_and_report_their_scheme() {
    use auth_domain::identity::password::{PasswordScheme, SpringPbkdf2};
    let h = Argon2Hasher::new(1).unwrap();
    // Spring's documented `{bcrypt}` example of "password".
    let adopted = h
        .adopt(
            "{bcrypt}$2a$10$dXJ3SW6G7P50lGmMkkmwe.20cQQubK3.HZWzG3YB1tlRy.fqvM/BG",
            &SpringPbkdf2::default(),
        )
        .unwrap();
    assert_eq!(h.scheme(Some(&adopted)), PasswordScheme::Bcrypt);
    let before = runs(&h);
    assert!(h.verify("password", Some(&adopted)).await.unwrap());
    assert!(!h.verify("passwore", Some(&adopted)).await.unwrap());
    assert_eq!(runs(&h), before + 2, "one run per verification, on the pool");
    let ours = h.hash(&pw("password1")).await.unwrap();
    assert_eq!(h.scheme(Some(&ours)), PasswordScheme::Argon2id);
    let old = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(16384, 2, 1, None).unwrap(),
    )
    .hash_password(b"password1")
    .unwrap()
    .to_string();
    assert_eq!(
        h.scheme(Some(&PasswordHash::from_phc(old))),
        PasswordScheme::Argon2idOld
    );
    assert_eq!(h.scheme(None), PasswordScheme::None);
}

#[tokio::test]
async fn every_call_costs_exactly_one_argon2_run() {
    let h = Argon2Hasher::new(1).unwrap();
    let hash = h.hash(&pw("password1")).await.unwrap();
    assert_eq!(runs(&h), 1);
    assert!(h.verify("password1", Some(&hash)).await.unwrap());
    assert_eq!(runs(&h), 2);
    assert!(!h.verify("password2", Some(&hash)).await.unwrap());
    assert_eq!(runs(&h), 3);
    // Unknown user: the same work, against the dummy hash.
    assert!(!h.verify("password1", None).await.unwrap());
    assert_eq!(runs(&h), 4);
}

#[test]
fn the_dummy_hash_has_the_parameters_of_new_hashes() {
    let dummy = PhcHash::new(DUMMY_PHC).unwrap();
    let ours = hash_new(b"x", b"saltsalt", &mut WorkArea::default(), &AtomicU64::new(0)).unwrap();
    let ours = PhcHash::new(&ours).unwrap();
    assert_eq!(dummy.algorithm, ours.algorithm);
    assert_eq!(dummy.version, ours.version);
    assert_eq!(dummy.params, ours.params);
    assert_eq!(dummy.salt.unwrap().len(), Salt::RECOMMENDED_LENGTH);
    assert_eq!(dummy.hash.unwrap().len(), Params::DEFAULT_OUTPUT_LEN);
    assert_eq!(
        Params::try_from(&dummy.params).unwrap().block_count(),
        Params::DEFAULT.block_count()
    );
}

#[test]
fn work_area_is_above_glibcs_largest_mmap_threshold_and_grows() {
    let mut area = WorkArea::default();
    assert_eq!(
        area.blocks(Params::DEFAULT.block_count()).unwrap().len(),
        19 * 1024
    );
    let held = area.0.as_ref().unwrap();
    assert!(held.capacity() * Block::SIZE > 32 << 20);
    assert_eq!(held.len(), 19 * 1024, "only the blocks used are written");
    assert_eq!(area.blocks(40 * 1024).unwrap().len(), 40 * 1024);
    assert_eq!(area.blocks(8).unwrap().len(), 8);
    area.release();
    assert!(!area.is_held());
}

#[test]
fn zero_threads_and_bad_nice_are_refused() {
    assert!(matches!(Argon2Hasher::new(0), Err(HasherError::ZeroConcurrency)));
    assert!(matches!(
        Argon2Hasher::with_nice(1, 20),
        Err(HasherError::NiceOutOfRange(20))
    ));
    assert!(matches!(
        Argon2Hasher::with_nice(1, -1),
        Err(HasherError::NiceOutOfRange(-1))
    ));
}

#[tokio::test(flavor = "current_thread")]
async fn works_on_a_current_thread_runtime() {
    let h = Argon2Hasher::new(1).unwrap();
    let hash = h.hash(&pw("password1")).await.unwrap();
    assert!(h.verify("password1", Some(&hash)).await.unwrap());
}

#[tokio::test]
async fn clones_share_the_pool_until_the_last_is_dropped() {
    let h = Argon2Hasher::new(1).unwrap();
    let shared = Arc::downgrade(&h.pool.shared);
    let clone = h.clone();
    drop(h);
    assert!(!clone.verify("password1", None).await.unwrap());
    drop(clone);
    // Each thread holds the shared state until it exits.
    let deadline = Instant::now() + Duration::from_secs(5);
    while shared.upgrade().is_some() {
        assert!(Instant::now() < deadline, "pool threads still running");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_job_whose_caller_left_is_skipped() {
    // Jobs queued before any thread runs: one abandoned, one awaited.
    let shared = Shared::default();
    let (gone, answer) = oneshot::channel();
    drop(answer);
    shared
        .push(Job::Verify {
            password: "password1".into(),
            stored: None,
            reply: gone,
        })
        .unwrap();
    let (reply, mut answer) = oneshot::channel();
    shared
        .push(Job::Verify {
            password: "password1".into(),
            stored: None,
            reply,
        })
        .unwrap();
    shared.close();
    serve(&shared); // runs the queue, then returns: closed
    assert!(!answer.try_recv().unwrap());
    assert_eq!(
        shared.runs.load(Ordering::Relaxed),
        1,
        "the abandoned job was skipped"
    );
}

#[test]
fn a_full_queue_refuses_at_once() {
    let shared = Shared::default();
    shared.limit.store(2, Ordering::Relaxed);
    let mut answers = Vec::new();
    for _ in 0..2 {
        let (reply, answer) = oneshot::channel();
        answers.push(answer);
        shared
            .push(Job::Verify {
                password: "password1".into(),
                stored: None,
                reply,
            })
            .unwrap();
    }
    let (reply, _answer) = oneshot::channel();
    let refused = shared.push(Job::Verify {
        password: "password1".into(),
        stored: None,
        reply,
    });
    assert!(refused.is_err(), "a third job waits beyond the limit");
    shared.close();
    serve(&shared);
    assert_eq!(
        shared.runs.load(Ordering::Relaxed),
        2,
        "the refused job never ran"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_beyond_the_queue_is_refused_not_queued() {
    // One thread, at most 4 waiting: of 40 verifications sent at once,
    // the ones beyond what waits are refused with an error at once.
    let h = Argon2Hasher::with_nice(1, 0).unwrap().with_queue_limit(4);
    let calls: Vec<_> = (0..40)
        .map(|_| {
            let h = h.clone();
            tokio::spawn(async move { h.verify("password1", None).await })
        })
        .collect();
    let mut refused = 0;
    for call in calls {
        if call.await.unwrap().is_err() {
            refused += 1;
        }
    }
    assert!(refused >= 30, "{refused} of 40 refused");
    assert!(runs(&h) <= 10, "{} argon2 runs", runs(&h));
}

/// The pool threads of this process named `argon2-*` whose nice is
/// `nice` (field 19 of `/proc/self/task/<tid>/stat`).
#[cfg(target_os = "linux")]
fn argon2_threads_at(nice: i32) -> usize {
    let mut count = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let path = task.path();
        let (Ok(comm), Ok(stat)) = (
            std::fs::read_to_string(path.join("comm")),
            std::fs::read_to_string(path.join("stat")),
        ) else {
            continue; // exited meanwhile
        };
        // The fields after the `(comm)` one start at field 3.
        let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
        let field_19: i32 = after_comm.split(' ').nth(19 - 3).unwrap().parse().unwrap();
        if comm.trim_end().starts_with("argon2-") && field_19 == nice {
            count += 1;
        }
    }
    count
}

/// Waits up to 5 s for `argon2_threads_at(nice) == want`.
#[cfg(target_os = "linux")]
fn wait_for_threads(nice: i32, want: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while argon2_threads_at(nice) != want {
        assert!(
            Instant::now() < deadline,
            "{} argon2 threads at nice {nice}, want {want}",
            argon2_threads_at(nice)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

// Each of these tests uses a nice value no other test uses, so the
// threads counted are its own although tests run in parallel.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn threads_run_at_the_nice_asked_and_exit_with_the_last_hasher() {
    let h = Argon2Hasher::with_nice(3, 17).unwrap();
    assert!(!h.verify("password1", None).await.unwrap());
    wait_for_threads(17, 3);
    drop(h);
    wait_for_threads(17, 0);
}

#[test]
fn hundreds_of_hashers_leave_no_thread_behind() {
    let pools: Vec<_> = (0..200)
        .map(|_| Arc::downgrade(&Argon2Hasher::new(2).unwrap().pool.shared))
        .collect();
    // Each thread holds the shared state until it exits.
    let deadline = Instant::now() + Duration::from_secs(10);
    while pools.iter().any(|p| p.upgrade().is_some()) {
        assert!(Instant::now() < deadline, "pool threads still running");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// VmRSS of this process, KiB.
#[cfg(target_os = "linux")]
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

// RSS is process-wide, so this runs alone:
// `cargo test -p auth-infra --lib idle_work_areas -- --ignored --test-threads 1`.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measures the whole process's RSS; run alone"]
async fn idle_work_areas_are_returned_to_the_os() {
    let h = Argon2Hasher::new(2).unwrap();
    // Several rounds: the first free of a work area is what raises
    // glibc's thresholds, so a leak shows from the second round on (with
    // a 19 MiB capacity: idle stays at the busy RSS from round 2).
    for round in 1..=3 {
        let mut peak = 0;
        for _ in 0..5 {
            let (a, b) = tokio::join!(h.verify("password1", None), h.verify("password2", None));
            assert!(!a.unwrap() && !b.unwrap());
            peak = peak.max(rss_kib());
        }
        tokio::time::sleep(IDLE_RELEASE + Duration::from_millis(500)).await;
        let idle = rss_kib();
        eprintln!("round {round}: RSS busy {peak} KiB, idle {idle} KiB");
        assert!(
            peak - idle > 30 * 1024,
            "round {round}: busy {peak} KiB, idle {idle} KiB"
        );
    }
}
