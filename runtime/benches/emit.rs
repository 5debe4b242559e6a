//! The emit path and delivery throughput, tally against posthog-rs on the same machine.
//!
//! `cargo bench -p tally-runtime --bench emit`

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

use std::time::Duration;

use divan::Bencher;
use tally_receiver::Receiver;
use tally_runtime::catalog::Catalog;
use tally_runtime::context::Context;
use tally_runtime::{Config, Event, Identity, Tracker};

mod common;
use common::{CATALOG, five_properties, five_properties_chained};

fn main() {
    divan::main();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap()
}

/// The loopback receiver, checking and answering every request as PostHog would but only
/// counting the good events: storing them would make the receiver's memory, not the clients,
/// the larger part of what the delivery benchmarks measure.
async fn receiver() -> Receiver {
    Receiver::builder().keep_events(false).start().await.unwrap()
}

fn tracker(receiver: &Receiver, queue: usize) -> Tracker {
    let catalog = Catalog::parse("bench.toml", CATALOG).unwrap();
    let config = Config::default().api_key("phc_bench").host(receiver.url()).queue_capacity(queue);
    Tracker::builder(catalog).with_config(config).build().unwrap()
}

async fn posthog(receiver: &Receiver) -> posthog_rs::Client {
    let options = posthog_rs::ClientOptionsBuilder::default()
        .api_key("phc_bench".to_owned())
        .host(receiver.url())
        .max_queue_size(1 << 24)
        .build()
        .unwrap();
    posthog_rs::client(options).await
}

/// Emits timed per sample; between samples (untimed) the worker drains what the sample
/// emitted, so every sample measures a service whose worker keeps up, as in production. An
/// emit loop that outruns the worker for long is the overload case: `deliver_*` measures it.
const SAMPLE: u64 = 500;

/// What the caller pays to hand over a 5-property event. The queue is large enough that no
/// emit in the run hits the full-queue fast path.
#[divan::bench(sample_count = 200, sample_size = SAMPLE as u32)]
fn emit_tally(bencher: Bencher) {
    bench_emit(bencher, five_properties);
}

/// `emit_tally` with the event built through the builder chain (`Event::new(…).with(…)…`).
#[divan::bench(sample_count = 200, sample_size = SAMPLE as u32)]
fn emit_tally_chained(bencher: Bencher) {
    bench_emit(bencher, five_properties_chained);
}

fn bench_emit(bencher: Bencher, event: fn(u64) -> Event) {
    let rt = runtime();
    let receiver = rt.block_on(receiver());
    let tracker = tracker(&receiver, 1 << 24);
    let mut n = 0;
    bencher
        .with_inputs(|| {
            n += 1;
            if n % SAMPLE == 1 {
                rt.block_on(tracker.flush());
            }
            n
        })
        .bench_local_values(|i| tracker.emit(event(i)).unwrap());
    assert_eq!(tracker.counts().dropped_queue_full, 0, "the benchmark must not measure drops");
    rt.block_on(tracker.shutdown(Duration::from_secs(120)));
}

/// posthog-rs: `Event::new` + 5 `insert_prop` + `capture`, its queue drained between samples
/// in the same way.
#[divan::bench(sample_count = 200, sample_size = SAMPLE as u32)]
fn emit_posthog_rs(bencher: Bencher) {
    let rt = runtime();
    let receiver = rt.block_on(receiver());
    let client = rt.block_on(posthog(&receiver));
    let mut n = 0u64;
    bencher
        .with_inputs(|| {
            n += 1;
            if n % SAMPLE == 1 {
                rt.block_on(client.flush());
            }
            n
        })
        .bench_local_values(|i| {
            let mut event = posthog_rs::Event::new("project.created", "u-1");
            event.insert_prop("project_id", "p-42").unwrap();
            event.insert_prop("project_name", "Apollo").unwrap();
            event.insert_prop("has_client", true).unwrap();
            event.insert_prop("member_count", i).unwrap();
            event.insert_prop("budget", 1250.5).unwrap();
            client.capture(event);
        });
    rt.block_on(client.shutdown());
}

const DELIVERED: u64 = 100_000;

/// Emit 100 000 events and wait until the receiver has stored all of them.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn deliver_tally(bencher: Bencher) {
    let rt = runtime();
    bencher.counter(divan::counter::ItemsCount::new(DELIVERED)).bench_local(|| {
        rt.block_on(async {
            let receiver = receiver().await;
            let tracker = tracker(&receiver, 1 << 20);
            // Keyed by the same user as posthog-rs's events, so both send the same payload.
            Context::new().with_identity(Identity::user("u-1")).sync_scope(|| {
                for i in 0..DELIVERED {
                    tracker.emit(five_properties(i)).unwrap();
                }
            });
            tracker.shutdown(Duration::from_secs(120)).await;
            receiver.wait_for_count(DELIVERED as usize, Duration::from_secs(120)).await.unwrap();
        })
    });
}

/// `deliver_tally` with the disk spool enabled (`Config::spool_dir`) and the server healthy: the
/// spool costs nothing until a batch cannot be delivered.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn deliver_tally_spool_enabled(bencher: Bencher) {
    let rt = runtime();
    let dir = std::env::temp_dir().join(format!("tally-bench-spool-{}", std::process::id()));
    bencher.counter(divan::counter::ItemsCount::new(DELIVERED)).bench_local(|| {
        rt.block_on(async {
            let receiver = receiver().await;
            let catalog = Catalog::parse("bench.toml", CATALOG).unwrap();
            let config =
                Config::default().api_key("phc_bench").host(receiver.url()).queue_capacity(1 << 20).spool_dir(&dir);
            let tracker = Tracker::builder(catalog).with_config(config).build().unwrap();
            Context::new().with_identity(Identity::user("u-1")).sync_scope(|| {
                for i in 0..DELIVERED {
                    tracker.emit(five_properties(i)).unwrap();
                }
            });
            tracker.shutdown(Duration::from_secs(120)).await;
            receiver.wait_for_count(DELIVERED as usize, Duration::from_secs(120)).await.unwrap();
        })
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same 100 000 events through posthog-rs's own queue and worker.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn deliver_posthog_rs(bencher: Bencher) {
    let rt = runtime();
    bencher.counter(divan::counter::ItemsCount::new(DELIVERED)).bench_local(|| {
        rt.block_on(async {
            let receiver = receiver().await;
            let client = posthog(&receiver).await;
            for i in 0..DELIVERED {
                let mut event = posthog_rs::Event::new("project.created", "u-1");
                event.insert_prop("member_count", i).unwrap();
                event.insert_prop("project_id", "p-42").unwrap();
                event.insert_prop("project_name", "Apollo").unwrap();
                event.insert_prop("has_client", true).unwrap();
                event.insert_prop("budget", 1250.5).unwrap();
                client.capture(event);
            }
            client.flush().await;
            receiver.wait_for_count(DELIVERED as usize, Duration::from_secs(120)).await.unwrap();
            client.shutdown().await;
        })
    });
}
