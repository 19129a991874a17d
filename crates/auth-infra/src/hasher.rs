//! [`PasswordHasher`] with argon2id, on a small pool of dedicated threads.
//!
//! - **Own threads.** Hashing runs on `threads` `std::thread`s named
//!   `argon2-<n>`, not on tokio's blocking pool: that pool also runs every
//!   diesel query, and these threads lower their own scheduling priority
//!   (nice), which must not leak into database work. Jobs wait in a queue
//!   bounded by [`Argon2Hasher::with_queue_limit`] (beyond it a job is
//!   refused at once: a flood gets quick 503s, not an ever longer wait) and each
//!   answers through a `tokio::sync::oneshot`; a job whose caller is gone
//!   (client disconnected) is skipped. The threads exit when the last
//!   [`Argon2Hasher`] clone is dropped.
//! - **Idle memory is returned.** Each thread keeps one argon2 work area while
//!   busy and frees it after [`IDLE_RELEASE`] without a job (see
//!   [`WORK_AREA_CAPACITY`] for why the freed memory really leaves the
//!   process).
//! - **Nothing at start-up.** Unknown users are verified against
//!   [`DUMMY_PHC`], a constant.
//! - **Measured.** `auth_hash_queue_depth` (jobs waiting, a gauge),
//!   `auth_hash_queue_wait_seconds` (how long each job waited for a
//!   thread, a histogram) and `auth_hash_queue_rejections_total` (jobs
//!   refused because the queue was full), through the `metrics` facade.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use argon2::password_hash::Error as PhcError;
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash as PhcHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use async_trait::async_trait;
use auth_domain::PortError;
use auth_domain::password::{ForeignHashError, NewPassword, PasswordHash, PasswordScheme, SpringPbkdf2};
use auth_domain::ports::PasswordHasher;
use rand::Rng;
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;

/// Why an [`Argon2Hasher`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HasherError {
    /// `threads` was zero.
    #[error("the password hashing pool needs at least 1 thread")]
    ZeroConcurrency,
    /// `nice` was outside `0..=19`.
    #[error("hash nice value {0} is outside 0..=19")]
    NiceOutOfRange(i32),
    /// The OS refused to start a pool thread.
    #[error("could not start a password hashing thread: {0}")]
    Spawn(#[source] std::io::Error),
}

/// argon2id (m=19456 KiB, t=2, p=1, the crate defaults; OWASP) on a pool of
/// dedicated threads.
///
/// New hashes are the standard PHC string, exactly as
/// `Argon2::default().hash_password` writes it (`$argon2id$v=19$m=19456,t=2,p=1$…`,
/// 16-byte salt, 32-byte output). Verification takes algorithm, version and
/// parameters from the stored hash, so older hashes keep verifying.
/// Verifying against no hash (unknown user), or against a malformed one, does
/// one verification against a dummy hash and returns `false`, so it costs as
/// much as a real one.
///
/// Clones share the pool; its threads exit when the last clone is dropped.
#[derive(Clone)]
pub struct Argon2Hasher {
    pool: Arc<Pool>,
}

impl std::fmt::Debug for Argon2Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Argon2Hasher")
            .field("threads", &self.pool.threads)
            .field("nice", &self.pool.nice)
            .field("queued", &self.pool.shared.lock().jobs.len())
            .finish_non_exhaustive()
    }
}

impl Argon2Hasher {
    /// The nice value of the pool threads unless told otherwise: below the
    /// request handlers and the database work, so a login flood cannot
    /// starve them.
    pub const DEFAULT_NICE: i32 = 10;

    /// The nice values [`with_nice`](Self::with_nice) accepts: 0 (normal
    /// priority) to 19 (the lowest).
    pub const NICE_RANGE: std::ops::RangeInclusive<i32> = 0..=19;

    /// A pool of `threads` hashing threads (the core count is a good value)
    /// at nice [`DEFAULT_NICE`](Self::DEFAULT_NICE). No argon2 work is done
    /// here.
    ///
    /// # Errors
    /// [`HasherError`] when `threads` is 0 or a thread cannot be started.
    pub fn new(threads: usize) -> Result<Self, HasherError> {
        Self::with_nice(threads, Self::DEFAULT_NICE)
    }

    /// Like [`new`](Self::new), with the threads' nice value (`0..=19`; 0
    /// leaves the priority alone). On Linux each thread sets its own nice
    /// when it starts; if the OS refuses, one warning is logged and the
    /// threads run at normal priority. Elsewhere `nice` is ignored.
    ///
    /// # Errors
    /// [`HasherError`] when `threads` is 0, `nice` is out of range or a
    /// thread cannot be started.
    pub fn with_nice(threads: usize, nice: i32) -> Result<Self, HasherError> {
        if threads == 0 {
            return Err(HasherError::ZeroConcurrency);
        }
        if !Self::NICE_RANGE.contains(&nice) {
            return Err(HasherError::NiceOutOfRange(nice));
        }
        // Built before the threads: if a spawn fails, dropping it closes the
        // queue and the threads already started exit.
        let pool = Pool {
            shared: Arc::new(Shared::default()),
            threads,
            nice,
        };
        for n in 0..threads {
            let shared = Arc::clone(&pool.shared);
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    lower_priority(nice, &shared);
                    serve(&shared);
                })
                .map_err(HasherError::Spawn)?;
        }
        Ok(Self { pool: Arc::new(pool) })
    }

    /// Refuses new jobs at once, with an error, while `limit` jobs are
    /// already waiting (running ones do not count). Without it the queue is
    /// unbounded. Applies to every clone.
    #[must_use]
    pub fn with_queue_limit(self, limit: usize) -> Self {
        self.pool.shared.limit.store(limit, Ordering::Relaxed);
        self
    }

    /// Queues a job and waits for its answer.
    async fn run<T>(
        &self,
        context: &'static str,
        job: impl FnOnce(oneshot::Sender<T>) -> Job,
    ) -> Result<T, PortError> {
        let (reply, answer) = oneshot::channel();
        self.pool
            .shared
            .push(job(reply))
            .map_err(|full| PortError::new(context, full))?;
        // Dropping this future drops `answer`; the job is then skipped.
        answer.await.map_err(|e| PortError::new(context, e))
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &NewPassword) -> Result<PasswordHash, PortError> {
        const CONTEXT: &str = "hash password";
        let password = password.clone();
        let phc = self
            .run(CONTEXT, |reply| Job::Hash { password, reply })
            .await?
            .map_err(|e| PortError::new(CONTEXT, HashFailure(e)))?;
        Ok(PasswordHash::from_phc(phc))
    }

    async fn verify(&self, password: &str, hash: Option<&PasswordHash>) -> Result<bool, PortError> {
        let password = password.to_owned();
        let stored = hash.map(|h| h.as_phc().to_owned());
        self.run("verify password", |reply| Job::Verify {
            password,
            stored,
            reply,
        })
        .await
    }

    fn scheme(&self, hash: Option<&PasswordHash>) -> PasswordScheme {
        PasswordScheme::of(hash, CURRENT_ARGON2ID)
    }

    fn adopt(&self, foreign: &str, spring_pbkdf2: &SpringPbkdf2) -> Result<PasswordHash, ForeignHashError> {
        crate::foreign_hash::adopt(foreign, spring_pbkdf2).map(PasswordHash::from_phc)
    }
}

/// How every hash [`hash_new`] writes starts: a stored argon2id hash with
/// another prefix has older (or foreign) parameters and is upgraded at the
/// next login.
pub(crate) const CURRENT_ARGON2ID: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

/// A hashing failure (the message of `password_hash::Error`, which never
/// contains the password).
#[derive(Debug, thiserror::Error)]
#[error("argon2: {0}")]
struct HashFailure(PhcError);

// ---------------------------------------------------------------- the pool

/// Owned by the [`Argon2Hasher`] clones (through one `Arc`); dropping it
/// closes the queue, which ends the threads.
struct Pool {
    shared: Arc<Shared>,
    threads: usize,
    nice: i32,
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.close();
    }
}

/// What the hasher and its threads share.
struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when a job is queued or the queue is closed.
    ready: Condvar,
    /// argon2 computations completed (tests check "one per verification").
    runs: AtomicU64,
    /// Whether the failure to lower the priority was logged already.
    nice_warned: AtomicBool,
    /// The most jobs that may wait; a job beyond it is refused at once.
    limit: AtomicUsize,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            queue: Mutex::default(),
            ready: Condvar::new(),
            runs: AtomicU64::new(0),
            nice_warned: AtomicBool::new(false),
            limit: AtomicUsize::new(usize::MAX),
        }
    }
}

/// The queue already holds as many jobs as it may: answered at once, so a
/// flood is refused instead of growing the queue (and every caller's wait)
/// without bound.
#[derive(Debug, thiserror::Error)]
#[error("the password hashing queue is full")]
struct QueueFull;

#[derive(Default)]
struct Queue {
    /// Each job with when it was queued.
    jobs: VecDeque<(Instant, Job)>,
    closed: bool,
}

/// What a thread does next.
enum Next {
    Run(Job),
    /// [`IDLE_RELEASE`] passed without a job.
    Idle,
    /// The last hasher is gone.
    Closed,
}

impl Shared {
    /// The queue lock. A thread that panicked while holding it (it never
    /// runs argon2 under it) cannot have left the queue half-changed, so a
    /// poisoned lock is used as is.
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `job`, unless [`Shared::limit`] jobs are waiting already.
    fn push(&self, job: Job) -> Result<(), QueueFull> {
        {
            let mut queue = self.lock();
            if queue.jobs.len() >= self.limit.load(Ordering::Relaxed) {
                metrics::counter!("auth_hash_queue_rejections_total").increment(1);
                return Err(QueueFull);
            }
            queue.jobs.push_back((Instant::now(), job));
            queue_depth(queue.jobs.len());
        }
        self.ready.notify_one();
        Ok(())
    }

    fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    /// Waits for a job; with `deadline`, only until then.
    fn next(&self, deadline: Option<Instant>) -> Next {
        let mut queue = self.lock();
        loop {
            if let Some((queued, job)) = queue.jobs.pop_front() {
                queue_depth(queue.jobs.len());
                metrics::histogram!("auth_hash_queue_wait_seconds").record(queued.elapsed().as_secs_f64());
                return Next::Run(job);
            }
            if queue.closed {
                return Next::Closed;
            }
            queue = match deadline {
                None => self.ready.wait(queue).unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Next::Idle;
                    }
                    self.ready
                        .wait_timeout(queue, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }
}

/// Publishes the number of waiting jobs (under the queue lock, so the last
/// value set is the current one).
fn queue_depth(len: usize) {
    metrics::gauge!("auth_hash_queue_depth").set(len as f64);
}

/// A pool thread's loop: run jobs until the queue is closed.
fn serve(shared: &Shared) {
    let mut area = WorkArea::default();
    loop {
        let deadline = area.is_held().then(|| Instant::now() + IDLE_RELEASE);
        match shared.next(deadline) {
            Next::Run(job) if job.abandoned() => {}
            Next::Run(job) => {
                // A panic drops the job's reply sender (the caller gets a
                // `PortError`) and must not take the thread with it.
                let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| job.run(&mut area, shared)));
                if outcome.is_err() {
                    tracing::error!("password hashing job panicked");
                    area.release();
                }
            }
            Next::Idle => area.release(),
            Next::Closed => return,
        }
    }
}

/// Sets the calling thread's nice value (Linux: per thread). Failure is
/// logged once per pool and otherwise ignored.
#[cfg(target_os = "linux")]
fn lower_priority(nice: i32, shared: &Shared) {
    if nice == 0 {
        return;
    }
    let tid = rustix::thread::gettid();
    if let Err(e) = rustix::process::setpriority_process(Some(tid), nice)
        && !shared.nice_warned.swap(true, Ordering::Relaxed)
    {
        tracing::warn!(
            nice,
            error = %e,
            "could not lower the priority of the password hashing threads; they run at normal priority"
        );
    }
}

/// Nice values are only set on Linux.
#[cfg(not(target_os = "linux"))]
fn lower_priority(_nice: i32, _shared: &Shared) {}

/// One unit of work, with where to send its answer.
enum Job {
    Hash {
        password: NewPassword,
        reply: oneshot::Sender<Result<String, PhcError>>,
    },
    Verify {
        password: String,
        stored: Option<String>,
        reply: oneshot::Sender<bool>,
    },
}

impl Job {
    /// The caller is gone: nobody would read the answer.
    fn abandoned(&self) -> bool {
        match self {
            Job::Hash { reply, .. } => reply.is_closed(),
            Job::Verify { reply, .. } => reply.is_closed(),
        }
    }

    fn run(self, area: &mut WorkArea, shared: &Shared) {
        // A send fails only when the caller left meanwhile; nothing to do.
        match self {
            Job::Hash { password, reply } => {
                let mut salt = [0u8; Salt::RECOMMENDED_LENGTH];
                rand::rng().fill_bytes(&mut salt);
                let _ = reply.send(hash_new(password.expose().as_bytes(), &salt, area, &shared.runs));
            }
            Job::Verify {
                password,
                stored,
                reply,
            } => {
                let _ = reply.send(verify(password.as_bytes(), stored.as_deref(), area, &shared.runs));
            }
        }
    }
}

// ------------------------------------------------------------ the hashing

/// How long a thread keeps its work area without a job.
const IDLE_RELEASE: Duration = Duration::from_secs(1);

/// Capacity of a work area, in 1 KiB blocks: 33 MiB, while the default
/// parameters use only the first 19 MiB (19456 blocks).
///
/// Why more than needed: with glibc, the first `free` of an mmapped chunk
/// raises the dynamic mmap threshold to that chunk's size (and the trim
/// threshold to twice that), as long as it is at most
/// `DEFAULT_MMAP_THRESHOLD_MAX` (32 MiB on 64-bit; see mallopt(3),
/// `M_MMAP_THRESHOLD`). After one freed 19 MiB work area, every later one
/// comes from the thread's arena and, once freed, stays there (below the
/// trim threshold): ~19 MiB of idle RSS per thread, forever. An allocation
/// above 32 MiB is above any threshold glibc can reach, so it is always its
/// own `mmap` and freeing it `munmap`s it. Only the blocks argon2 uses are
/// ever written, so only those pages become resident.
const WORK_AREA_CAPACITY: usize = 33 * 1024;

/// A thread's reusable argon2 memory, allocated on first use and dropped
/// after [`IDLE_RELEASE`] without work.
#[derive(Default)]
struct WorkArea(Option<Vec<Block>>);

impl WorkArea {
    fn is_held(&self) -> bool {
        self.0.is_some()
    }

    fn release(&mut self) {
        self.0 = None;
    }

    /// The first `count` blocks, allocating or growing as needed. Their
    /// contents do not matter: argon2 writes every block before reading it.
    fn blocks(&mut self, count: usize) -> Result<&mut [Block], PhcError> {
        let blocks = self.0.get_or_insert_with(Vec::new);
        if blocks.capacity() == 0 {
            blocks
                .try_reserve_exact(count.max(WORK_AREA_CAPACITY))
                .map_err(|_| PhcError::OutOfMemory)?;
        }
        if blocks.len() < count {
            blocks
                .try_reserve_exact(count - blocks.len())
                .map_err(|_| PhcError::OutOfMemory)?;
            blocks.resize(count, Block::new());
        }
        blocks.get_mut(..count).ok_or(PhcError::OutOfMemory)
    }
}

/// Runs argon2 into `out`, in `area`.
fn compute(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    area: &mut WorkArea,
    runs: &AtomicU64,
) -> Result<(), PhcError> {
    let blocks = area.blocks(argon2.params().block_count())?;
    argon2.hash_password_into_with_memory(password, salt, out, blocks)?;
    runs.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// A new hash with the default parameters, as the PHC string
/// `Argon2::default().hash_password_with_salt(password, salt)` writes.
fn hash_new(password: &[u8], salt: &[u8], area: &mut WorkArea, runs: &AtomicU64) -> Result<String, PhcError> {
    let params = Params::DEFAULT;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(&argon2, password, salt, &mut out, area, runs)?;
    let phc = PhcHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(Salt::new(salt)?),
        hash: Some(Output::new(&out)?),
    };
    Ok(phc.to_string())
}

/// Verifies `password` against the stored hash, or against [`DUMMY_PHC`]
/// when there is none or it cannot be used. Always one run: argon2, or the
/// foreign scheme the stored hash names (bcrypt, PBKDF2, scrypt; see
/// [`crate::foreign_hash`]).
fn verify(password: &[u8], stored: Option<&str>, area: &mut WorkArea, runs: &AtomicU64) -> bool {
    if let Some(stored) = stored {
        if !stored.starts_with("$argon2") {
            match crate::foreign_hash::verify_foreign(password, stored) {
                Ok(matches) => {
                    runs.fetch_add(1, Ordering::Relaxed);
                    return matches;
                }
                Err(e) => tracing::warn!(
                    reason = %e,
                    "stored password hash is malformed or unsupported; login refused"
                ),
            }
        } else {
            match verify_phc(password, stored, area, runs) {
                Ok(matches) => return matches,
                // The reason names a field, never hash material.
                Err(e) => tracing::warn!(
                    reason = %e,
                    "stored password hash is malformed or unsupported; login refused"
                ),
            }
        }
    }
    // Spend the usual work; the answer is `false` whatever it says.
    let _ = verify_phc(password, DUMMY_PHC, area, runs);
    false
}

/// Verifies `password` against a PHC string, with the algorithm, version,
/// parameters, salt and output length it names (like
/// `Argon2::default().verify_password`: no version field means v=19).
fn verify_phc(password: &[u8], phc: &str, area: &mut WorkArea, runs: &AtomicU64) -> Result<bool, PhcError> {
    let parsed = PhcHash::new(phc)?;
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Err(PhcError::EncodingInvalid);
    };
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str())?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v)?,
        None => Version::default(),
    };
    // Takes m, t, p, keyid, data, and the output length from `expected`.
    let params = Params::try_from(&parsed)?;
    let argon2 = Argon2::new(algorithm, version, params);
    let mut buffer = [0u8; Output::MAX_LENGTH];
    let out = buffer.get_mut(..expected.len()).ok_or(PhcError::OutputSize)?;
    compute(&argon2, password, salt, out, area, runs)?;
    Ok(bool::from(out.ct_eq(expected.as_bytes())))
}

/// What unknown users are verified against: the default parameters (as
/// [`hash_new`] writes them) with a fixed salt and output.
///
/// A constant is fine: its only job is to cost one verification. The result
/// is thrown away and unknown users always get `false`, so nothing depends
/// on which password (if any) it is the hash of; and it saves an argon2 run
/// at start-up.
const DUMMY_PHC: &str = concat!(
    "$argon2id$v=19",
    "$m=19456,t=2,p=1",                             // Params::DEFAULT
    "$ZHVtbXktc2FsdC0xNmJ5dA",                      // "dummy-salt-16byt"
    "$ZHVtbXkgYXJnb24yaWQgb3V0cHV0LCAzMiBieXRlcyE", // "dummy argon2id output, 32 bytes!"
);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use argon2::{PasswordHasher as _, PasswordVerifier as _};
    use auth_domain::password::PasswordPolicy;

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
        use auth_domain::password::{PasswordScheme, SpringPbkdf2};
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
}
