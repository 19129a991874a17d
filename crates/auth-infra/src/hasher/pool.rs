//! The hashing threads: a bounded queue of jobs, served by `threads`
//! `std::thread`s at a lowered priority, each answering through a oneshot.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use argon2::password_hash::Error as PhcError;
use argon2::password_hash::phc::Salt;
use auth_domain::identity::password::NewPassword;
use rand::Rng;
use tokio::sync::oneshot;

use super::phc::{hash_new, verify};
use super::work_area::WorkArea;

/// How long a thread keeps its work area without a job.
pub(super) const IDLE_RELEASE: Duration = Duration::from_secs(1);

/// Owned by the [`Argon2Hasher`] clones (through one `Arc`); dropping it
/// closes the queue, which ends the threads.
pub(super) struct Pool {
    pub(super) shared: Arc<Shared>,
    pub(super) threads: usize,
    pub(super) nice: i32,
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.close();
    }
}

/// What the hasher and its threads share.
pub(super) struct Shared {
    pub(super) queue: Mutex<Queue>,
    /// Signalled when a job is queued or the queue is closed.
    pub(super) ready: Condvar,
    /// argon2 computations completed (tests check "one per verification").
    pub(super) runs: AtomicU64,
    /// Whether the failure to lower the priority was logged already.
    pub(super) nice_warned: AtomicBool,
    /// The most jobs that may wait; a job beyond it is refused at once.
    pub(super) limit: AtomicUsize,
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
pub(super) struct QueueFull;

#[derive(Default)]
pub(super) struct Queue {
    /// Each job with when it was queued.
    pub(super) jobs: VecDeque<(Instant, Job)>,
    pub(super) closed: bool,
}

/// What a thread does next.
pub(super) enum Next {
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
    pub(super) fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `job`, unless [`Shared::limit`] jobs are waiting already.
    pub(super) fn push(&self, job: Job) -> Result<(), QueueFull> {
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

    pub(super) fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    /// Waits for a job; with `deadline`, only until then.
    pub(super) fn next(&self, deadline: Option<Instant>) -> Next {
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
pub(super) fn queue_depth(len: usize) {
    metrics::gauge!("auth_hash_queue_depth").set(len as f64);
}

/// A pool thread's loop: run jobs until the queue is closed.
pub(super) fn serve(shared: &Shared) {
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
pub(super) fn lower_priority(nice: i32, shared: &Shared) {
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
pub(super) fn lower_priority(_nice: i32, _shared: &Shared) {}

/// One unit of work, with where to send its answer.
pub(super) enum Job {
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
    pub(super) fn abandoned(&self) -> bool {
        match self {
            Job::Hash { reply, .. } => reply.is_closed(),
            Job::Verify { reply, .. } => reply.is_closed(),
        }
    }

    pub(super) fn run(self, area: &mut WorkArea, shared: &Shared) {
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
