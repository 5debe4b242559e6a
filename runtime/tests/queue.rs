//! The queue between emitting threads and the worker, end to end at a loopback receiver:
//! nothing is lost across threads, each thread's order is kept, a trickle is delivered without
//! a flush, and dropping the last handle delivers what was queued.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

use std::time::Duration;

use tally_receiver::Receiver;
use tally_runtime::{Config, Event, Tracker};

mod common;

const WAIT: Duration = Duration::from_secs(30);

async fn receiver_and_tracker() -> (Receiver, Tracker) {
    let receiver = common::receiver().await;
    let config = common::delivering_to(&receiver, Config::default().pseudonymization_key("k"));
    let tracker = Tracker::builder(common::seed_catalog("timetracker")).with_config(config).build().unwrap();
    (receiver, tracker)
}

/// `size_bytes` carries the thread and the sequence number.
fn backup(thread: u64, seq: u64) -> Event {
    common::backup(thread * 1_000_000 + seq)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emits_from_many_threads_all_arrive_each_thread_in_order() {
    const THREADS: u64 = 8;
    const PER_THREAD: u64 = 3_000;
    let (receiver, tracker) = receiver_and_tracker().await;
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let tracker = &tracker;
            scope.spawn(move || {
                for seq in 0..PER_THREAD {
                    tracker.emit(backup(thread, seq)).unwrap();
                }
            });
        }
    });
    tracker.flush().await;
    let counts = tracker.counts();
    assert_eq!(counts.delivered, THREADS * PER_THREAD, "{counts}");

    let events = receiver.wait_for_events((THREADS * PER_THREAD) as usize, WAIT).await.unwrap();
    let mut next = vec![0; THREADS as usize];
    for event in &events {
        let tag = event.properties["size_bytes"].as_u64().unwrap();
        let (thread, seq) = ((tag / 1_000_000) as usize, tag % 1_000_000);
        assert_eq!(seq, next[thread], "thread {thread}'s events arrive in the order it emitted them");
        next[thread] += 1;
    }
    assert!(next.iter().all(|&n| n == PER_THREAD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_batch_still_arrives_before_the_next() {
    let (receiver, tracker) = receiver_and_tracker().await;
    // The first request fails: the batch after it is ready meanwhile, but must wait.
    receiver.fail_next(1, tally_receiver::StatusCode::SERVICE_UNAVAILABLE);
    for seq in 0..3_000 {
        tracker.emit(backup(0, seq)).unwrap();
    }
    tracker.flush().await;
    let events = receiver.wait_for_events(3_000, WAIT).await.unwrap();
    let stored_by: std::collections::HashSet<usize> = events.iter().map(|e| e.request).collect();
    assert!(stored_by.len() < receiver.requests(), "one request was refused and sent again");
    let order: Vec<u64> = events.iter().map(|e| e.properties["size_bytes"].as_u64().unwrap()).collect();
    assert!(order.windows(2).all(|pair| pair[0] < pair[1]), "batches arrive in emit order, retries included");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickle_is_delivered_without_a_flush() {
    let (receiver, tracker) = receiver_and_tracker().await;
    for seq in 0..3 {
        tracker.emit(backup(0, seq)).unwrap();
    }
    // Far below a batch: the worker takes them when its idle wait ends, nobody wakes it.
    let events = receiver.wait_for_events(3, WAIT).await.unwrap();
    assert_eq!(events.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_last_handle_delivers_what_is_queued() {
    let (receiver, tracker) = receiver_and_tracker().await;
    for seq in 0..1_000 {
        tracker.emit(backup(0, seq)).unwrap();
    }
    drop(tracker);
    let events = receiver.wait_for_events(1_000, WAIT).await.unwrap();
    assert_eq!(events.len(), 1_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emits_after_shutdown_are_refused_and_counted() {
    let (_receiver, tracker) = receiver_and_tracker().await;
    tracker.emit(backup(0, 0)).unwrap();
    let counts = tracker.shutdown(WAIT).await;
    assert_eq!(counts.delivered, 1);
    assert!(matches!(tracker.emit(backup(0, 1)), Err(tally_runtime::EmitError::Closed)));
    assert_eq!(tracker.counts().dropped_closed, 1);
    // Nothing is left to wait for: both return at once, not at a deadline.
    tokio::time::timeout(WAIT, tracker.flush()).await.expect("a flush after shutdown returns");
    tokio::time::timeout(WAIT, tracker.shutdown(Duration::from_secs(3600))).await.expect("a second shutdown returns");
}
