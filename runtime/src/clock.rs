//! Emit times: one read of a cycle counter on the emitting thread, turned into wall-clock time
//! on the worker.
//!
//! Reading the wall clock costs 27–40 ns on a virtual machine (a `clock_gettime` through the
//! vDSO); reading the TSC through `quanta` costs about 10. The worker converts stamps against
//! an [`Anchor`] (both clocks read once, together), so the events of one drain keep their order
//! and their distances exactly.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

/// The process's calibrated counter (the TSC where it is reliable, else the OS's monotonic
/// clock). Calibrating takes under a millisecond, once.
fn clock() -> &'static quanta::Clock {
    static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();
    CLOCK.get_or_init(quanta::Clock::new)
}

/// Calibrates the clock now (under a millisecond, once per process), so that no emit pays
/// for it: called when a tracker is built.
pub(crate) fn calibrate() {
    clock();
}

/// When an event was emitted, as a raw counter reading: ordered, but not a time of day until
/// an [`Anchor`] converts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Stamp(u64);

impl Stamp {
    /// Now.
    #[inline]
    pub(crate) fn now() -> Self {
        Stamp(clock().raw())
    }
}

/// The counter and the wall clock read together, to convert stamps to wall-clock time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Anchor {
    raw: u64,
    wall: SystemTime,
}

impl Anchor {
    /// Both clocks, now.
    pub(crate) fn now() -> Self {
        let raw = clock().raw();
        Anchor { raw, wall: SystemTime::now() }
    }

    /// The wall-clock time at which `stamp` was taken.
    pub(crate) fn wall_time(&self, stamp: Stamp) -> SystemTime {
        let clock = clock();
        if stamp.0 <= self.raw {
            let ago = Duration::from_nanos(clock.delta_as_nanos(stamp.0, self.raw));
            self.wall.checked_sub(ago).unwrap_or(self.wall)
        } else {
            let later = Duration::from_nanos(clock.delta_as_nanos(self.raw, stamp.0));
            self.wall.checked_add(later).unwrap_or(self.wall)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a test: failing loudly is the point

    use super::*;

    #[test]
    fn stamps_convert_to_the_wall_clock_time_they_were_taken_at() {
        let before = SystemTime::now();
        let stamp = Stamp::now();
        let after = SystemTime::now();
        // The interval the conversion must take back off (not a synchronization).
        std::thread::sleep(Duration::from_millis(20));
        let converted = Anchor::now().wall_time(stamp);
        // The conversion's error is the calibration's (parts per million of 20 ms) plus the
        // two clocks' reading times: far below a millisecond.
        let slack = Duration::from_millis(1);
        assert!(
            converted >= before - slack && converted <= after + slack,
            "{converted:?} not in [{before:?}, {after:?}]"
        );
    }

    #[test]
    fn stamps_after_the_anchor_convert_forward_and_keep_their_order() {
        let anchor = Anchor::now();
        let first = Stamp::now();
        let second = Stamp::now();
        assert!(first <= second);
        assert!(anchor.wall_time(first) >= anchor.wall);
        assert!(anchor.wall_time(first) <= anchor.wall_time(second));
    }
}
