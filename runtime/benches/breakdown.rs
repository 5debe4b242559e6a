//! Where the time goes: the wall clock, building a 5-property event, the emit call alone, and
//! the worker's processing capacity (validation, identity, privacy, wire events) with a sink
//! that discards.
//!
//! `cargo bench -p tally-runtime --bench breakdown`
//!
//! `cargo bench -p tally-runtime --bench breakdown -- --worker-cpu` measures instead the CPU
//! time the worker thread spends per event (from `/proc/self/task/*/schedstat`, in
//! nanoseconds), which the shared machine's load does not inflate the way it does wall time.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failing loudly is the point

use divan::Bencher;
use tally_runtime::catalog::Catalog;
use tally_runtime::sink::SinkFuture;
use tally_runtime::sink::{Sink, SinkError, WireEvent};
use tally_runtime::{Config, Tracker};

mod common;
use common::{CATALOG, five_properties, five_properties_chained};

fn main() {
    if std::env::args().any(|arg| arg == "--worker-cpu") {
        worker_cpu();
    } else {
        divan::main();
    }
}

/// Five rounds of 200 000 events to a discarding sink; for each, the worker thread's CPU time
/// per event, from emit to the sink, read once everything is delivered.
fn worker_cpu() {
    const EVENTS: u64 = 200_000;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut per_event = Vec::new();
    for _ in 0..5 {
        let earlier = worker_threads();
        let tracker = tracker();
        rt.block_on(tracker.flush());
        let worker = worker_threads().into_iter().find(|tid| !earlier.contains(tid)).unwrap();
        let before = cpu_ns(&worker);
        for i in 0..EVENTS {
            tracker.emit(five_properties(i)).unwrap();
        }
        rt.block_on(tracker.flush());
        let spent = cpu_ns(&worker) - before;
        let counts = rt.block_on(tracker.shutdown(std::time::Duration::from_secs(60)));
        assert_eq!(counts.delivered, EVENTS);
        per_event.push(spent as f64 / EVENTS as f64);
    }
    per_event.sort_by(f64::total_cmp);
    println!(
        "worker CPU per event: median {:.0} ns, fastest {:.0} ns, slowest {:.0} ns ({per_event:.0?})",
        per_event[2], per_event[0], per_event[4]
    );
}

/// The live `tally-worker` threads' `/proc` directories.
fn worker_threads() -> Vec<std::path::PathBuf> {
    let tasks = std::fs::read_dir("/proc/self/task").unwrap();
    let paths = tasks.map(|task| task.unwrap().path());
    paths
        .filter(|path| std::fs::read_to_string(path.join("comm")).unwrap_or_default().trim() == "tally-worker")
        .collect()
}

/// A thread's CPU time so far, in nanoseconds.
fn cpu_ns(task: &std::path::Path) -> u64 {
    let schedstat = std::fs::read_to_string(task.join("schedstat")).unwrap();
    schedstat.split_whitespace().next().unwrap().parse().unwrap()
}

struct Discard;

impl Sink for Discard {
    fn send<'a>(&'a self, _batch: &'a [WireEvent]) -> SinkFuture<'a, Result<(), SinkError>> {
        Box::pin(async { Ok(()) })
    }
}

fn tracker() -> Tracker {
    let catalog = Catalog::parse("bench.toml", CATALOG).unwrap();
    Tracker::builder(catalog)
        .with_config(Config::default().queue_capacity(1 << 24).queue_bytes(1 << 34))
        .with_sink(Discard)
        .build()
        .unwrap()
}

#[divan::bench(sample_count = 200, sample_size = 2000)]
fn wall_clock(b: Bencher) {
    b.bench_local(std::time::SystemTime::now);
}

/// Building and dropping the event: the drop happens on the worker in real use.
#[divan::bench(sample_count = 200, sample_size = 2000)]
fn build_event(b: Bencher) {
    let mut i = 0u64;
    b.bench_local(|| {
        i += 1;
        five_properties(i)
    });
}

/// `Tracker::emit` of an event built outside the timing; the worker drains between samples.
#[divan::bench(sample_count = 200, sample_size = 500)]
fn emit_built_event(b: Bencher) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let tracker = tracker();
    let mut n = 0u64;
    b.with_inputs(|| {
        n += 1;
        if n % 500 == 1 {
            rt.block_on(tracker.flush());
        }
        five_properties(n)
    })
    .bench_local_values(|event| tracker.emit(event).unwrap());
}

const PROCESSED: u64 = 20_000;

/// 20 000 events from emit until the worker has processed them into wire events and handed
/// them to a sink that discards them: the worker's capacity without a network.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn worker_capacity(b: Bencher) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    b.counter(divan::counter::ItemsCount::new(PROCESSED)).bench_local(|| {
        let tracker = tracker();
        for i in 0..PROCESSED {
            tracker.emit(five_properties(i)).unwrap();
        }
        let counts = rt.block_on(tracker.shutdown(std::time::Duration::from_secs(60)));
        assert_eq!(counts.delivered, PROCESSED);
    });
}

/// The same event through the builder chain, which moves the 360-byte event at every call.
#[divan::bench(sample_count = 200, sample_size = 2000)]
fn build_event_chained(b: Bencher) {
    let mut i = 0u64;
    b.bench_local(|| {
        i += 1;
        five_properties_chained(i)
    });
}
