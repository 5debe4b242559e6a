//! The disk spool's throughput (issue #18): how fast undeliverable batches go to disk while the
//! server is down, and how fast a spool directory is delivered (replayed) once it answers.
//!
//! `cargo bench -p tally-runtime --all-features --bench spool`
//!
//! The spool directory is under the target directory (`CARGO_TARGET_TMPDIR`), on the same disk
//! as the build, not on a tmpfs: every batch is written, synced and renamed, and the directory
//! synced, so what is timed includes real `fsync`s.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failing loudly is the point

use std::path::{Path, PathBuf};
use std::time::Duration;

use divan::Bencher;
use divan::counter::{BytesCount, ItemsCount};
use tally_receiver::Receiver;
use tally_runtime::catalog::Catalog;
use tally_runtime::context::Context;
use tally_runtime::{Config, Identity, Tracker};

mod common;
use common::{CATALOG, five_properties};

fn main() {
    divan::main();
}

/// Events per sample: 100 spool files of 500 events (`Config::batch_size`'s default).
const EVENTS: u64 = 50_000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap()
}

/// A directory of its own under the target directory, emptied.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tally-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The bytes of the spool files in `dir`.
fn spooled_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".batch"))
        .map(|entry| entry.metadata().unwrap().len())
        .sum()
}

fn tracker(receiver_url: &str, dir: &Path) -> Tracker {
    let catalog = Catalog::parse("bench.toml", CATALOG).unwrap();
    let config = Config::default()
        .api_key("phc_bench")
        .host(receiver_url)
        .queue_capacity(1 << 20)
        .spool_dir(dir)
        // Down means down: a batch that fails once goes to the spool, as after a long outage.
        .retry_horizon(Duration::ZERO);
    Tracker::builder(catalog).with_config(config).build().unwrap()
}

fn emit_all(tracker: &Tracker) {
    Context::new().with_identity(Identity::user("u-1")).sync_scope(|| {
        for i in 0..EVENTS {
            tracker.emit(five_properties(i)).unwrap();
        }
    });
}

/// A receiver that answers nothing: started, then stopped (its port refuses connections).
async fn down_receiver() -> Receiver {
    let mut receiver = Receiver::builder().keep_events(false).start().await.unwrap();
    receiver.stop().await;
    receiver
}

/// Spools `EVENTS` events into `dir` with the server down; returns the spool's bytes.
fn fill_spool(rt: &tokio::runtime::Runtime, url: &str, dir: &Path) -> u64 {
    let tracker = tracker(url, dir);
    emit_all(&tracker);
    rt.block_on(tracker.flush());
    let counts = rt.block_on(tracker.shutdown(Duration::from_millis(100)));
    assert_eq!(counts.spooled, EVENTS, "{counts}");
    spooled_bytes(dir)
}

/// A tracker shut down when dropped, after the sample is timed (so that it does not keep trying
/// the down server in the background while the next sample runs).
struct Stopping<'a> {
    tracker: Tracker,
    rt: &'a tokio::runtime::Runtime,
}

impl Drop for Stopping<'_> {
    fn drop(&mut self) {
        self.rt.block_on(self.tracker.shutdown(Duration::from_millis(100)));
    }
}

/// Emit 50 000 events with the server down, until all are on disk (`flush` answers once every
/// batch is spooled). Timed: the emits, the pipeline, and 100 spool files written and synced;
/// the tracker is built before and shut down after.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn spool_write_server_down(bencher: Bencher) {
    let rt = runtime();
    let receiver = rt.block_on(down_receiver());
    let url = receiver.url();
    let dir = fresh_dir("spool-write");
    let bytes = fill_spool(&rt, &url, &dir);
    bencher
        .counter(ItemsCount::new(EVENTS))
        .counter(BytesCount::new(bytes))
        .with_inputs(|| {
            let _ = std::fs::remove_dir_all(&dir);
            Stopping { tracker: tracker(&url, &dir), rt: &rt }
        })
        .bench_local_refs(|input| {
            emit_all(&input.tracker);
            rt.block_on(input.tracker.flush());
            assert_eq!(input.tracker.counts().spooled, EVENTS);
        });
    let _ = std::fs::remove_dir_all(&dir);
}

/// A spool of 50 000 events (100 files, made once with the server down and copied afresh for
/// each sample) delivered to a healthy loopback receiver by a new tracker. Timed: building the
/// tracker (it scans the directory), until the receiver has counted every event, and the
/// tracker's shutdown (the spool is empty by then).
#[divan::bench(sample_count = 5, sample_size = 1)]
fn replay_to_receiver(bencher: Bencher) {
    let rt = runtime();
    let down = rt.block_on(down_receiver());
    let template = fresh_dir("replay-template");
    let bytes = fill_spool(&rt, &down.url(), &template);
    let dir = fresh_dir("replay");
    bencher
        .counter(ItemsCount::new(EVENTS))
        .counter(BytesCount::new(bytes))
        .with_inputs(|| {
            let _ = std::fs::remove_dir_all(&dir);
            copy_dir(&template, &dir);
            rt.block_on(Receiver::builder().keep_events(false).start()).unwrap()
        })
        .bench_local_refs(|receiver| {
            let tracker = tracker(&receiver.url(), &dir);
            rt.block_on(async {
                receiver.wait_for_count(EVENTS as usize, Duration::from_secs(120)).await.unwrap();
                let counts = tracker.shutdown(Duration::from_secs(10)).await;
                assert_eq!(counts.replayed, EVENTS, "{counts}");
            });
        });
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&template);
}

/// Copies the spool files (not the lock file, not `aside/`).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name().to_string_lossy().ends_with(".batch") {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}
