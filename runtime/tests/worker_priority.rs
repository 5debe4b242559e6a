//! The worker thread's scheduling priority, read back from Linux (`/proc`): a background
//! worker yields the CPU to the threads that serve requests.
//!
//! One test in its own binary: it finds the worker by its thread name, so no other tracker may
//! run beside it.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

use std::path::Path;
use std::time::Duration;

use tally_runtime::sink::MemorySink;
use tally_runtime::{Config, Tracker, WorkerPriority};

mod common;

/// A thread's nice value, from its `/proc` directory: field 19 of `stat`, counted from the
/// state (field 3) after the command's closing parenthesis.
fn nice(task: &Path) -> i32 {
    let stat = std::fs::read_to_string(task.join("stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 1..];
    after.split_whitespace().nth(16).unwrap().parse().unwrap()
}

/// The nice values of this process's threads named `name`.
fn nice_of_threads_named(name: &str) -> Vec<i32> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| {
            let path = task.ok()?.path();
            let comm = std::fs::read_to_string(path.join("comm")).ok()?;
            (comm.trim_end() == name).then(|| nice(&path))
        })
        .collect()
}

async fn tracker_with(priority: WorkerPriority) -> Tracker {
    let tracker = Tracker::builder(common::seed_catalog("timetracker"))
        .with_config(Config::default().pseudonymization_key("k").worker_priority(priority))
        .with_sink(MemorySink::new())
        .build()
        .unwrap();
    // The worker has applied its priority once it has answered a flush.
    tracker.flush().await;
    tracker
}

#[tokio::test]
async fn a_background_worker_runs_at_nice_10_and_a_normal_one_at_the_process_s_priority() {
    let own = nice_of_threads_named("tally-worker");
    assert!(own.is_empty(), "no worker before the first tracker: {own:?}");
    let process = nice(Path::new("/proc/thread-self"));

    let background = tracker_with(WorkerPriority::default()).await;
    assert_eq!(nice_of_threads_named("tally-worker"), [process.max(10)]);
    // Beside the first: the async shutdown does not join a worker thread, so this one is told
    // apart by its nice value, not by waiting for the first to go.
    let normal = tracker_with(WorkerPriority::Normal).await;
    let mut both = nice_of_threads_named("tally-worker");
    both.sort_unstable();
    assert_eq!(both, [process, process.max(10)]);
    background.shutdown(Duration::from_secs(10)).await;
    normal.shutdown(Duration::from_secs(10)).await;
}
