//! The queue is bounded in bytes: 200 000 events of 10 KB each, emitted while delivery is
//! stalled, never take the tracker's own byte accounting past its budget; what does not fit
//! is dropped and counted apart from `queue_full`, and an event over the size cap is dropped
//! and counted as too large. Asserted from the tracker's counters, not from timing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

use std::time::Duration;

use tally_runtime::catalog::Catalog;
use tally_runtime::sink::SinkFuture;
use tally_runtime::sink::{Sink, SinkError, WireEvent};
use tally_runtime::{Config, EmitError, Event, Tracker};
use tokio::sync::watch;

const CATALOG: &str = r#"
[catalog]
name = "bytes"
version = "1.0.0"

[events."blob.stored"]
description = "A large text was stored."
trigger = "After commit."
properties.text = { type = "string", description = "Ten kilobytes." }
"#;

/// A sink that holds every delivery until it is opened: the worker stalls, the queue fills.
struct Stalled {
    open: watch::Receiver<bool>,
}

impl Sink for Stalled {
    fn send<'a>(&'a self, _batch: &'a [WireEvent]) -> SinkFuture<'a, Result<(), SinkError>> {
        let mut open = self.open.clone();
        Box::pin(async move {
            let _ = open.wait_for(|open| *open).await;
            Ok(())
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_kilobyte_events_stay_within_the_byte_budget_and_the_rest_is_counted() {
    let (opener, open) = watch::channel(false);
    let catalog = Catalog::parse("bytes.toml", CATALOG).unwrap();
    // The stalled deliveries must not time out while the queue fills.
    let config = Config::default().request_timeout(Duration::from_secs(600));
    let budget = Config::DEFAULT_QUEUE_BYTES as u64;
    assert_eq!(budget, 64 << 20, "the documented default");
    let tracker = Tracker::builder(catalog).with_config(config).with_sink(Stalled { open }).build().unwrap();

    let text = "x".repeat(10_000);
    let mut refused = 0_u64;
    for _ in 0..200_000 {
        match tracker.emit(Event::new("blob.stored").with("text", text.clone())) {
            Ok(()) => {}
            Err(EmitError::OverByteBudget) => refused += 1,
            Err(other) => panic!("{other}"),
        }
    }
    let counts = tracker.counts();
    assert!(counts.balanced(), "mid-run, with deliveries stalled: {counts}");
    assert!(counts.queued_bytes_peak <= budget, "{counts}");
    // ...and it was that default in force, not a smaller budget: the queue filled most of it.
    assert!(counts.queued_bytes_peak >= budget / 2, "{counts}");
    assert!(counts.queued_bytes <= budget, "{counts}");
    assert!(counts.dropped_over_byte_budget > 0, "{counts}");
    assert_eq!(counts.dropped_over_byte_budget, refused);
    assert_eq!(counts.dropped_queue_full, 0, "counted apart from queue_full: {counts}");
    // What was accepted fits the budget, but for the batches the stalled worker holds (two
    // deliveries in flight and one being filled): what it drained stays charged until
    // processed.
    let accepted = counts.emitted - counts.dropped_over_byte_budget;
    assert!(accepted * 10_000 <= budget + 3 * 500 * 10_300, "{accepted} accepted: {counts}");

    // Over the size cap (32 KiB by default): dropped and counted as too large.
    let huge = "y".repeat(40_000);
    assert!(matches!(tracker.emit(Event::new("blob.stored").with("text", huge)), Err(EmitError::TooLarge { .. })));

    opener.send(true).unwrap();
    // Settled first (a flush has no deadline; a slow debug build may need it), then stopped.
    tracker.flush().await;
    let settled = tracker.counts();
    assert_eq!((settled.pending, settled.queued_bytes), (0, 0), "nothing pending, nothing held: {settled}");
    let counts = tracker.shutdown(Duration::from_secs(60)).await;
    assert_eq!(counts.dropped_too_large, 1, "{counts}");
    assert_eq!((counts.delivered, counts.failed), (accepted, 0), "{counts}");
    assert!(counts.balanced(), "{counts}");
    assert_eq!(counts.emitted, counts.delivered + counts.failed + counts.dropped(), "{counts}");
}

/// A few events, then a flush: with nothing pending the queue holds no bytes, not even the
/// room the emitting threads reserved (the quickstart used to print `queued_bytes=57974` with
/// `pending=0`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_flushed_nothing_is_pending_and_the_queue_holds_no_bytes() {
    let catalog = Catalog::parse("bytes.toml", CATALOG).unwrap();
    let sink = tally_runtime::sink::MemorySink::new();
    let tracker = Tracker::builder(catalog).with_config(Config::default()).with_sink(sink.clone()).build().unwrap();
    for round in 0..3 {
        // From several threads, so that several shards hold reservations.
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| tracker.emit(Event::new("blob.stored").with("text", "a short text")).unwrap());
            }
        });
        tracker.flush().await;
        let counts = tracker.counts();
        assert_eq!((counts.emitted, counts.delivered), (4 * (round + 1), 4 * (round + 1)), "{counts}");
        assert_eq!((counts.pending, counts.queued_bytes), (0, 0), "{counts}");
        assert!(counts.queued_bytes_peak > 0, "{counts}");
        assert!(counts.balanced(), "{counts}");
    }
    assert_eq!(sink.events().len(), 12);
    tracker.shutdown(Duration::from_secs(10)).await;
}
