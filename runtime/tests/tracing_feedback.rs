//! The feedback-loop guard, with a global subscriber so that the worker thread's own tracing
//! (a sink that logs, posthog-rs, reqwest) reaches the layer.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tally_runtime::catalog::Catalog;
use tally_runtime::sink::{Sink, SinkError, SinkFuture, WireEvent};
use tally_runtime::tracing_layer::TallyLayer;
use tally_runtime::{Config, Event, Tracker};
use tracing_subscriber::prelude::*;

/// A sink that logs through tracing, including a line that looks like a tally event.
#[derive(Clone, Default)]
struct LoggingSink {
    batches: Arc<AtomicUsize>,
}

impl Sink for LoggingSink {
    fn send<'a>(&'a self, batch: &'a [WireEvent]) -> SinkFuture<'a, Result<(), SinkError>> {
        tracing::info!(tally.event = "workflow.ran", workflow_id = "from-the-sink", size = batch.len(), "delivering");
        tracing::error!(error = "simulated", "delivery trouble");
        self.batches.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test]
async fn a_sink_that_logs_through_tracing_produces_no_events() {
    let catalog = Catalog::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/catalogs/workflows.toml")).unwrap();
    let sink = LoggingSink::default();
    let tracker = Tracker::builder(catalog).with_config(Config::default()).with_sink(sink.clone()).build().unwrap();
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_test_writer())
        .with(TallyLayer::with_tracker(tracker.clone()).with_errors_as_events(true))
        .init();

    tracker.emit(Event::new("workflow.ran").with("workflow_id", "wf-1")).unwrap();
    tracker.flush().await;
    tracker.emit(Event::new("workflow.ran").with("workflow_id", "wf-2")).unwrap();
    tracker.flush().await;
    let counts = tracker.counts();
    assert_eq!(sink.batches.load(Ordering::SeqCst), 2, "the sink ran, and logged, twice");
    assert_eq!((counts.emitted, counts.delivered), (2, 2), "{counts}");
}
