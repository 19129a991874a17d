//! The overview's login counts per minute, read from the same counters as
//! `GET /metrics` (`auth_logins_total{contract, outcome}`): the recorder's
//! Prometheus text is rendered and its `auth_logins_total` lines summed by
//! outcome, every [`EVERY`] by a thread of its own, into a ring of the
//! last [`KEEP`]. The counters are the process's (every server of the
//! process renders the same registry, see [`crate::metrics`]), so the ring
//! is process-wide too, and so is its sampler: a thread, not a task of one
//! server's runtime, which would stop with that runtime.

use std::collections::VecDeque;
use std::sync::{Mutex, OnceLock, PoisonError};

use chrono::{DateTime, Duration, Utc};

/// How often the counters are read.
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// How far back the ring reaches: the overview's 15 minutes, and one more
/// so that the oldest minute has a sample at its start.
const KEEP: Duration = Duration::minutes(17);

/// At most this many samples, whatever the clock does.
const MAX_SAMPLES: usize = 120;

/// A sample counts for an instant when it is at most this much older.
const TOLERANCE: Duration = Duration::seconds(30);

/// Password logins counted so far, summed over the contracts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// `outcome="success"`, and `second_factor` (the password was right;
    /// the second step is counted apart, by `auth_mfa_verifications_total`).
    pub logins: u64,
    /// Every other outcome: `wrong_credentials`, `throttled`, `disabled`,
    /// `error`.
    pub failures: u64,
}

impl Totals {
    /// What was counted between `before` and `self` (counters only grow;
    /// a smaller reading counts as nothing).
    pub fn since(self, before: Self) -> Self {
        Self {
            logins: self.logins.saturating_sub(before.logins),
            failures: self.failures.saturating_sub(before.failures),
        }
    }
}

/// The login totals of a Prometheus text exposition: the
/// `auth_logins_total` samples summed by outcome.
pub fn login_totals(exposition: &str) -> Totals {
    let mut totals = Totals::default();
    for line in exposition.lines() {
        let Some(rest) = line.strip_prefix("auth_logins_total") else {
            continue;
        };
        // `auth_logins_total{…} 3`; not `auth_logins_totalx …`.
        let (labels, value) = match rest.strip_prefix('{') {
            Some(r) => match r.rsplit_once('}') {
                Some((labels, value)) => (labels, value),
                None => continue,
            },
            None if rest.starts_with(' ') => ("", rest),
            None => continue,
        };
        let Some(count) = value
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
        else {
            continue;
        };
        // Counters are whole numbers; the exposition may write `3` or `3e0`.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let count = count as u64;
        match label(labels, "outcome") {
            Some("success" | "second_factor") => totals.logins += count,
            _ => totals.failures += count,
        }
    }
    totals
}

/// The value of the label `name` in `a="x",b="y"` (our label values have
/// no quotes or escapes: they come from closed sets).
fn label<'a>(labels: &'a str, name: &str) -> Option<&'a str> {
    labels.split(',').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k.trim() == name).then(|| v.trim().trim_matches('"'))
    })
}

/// The counters now, when the recorder is installed.
pub fn read_now() -> Option<Totals> {
    crate::metrics::handle().map(|h| login_totals(&h.render()))
}

/// The ring of samples, oldest first.
static RING: Mutex<VecDeque<(DateTime<Utc>, Totals)>> = Mutex::new(VecDeque::new());

/// Whether the sampler was started.
static STARTED: OnceLock<bool> = OnceLock::new();

/// Adds a sample and forgets those older than [`KEEP`].
fn push(ring: &mut VecDeque<(DateTime<Utc>, Totals)>, at: DateTime<Utc>, totals: Totals) {
    ring.push_back((at, totals));
    while ring
        .front()
        .is_some_and(|(t, _)| *t < at - KEEP || ring.len() > MAX_SAMPLES)
    {
        ring.pop_front();
    }
}

fn sample() {
    if let Some(totals) = read_now() {
        let mut ring = RING.lock().unwrap_or_else(PoisonError::into_inner);
        push(&mut ring, Utc::now(), totals);
    }
}

/// Starts the sampler once per process (at startup when metrics are on,
/// else at the overview's first view): a first sample now, then one every
/// [`EVERY`]. `false` when the thread cannot be started (said once in the
/// log; the overview then has the current totals only).
pub fn start_sampler() -> bool {
    *STARTED.get_or_init(|| {
        sample();
        let spawned = std::thread::Builder::new()
            .name("console-sampler".to_owned())
            .spawn(|| {
                loop {
                    std::thread::sleep(EVERY);
                    sample();
                }
            });
        match spawned {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the console's login sampler");
                false
            }
        }
    })
}

/// The samples kept, oldest first.
pub fn samples() -> Vec<(DateTime<Utc>, Totals)> {
    RING.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .copied()
        .collect()
}

/// One minute of the overview's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Minute {
    /// Its end.
    pub end: DateTime<Utc>,
    /// What was counted in it; `None` when no sample covers its start.
    pub counted: Option<Totals>,
}

/// The reading at `t`: `now` at or after its time, else the latest sample
/// at or before `t` and at most [`TOLERANCE`] older.
fn at(samples: &[(DateTime<Utc>, Totals)], now: (DateTime<Utc>, Totals), t: DateTime<Utc>) -> Option<Totals> {
    if t >= now.0 {
        return Some(now.1);
    }
    samples
        .iter()
        .rev()
        .find(|(s, _)| *s <= t)
        .filter(|(s, _)| t - *s <= TOLERANCE)
        .map(|(_, totals)| *totals)
}

/// The last `count` minutes before `now` (newest first), each the
/// difference of the readings at its end and at its start.
pub fn minutes(
    samples: &[(DateTime<Utc>, Totals)],
    now: (DateTime<Utc>, Totals),
    count: usize,
) -> Vec<Minute> {
    (0..count)
        .map(|k| {
            let end = now.0 - Duration::minutes(i64::try_from(k).unwrap_or(0));
            let start = end - Duration::minutes(1);
            let counted = match (at(samples, now, start), at(samples, now, end)) {
                (Some(a), Some(b)) => Some(b.since(a)),
                _ => None,
            };
            Minute { end, counted }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP auth_logins_total Password logins, by contract and outcome.
# TYPE auth_logins_total counter
auth_logins_total{contract="standard",outcome="success"} 5
auth_logins_total{contract="picsel",outcome="success"} 2
auth_logins_total{contract="standard",outcome="wrong_credentials"} 3
auth_logins_total{outcome="throttled",contract="standard"} 1
auth_logins_total{contract="hosted",outcome="second_factor"} 4
auth_logins_total{contract="standard",outcome="error"} 1e0
auth_logins_totalx{contract="standard",outcome="success"} 100
auth_refreshes_total{contract="standard",outcome="success"} 100
http_requests_total{method="POST",route="/api/auth/login",status="200"} 100
"#;

    #[test]
    fn the_exposition_is_summed_by_outcome() {
        assert_eq!(
            login_totals(TEXT),
            Totals {
                logins: 11,
                failures: 5
            }
        );
        assert_eq!(login_totals(""), Totals::default());
        assert_eq!(
            login_totals(
                "auth_logins_total{contract=\"x\",outcome=\"success\"} nope\nauth_logins_total{broken 3"
            ),
            Totals::default()
        );
    }

    #[test]
    fn a_smaller_reading_counts_as_nothing() {
        let a = Totals {
            logins: 5,
            failures: 1,
        };
        let b = Totals {
            logins: 3,
            failures: 4,
        };
        assert_eq!(
            b.since(a),
            Totals {
                logins: 0,
                failures: 3
            }
        );
    }

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap_or_default()
    }

    fn tot(logins: u64, failures: u64) -> Totals {
        Totals { logins, failures }
    }

    #[test]
    fn each_minute_is_the_difference_of_its_ends() {
        // A sample every 10 s for 3 minutes: one login and one failure every
        // 10 s from t=0.
        let samples: Vec<_> = (0..=18)
            .map(|i| (t(i * 10), tot(i as u64, 2 * i as u64)))
            .collect();
        let now = (t(185), tot(19, 38));
        let m = minutes(&samples, now, 4);
        assert_eq!(m.len(), 4);
        assert_eq!(m[0].end, t(185));
        // 185 - 125: reading at 120 (12) to now (19).
        assert_eq!(m[0].counted, Some(tot(7, 14)));
        // 65 - 125: readings at 60 (6) and 120 (12).
        assert_eq!(m[1].counted, Some(tot(6, 12)));
        assert_eq!(m[2].counted, Some(tot(6, 12)));
        // Its start (-55) is before the first sample.
        assert_eq!(m[3].counted, None);
    }

    #[test]
    fn a_gap_in_the_samples_leaves_its_minutes_empty() {
        let samples = vec![(t(0), tot(0, 0)), (t(300), tot(10, 0))];
        let m = minutes(&samples, (t(310), tot(11, 1)), 6);
        // 250..310: nothing within 30 s before 250.
        assert_eq!(m[0].counted, None);
        // 190..250 and so on: neither end covered.
        assert!(m[1..].iter().all(|m| m.counted.is_none()));
        let m = minutes(&samples, (t(320), tot(12, 1)), 1);
        assert_eq!(m[0].counted, None);
        let m = minutes(&samples, (t(330), tot(13, 2)), 1);
        // Start 270: the sample at 300 is after it, the one at 0 too old.
        assert_eq!(m[0].counted, None);
        let m = minutes(&samples, (t(360), tot(14, 2)), 1);
        assert_eq!(m[0].counted, Some(tot(4, 2)));
    }

    #[test]
    fn the_ring_forgets_what_is_older_than_it_keeps() {
        let mut ring = VecDeque::new();
        for i in 0..200 {
            push(&mut ring, t(i * 10), tot(0, 0));
        }
        assert!(ring.len() <= MAX_SAMPLES);
        let newest = t(1990);
        assert!(ring.iter().all(|(at, _)| *at >= newest - KEEP));
        assert_eq!(ring.back().map(|(at, _)| *at), Some(newest));
    }
}
