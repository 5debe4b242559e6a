//! The tracing layer's cost: ordinary events (no `tally.event`) with and without the layer,
//! and a tally event through tracing.
//!
//! `cargo bench -p tally-runtime --bench tracing`

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

use std::time::Duration;

use divan::Bencher;
use tally_receiver::Receiver;
use tally_runtime::catalog::Catalog;
use tally_runtime::tracing_layer::TallyLayer;
use tally_runtime::{Config, Tracker};
use tracing_subscriber::prelude::*;

fn main() {
    divan::main();
}

fn setup() -> (tokio::runtime::Runtime, Receiver, Tracker) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    // Counting, not storing: as in `emit.rs`, the receiver's memory must not be what is timed.
    let receiver = rt.block_on(Receiver::builder().keep_events(false).start()).unwrap();
    let catalog = Catalog::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/catalogs/workflows.toml")).unwrap();
    let config = Config::default().api_key("phc_bench").host(receiver.url()).queue_capacity(1 << 24);
    let tracker = Tracker::builder(catalog).with_config(config).build().unwrap();
    (rt, receiver, tracker)
}

fn five_fields() {
    tracing::info!(workflow_id = "wf-1", nodes = 5, cost = 0.25, trigger = "manual", organization_id = "org-1");
}

#[divan::bench(sample_count = 500, sample_size = 2000)]
fn plain_event_without_layer(bencher: Bencher) {
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry());
    bencher.bench_local(five_fields);
}

#[divan::bench(sample_count = 500, sample_size = 2000)]
fn plain_event_with_layer(bencher: Bencher) {
    let (_rt, _receiver, tracker) = setup();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(TallyLayer::with_tracker(tracker)));
    bencher.bench_local(five_fields);
}

#[divan::bench(sample_count = 200, sample_size = 500)]
fn tally_event_through_tracing(bencher: Bencher) {
    let (rt, _receiver, tracker) = setup();
    let guard = tracing::subscriber::set_default(
        tracing_subscriber::registry().with(TallyLayer::with_tracker(tracker.clone())),
    );
    // The worker drains between samples (untimed), as in `emit.rs`.
    let mut n = 0u32;
    bencher
        .with_inputs(|| {
            if n.is_multiple_of(500) {
                rt.block_on(tracker.flush());
            }
            n += 1;
        })
        .bench_local_values(|()| {
            tracing::info!(
                tally.event = "workflow.ran",
                workflow_id = "wf-1",
                nodes = 5,
                cost = 0.25,
                trigger = "manual",
                organization_id = "org-1"
            );
        });
    drop(guard);
    assert_eq!(tracker.counts().dropped_queue_full, 0);
    rt.block_on(tracker.shutdown(Duration::from_secs(120)));
}
