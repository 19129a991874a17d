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

mod phc;
mod pool;
mod work_area;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use argon2::password_hash::Error as PhcError;
use async_trait::async_trait;
use auth_domain::PortError;
use auth_domain::identity::password::{
    ForeignHashError, NewPassword, PasswordHash, PasswordScheme, SpringPbkdf2,
};
use auth_domain::ports::PasswordHasher;
use tokio::sync::oneshot;

use pool::{Job, Pool, Shared, lower_priority, serve};

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

#[cfg(test)]
mod tests;
