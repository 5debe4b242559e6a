//! Counters: every event accepted by `emit` is delivered, failed, dropped for a reason, pending
//! or spooled, at every moment.

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

/// The tracker's counters. Each outcome has one owner, the only module that counts it:
///
/// | counter | owner |
/// | --- | --- |
/// | `emitted`: accepted by the queue | `queue.rs` (per shard; not here) |
/// | `emitted`: emits that never reached the queue (`not_queued`) and the reason why (`dropped_queue_full`, `dropped_over_byte_budget`, `dropped_too_large`, `dropped_closed`) | `tracker.rs` (`Tracker::not_queued`) |
/// | `dropped_opted_out`, `client_refused`, `ignored_fields` | `tracker.rs` (the entry points) |
/// | `emitted`: `$groupidentify` events tally made (`announced`) | `pipeline.rs` |
/// | `dropped_invalid`, `dropped_no_identity`, `violations`, `redacted` | `pipeline.rs` |
/// | `delivered`, `failed`, `retried` and [`DeliveryCounters`] | `delivery/mod.rs` |
///
/// `Counts::emitted` is the sum of the three parts, so that the invariant
/// `emitted == delivered + failed + dropped() + pending + spooled` holds.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Emits that did not reach the queue (counted in `emitted`, and dropped for a reason).
    pub(crate) not_queued: Padded,
    /// `$groupidentify` events the pipeline made (counted in `emitted`).
    pub(crate) announced: AtomicU64,
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
    pub(crate) client_refused: AtomicU64,
    // Delivery's own (see `delivery/`): kept apart so the pipeline's edits never touch them.
    pub(crate) delivery: DeliveryCounters,
}

/// What delivery counts beyond delivered and failed.
#[derive(Debug, Default)]
pub(crate) struct DeliveryCounters {
    /// This tracker's events on disk now (a gauge: up when spooled, down when delivered
    /// from the spool or dropped by its quota).
    pub(crate) spooled: AtomicU64,
    /// Events the server refused with 400 on their own (after the batch was split).
    pub(crate) dropped_refused: AtomicU64,
    /// This tracker's spooled events dropped to keep the spool within its quota.
    pub(crate) dropped_spool_full: AtomicU64,
    /// Events in batches refused for the project key (401/403).
    pub(crate) rejected_auth: AtomicU64,
    /// Events an earlier process spooled that this tracker delivered.
    pub(crate) replayed: AtomicU64,
    /// Events an earlier process spooled that this tracker dropped (quota, corrupt file).
    pub(crate) replay_dropped: AtomicU64,
    /// Spool files found torn or corrupt and moved aside.
    pub(crate) spool_corrupt: AtomicU64,
}

impl DeliveryCounters {
    /// Takes `n` events off the spooled gauge.
    pub(crate) fn unspool(&self, n: u64) {
        // Never below zero, even if a caller miscounted: a wrapped gauge would hide everything.
        let _ = self.spooled.fetch_update(Relaxed, Relaxed, |now| Some(now.saturating_sub(n)));
    }
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    /// The counters now, `emitted` completed by the caller (the queue adds what it accepted).
    /// `pending` is what is accepted and not yet settled: counted as the rest, with the settled
    /// counters read before `emitted` (an event is emitted before it settles, so no snapshot
    /// shows more settled than emitted).
    pub(crate) fn snapshot_with(&self, emitted: impl FnOnce(u64) -> u64) -> Counts {
        let mut counts = self.snapshot();
        counts.spooled = self.delivery.spooled.load(Relaxed);
        counts.dropped_refused = self.delivery.dropped_refused.load(Relaxed);
        counts.dropped_spool_full = self.delivery.dropped_spool_full.load(Relaxed);
        counts.rejected_auth = self.delivery.rejected_auth.load(Relaxed);
        counts.replayed = self.delivery.replayed.load(Relaxed);
        counts.replay_dropped = self.delivery.replay_dropped.load(Relaxed);
        counts.spool_corrupt = self.delivery.spool_corrupt.load(Relaxed);
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        counts.emitted = emitted(self.not_queued.load(Relaxed) + self.announced.load(Relaxed));
        let settled = counts.delivered + counts.failed + counts.dropped() + counts.spooled;
        counts.pending = counts.emitted.saturating_sub(settled);
        counts
    }

    fn snapshot(&self) -> Counts {
        Counts {
            emitted: 0,
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
            client_refused: self.client_refused.load(Relaxed),
            // The queue owns its byte accounting; the tracker fills these in.
            queued_bytes: 0,
            queued_bytes_peak: 0,
            ..Counts::default()
        }
    }
}

/// A snapshot of a tracker's counters.
///
/// At every moment `emitted == delivered + failed + dropped() + pending + spooled`: nothing
/// disappears without a count. Opted-out emits are not `emitted`; they only count in
/// `dropped_opted_out`. Events an earlier process spooled are not this tracker's: they count
/// in `replayed` and `replay_dropped`, outside that sum.
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
    /// the event does not declare), and PostHog `$` properties a front end's SDK added to a
    /// client event that does not declare them (posthog-js's `$current_url`, `$browser`, …):
    /// ignored, not a violation, but not silent either.
    pub ignored_fields: u64,
    /// Events refused by the server on their own (400, after their batch was split in halves
    /// until only they were refused).
    pub dropped_refused: u64,
    /// Spooled events dropped, oldest first, to keep the spool within its byte quota.
    pub dropped_spool_full: u64,
    /// Events accepted and not settled yet: queued, being processed, on the wire, or waiting
    /// for a retry.
    pub pending: u64,
    /// This tracker's events waiting in the spool directory (delivered by this tracker when the
    /// server answers again, or by the next one on the same directory).
    pub spooled: u64,
    /// Events in batches the server refused for the project key (401/403); also counted where
    /// they went (`spooled`, or `failed` without a spool).
    pub rejected_auth: u64,
    /// Events an earlier process spooled, delivered by this tracker (not in `emitted`).
    pub replayed: u64,
    /// Events an earlier process spooled, dropped by this tracker (quota, corrupt file; not in
    /// `emitted`).
    pub replay_dropped: u64,
    /// Spool files found torn or corrupt and moved aside (into the spool's `aside/` directory).
    pub spool_corrupt: u64,
    /// Events over `Config::max_event_bytes`, dropped at emit.
    pub dropped_too_large: u64,
    /// Events dropped because the queue's byte budget (`Config::queue_bytes`) was used up.
    pub dropped_over_byte_budget: u64,
    /// Refusals by a client-events endpoint (tally-middleware's `ClientEvents`) before the
    /// pipeline: a request refused whole (malformed, too large, too many events, compressed)
    /// counts one, and so does each event it refused for an oversized property. Not in
    /// `emitted`: these never became events. (Events it hands on and the catalog refuses, such
    /// as a server event posted by a browser, count in `dropped_invalid`.)
    pub client_refused: u64,
    /// Bytes the queue holds now: queued events, and the room emitting threads reserved since
    /// the worker last drained the queue (each drain takes it back, so with nothing pending
    /// after a flush this is 0). Batches the worker took are no longer in it.
    pub queued_bytes: u64,
    /// The most bytes the queue ever held, the emitting threads' reservations included (a
    /// chunk of the budget per thread at a time): never more than `Config::queue_bytes`.
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
            + self.dropped_refused
            + self.dropped_spool_full
    }

    /// Whether `emitted == delivered + failed + dropped() + pending + spooled`.
    pub fn balanced(&self) -> bool {
        self.emitted == self.delivered + self.failed + self.dropped() + self.pending + self.spooled
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "emitted={} delivered={} failed={} pending={} spooled={} retried={} rejected_auth={} violations={} redacted={} ignored_fields={} dropped{{queue_full={} invalid={} no_identity={} opted_out={} closed={} too_large={} over_byte_budget={} refused={} spool_full={}}} client_refused={} queued_bytes={} queued_bytes_peak={}",
            self.emitted,
            self.delivered,
            self.failed,
            self.pending,
            self.spooled,
            self.retried,
            self.rejected_auth,
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
            self.dropped_refused,
            self.dropped_spool_full,
            self.client_refused,
            self.queued_bytes,
            self.queued_bytes_peak
        )?;
        if self.replayed + self.replay_dropped + self.spool_corrupt > 0 {
            write!(
                f,
                " earlier_spool{{replayed={} dropped={} corrupt_files={}}}",
                self.replayed, self.replay_dropped, self.spool_corrupt
            )?;
        }
        Ok(())
    }
}
