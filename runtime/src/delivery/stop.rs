//! The shutdown deadline, shared by the tracker (which sets it) and the deliveries (which stop
//! retrying, and spool what is left, when it comes).

use std::time::{Duration, Instant};

use tokio::sync::watch;

/// When the tracker must have stopped; unset until `shutdown` (or the last handle's drop).
#[derive(Debug)]
pub(crate) struct Stop {
    deadline: watch::Sender<Option<Instant>>,
}

impl Default for Stop {
    fn default() -> Self {
        Self { deadline: watch::Sender::new(None) }
    }
}

impl Stop {
    /// Starts stopping: the deadline is `within` from now, unless an earlier one is set.
    pub(crate) fn begin(&self, within: Duration) {
        let at = Instant::now().checked_add(within).unwrap_or_else(far_future);
        self.deadline.send_if_modified(|deadline| match deadline {
            Some(earlier) if *earlier <= at => false,
            _ => {
                *deadline = Some(at);
                true
            }
        });
    }

    /// Starts stopping with this deadline unless stopping has begun already (a dropped
    /// tracker's default, which must not cut a deadline `shutdown` gave).
    pub(crate) fn begin_unless_begun(&self, within: Duration) {
        if self.deadline().is_none() {
            self.begin(within);
        }
    }

    /// The deadline, once stopping has begun.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        *self.deadline.borrow()
    }

    /// Time left before the deadline (`None`: not stopping).
    pub(crate) fn left(&self) -> Option<Duration> {
        self.deadline().map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// Whether the deadline has passed.
    pub(crate) fn passed(&self) -> bool {
        self.left().is_some_and(|left| left.is_zero())
    }

    /// Resolves once stopping has begun.
    pub(crate) async fn begun(&self) {
        let mut deadline = self.deadline.subscribe();
        // The sender lives as long as `self`: the wait can only end with a deadline set.
        let _ = deadline.wait_for(Option::is_some).await;
    }

    /// Sleeps `wait`, cut short by the deadline and, when not stopping yet, by its start.
    pub(crate) async fn sleep(&self, wait: Duration) {
        let wait = self.left().map_or(wait, |left| wait.min(left));
        if self.deadline().is_some() {
            tokio::time::sleep(wait).await;
        } else {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.begun() => {}
            }
        }
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}
