//! When to try a failing batch again: exponential backoff with jitter, at least what the
//! server asked for (`Retry-After`), within a horizon measured from the start of the outage.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::lock;

/// The first wait.
const FIRST: Duration = Duration::from_millis(100);
/// The longest wait between two attempts (before jitter).
const LONGEST: Duration = Duration::from_secs(30);

/// The wait before attempt `attempt + 1`, after `attempt` failed ones (from 1): 100 ms, 200 ms,
/// 400 ms, … up to 30 s, each with "equal jitter" (between half and all of it, so that many
/// processes hit by one outage do not come back in step), and never shorter than the server's
/// `Retry-After`.
pub(crate) fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    let doublings = attempt.saturating_sub(1).min(16);
    let full = FIRST.saturating_mul(1 << doublings).min(LONGEST);
    let half = full / 2;
    let jittered = half + half.mul_f64(fastrand::f64());
    retry_after.map_or(jittered, |asked| jittered.max(asked))
}

/// Since when the sink has been failing: the horizon counts from the first failure of an
/// outage, not from each batch's, so that once it is exceeded the batches behind do not wait
/// through it again.
#[derive(Debug, Default)]
pub(crate) struct Outage {
    since: Mutex<Option<Instant>>,
}

impl Outage {
    /// A failure: the outage's start (now, if this is its first failure).
    pub(crate) fn failed(&self) -> Instant {
        *lock(&self.since).get_or_insert_with(Instant::now)
    }

    /// A success: the outage (if any) is over.
    pub(crate) fn ended(&self) {
        *lock(&self.since) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_100_ms_with_jitter_up_to_30_s() {
        for attempt in 1..=20 {
            let full = Duration::from_millis(100).saturating_mul(1 << (attempt - 1).min(16)).min(LONGEST);
            let wait = backoff(attempt, None);
            assert!(wait >= full / 2 && wait <= full, "attempt {attempt}: {wait:?} outside {full:?}/2..={full:?}");
        }
    }

    #[test]
    fn retry_after_is_a_minimum() {
        assert!(backoff(1, Some(Duration::from_secs(7))) >= Duration::from_secs(7));
        assert!(backoff(12, Some(Duration::from_millis(1))) >= Duration::from_secs(15));
    }
}
