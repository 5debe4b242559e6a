//! Counters: every event accepted by `emit` ends up delivered, failed or dropped for a reason.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Keeps the emit path's counter on its own cache line, away from the worker's.
#[derive(Debug, Default)]
#[repr(align(64))]
pub(crate) struct Padded(pub(crate) AtomicU64);

impl std::ops::Deref for Padded {
    type Target = AtomicU64;
    fn deref(&self) -> &AtomicU64 {
        &self.0
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) emitted: Padded,
    pub(crate) delivered: Padded,
    pub(crate) failed: AtomicU64,
    pub(crate) retried: AtomicU64,
    pub(crate) violations: AtomicU64,
    pub(crate) redacted: AtomicU64,
    pub(crate) dropped_queue_full: AtomicU64,
    pub(crate) dropped_invalid: AtomicU64,
    pub(crate) dropped_no_identity: AtomicU64,
    pub(crate) dropped_opted_out: AtomicU64,
    pub(crate) dropped_closed: AtomicU64,
    pub(crate) ignored_fields: AtomicU64,
    pub(crate) dropped_too_large: AtomicU64,
    pub(crate) dropped_over_byte_budget: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Counts {
        Counts {
            emitted: self.emitted.load(Relaxed),
            delivered: self.delivered.load(Relaxed),
            failed: self.failed.load(Relaxed),
            retried: self.retried.load(Relaxed),
            violations: self.violations.load(Relaxed),
            redacted: self.redacted.load(Relaxed),
            dropped_queue_full: self.dropped_queue_full.load(Relaxed),
            dropped_invalid: self.dropped_invalid.load(Relaxed),
            dropped_no_identity: self.dropped_no_identity.load(Relaxed),
            dropped_opted_out: self.dropped_opted_out.load(Relaxed),
            dropped_closed: self.dropped_closed.load(Relaxed),
            ignored_fields: self.ignored_fields.load(Relaxed),
            dropped_too_large: self.dropped_too_large.load(Relaxed),
            dropped_over_byte_budget: self.dropped_over_byte_budget.load(Relaxed),
            // The queue owns its byte accounting; the tracker fills these in.
            queued_bytes: 0,
            queued_bytes_peak: 0,
        }
    }
}

/// A snapshot of a tracker's counters.
///
/// Once the queue is drained, `emitted == delivered + failed + dropped()`: nothing
/// disappears without a count. Opted-out emits are not `emitted`; they only count in
/// `dropped_opted_out`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Events accepted by `emit` (plus `$identify` and `$groupidentify` events tally made).
    pub emitted: u64,
    /// Events a sink acknowledged.
    pub delivered: u64,
    /// Events whose delivery failed after every attempt.
    pub failed: u64,
    /// Delivery attempts retried.
    pub retried: u64,
    /// Catalog violations seen (an event can have several).
    pub violations: u64,
    /// Values the free-text scrub redacted.
    pub redacted: u64,
    /// Events dropped because the queue was full.
    pub dropped_queue_full: u64,
    /// Events dropped for breaking the catalog.
    pub dropped_invalid: u64,
    /// Events dropped because no identity was known and the catalog says `on_missing = "drop"`.
    pub dropped_no_identity: u64,
    /// Emits ignored because tracking is off (`DO_NOT_TRACK`, wrong environment).
    pub dropped_opted_out: u64,
    /// Events emitted after shutdown.
    pub dropped_closed: u64,
    /// Tracing fields that a tally event carried and no catalog property takes (a `message`
    /// the event does not declare): ignored, not a violation, but not silent either.
    pub ignored_fields: u64,
    /// Events over `Config::max_event_bytes`, dropped at emit.
    pub dropped_too_large: u64,
    /// Events dropped because the queue's byte budget (`Config::queue_bytes`) was used up.
    pub dropped_over_byte_budget: u64,
    /// Bytes the queue holds now (events, and room reserved for the emitting threads).
    pub queued_bytes: u64,
    /// The most bytes the queue ever held: never more than `Config::queue_bytes`.
    pub queued_bytes_peak: u64,
}

impl Counts {
    /// Every event dropped before delivery, whatever the reason (opted-out emits excluded).
    pub fn dropped(&self) -> u64 {
        self.dropped_queue_full
            + self.dropped_invalid
            + self.dropped_no_identity
            + self.dropped_closed
            + self.dropped_too_large
            + self.dropped_over_byte_budget
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "emitted={} delivered={} failed={} retried={} violations={} redacted={} ignored_fields={} dropped{{queue_full={} invalid={} no_identity={} opted_out={} closed={} too_large={} over_byte_budget={}}} queued_bytes={} queued_bytes_peak={}",
            self.emitted,
            self.delivered,
            self.failed,
            self.retried,
            self.violations,
            self.redacted,
            self.ignored_fields,
            self.dropped_queue_full,
            self.dropped_invalid,
            self.dropped_no_identity,
            self.dropped_opted_out,
            self.dropped_closed,
            self.dropped_too_large,
            self.dropped_over_byte_budget,
            self.queued_bytes,
            self.queued_bytes_peak
        )
    }
}
