//! The process-wide default tracker: what the macros, the tracing layer and the middleware use
//! when no tracker is in scope. It can be installed once per process, so each test runs in a
//! process of its own (this test binary, run again for that test alone).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

use std::time::Duration;

use tally_receiver::Receiver;
use tally_runtime::{Config, EmitError, InstallError, Tracker, TrackerBuilder};

mod common;

const WAIT: Duration = Duration::from_secs(20);
const CHILD: &str = "TALLY_GLOBAL_TEST_CHILD";

/// In the parent: runs `test` in a child process, asserts that it passed, and returns false.
/// In that child: returns true, and the test goes on.
fn in_own_process(test: &str) -> bool {
    if std::env::var(CHILD).is_ok_and(|name| name == test) {
        return true;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD, test)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{test} failed in its own process\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    false
}

fn builder(receiver: &Receiver) -> TrackerBuilder {
    let config = common::delivering_to(receiver, Config::default().pseudonymization_key("k"));
    Tracker::builder(common::seed_catalog("timetracker")).with_config(config)
}

#[test]
fn without_a_tracker_emits_are_no_ops_then_the_installed_one_takes_them_until_shutdown() {
    if !in_own_process("without_a_tracker_emits_are_no_ops_then_the_installed_one_takes_them_until_shutdown") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        // Nothing installed, no tracker built: every emit is an `Ok` no-op.
        assert!(!tally_runtime::routing::is_active());
        assert!(tally_runtime::routing::current().is_none());
        tally_runtime::routing::emit(common::backup(0)).unwrap();

        let receiver = common::receiver().await;
        let guard = builder(&receiver).install().unwrap();
        assert!(tally_runtime::routing::is_active());
        assert!(tally_runtime::routing::current().is_some());
        for seq in 1..=3 {
            tally_runtime::routing::emit(common::backup(seq)).unwrap();
        }
        let again = builder(&receiver).install().err().unwrap();
        assert!(matches!(again, InstallError::AlreadyInstalled), "{again}");

        // A tracker scoped around the task wins over the default.
        let other_receiver = common::receiver().await;
        let other = builder(&other_receiver).build().unwrap();
        other.scope(async { tally_runtime::routing::emit(common::backup(4)).unwrap() }).await;
        other.shutdown(WAIT).await;
        assert_eq!(other_receiver.events().len(), 1);

        let counts = guard.shutdown(WAIT).await;
        assert_eq!((counts.emitted, counts.delivered, counts.dropped()), (3, 3, 0), "{counts}");
        let sizes: Vec<_> = receiver.events().iter().map(|e| e.property("size_bytes").cloned()).collect();
        assert_eq!(sizes, [Some(1.into()), Some(2.into()), Some(3.into())]);

        // After shutdown the default refuses, and counts, what is emitted.
        assert!(matches!(tally_runtime::routing::emit(common::backup(5)), Err(EmitError::Closed)));
        assert_eq!(tally_runtime::routing::current().unwrap().counts().dropped_closed, 1);
    });
}

#[test]
fn dropping_the_guard_outside_a_runtime_delivers_everything_before_it_returns() {
    if !in_own_process("dropping_the_guard_outside_a_runtime_delivers_everything_before_it_returns") {
        return;
    }
    // The receiver runs on a runtime's own threads; this thread stays synchronous, as `main`
    // is in a program without async.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let receiver = runtime.block_on(common::receiver());
    let guard = builder(&receiver).install().unwrap();
    for seq in 0..1_000 {
        tally_runtime::routing::emit(common::backup(seq)).unwrap();
    }
    drop(guard);
    // No waiting: the drop returned once the worker had delivered everything.
    assert_eq!(receiver.accepted(), 1_000);
    assert_eq!(tally_runtime::routing::current().unwrap().counts().delivered, 1_000);
}

#[test]
fn dropping_the_guard_inside_a_runtime_returns_at_once_and_still_delivers() {
    if !in_own_process("dropping_the_guard_inside_a_runtime_returns_at_once_and_still_delivers") {
        return;
    }
    // One thread for everything, the receiver included: the drop must neither wait on this
    // thread (the receiver could not answer) nor run a runtime of its own here (that panics).
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let receiver = common::receiver().await;
        let guard = builder(&receiver).install().unwrap();
        for seq in 0..1_000 {
            tally_runtime::routing::emit(common::backup(seq)).unwrap();
        }
        drop(guard);
        // A helper thread shuts the tracker down; the receiver answers once this task waits.
        receiver.wait_for_count(1_000, WAIT).await.unwrap();
    });
}
