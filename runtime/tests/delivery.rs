//! Delivery through failures, at a loopback PostHog-compatible receiver whose controls inject
//! them: an outage (stopped, then started on the same port), a server that never answers, a
//! batch refused for one event, the disk spool across processes (child processes of this test
//! binary, one of them killed with SIGKILL), the spool's quota.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tally_receiver::ReceivedEvent;
use tally_runtime::context::Context;
use tally_runtime::{Config, Counts, Event, Identity, Tracker};

mod common;

const WAIT: Duration = Duration::from_secs(30);
const SHUTDOWN: Duration = Duration::from_secs(20);

fn tracker(config: Config) -> Tracker {
    Tracker::builder(common::seed_catalog("timetracker")).with_config(config.pseudonymization_key("k")).build().unwrap()
}

/// A fresh, empty directory for one test's spool.
fn spool_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tally-spool-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Waits until `done` holds for the tracker's counters (a condition, not a duration).
async fn until(tracker: &Tracker, done: impl Fn(&Counts) -> bool) -> Counts {
    let wait = async {
        loop {
            let counts = tracker.counts();
            if done(&counts) {
                return counts;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(WAIT, wait).await.unwrap_or_else(|_| panic!("condition not reached: {}", tracker.counts()))
}

fn tags(events: &[ReceivedEvent]) -> Vec<u64> {
    events.iter().map(|event| event.properties["size_bytes"].as_u64().unwrap()).collect()
}

fn assert_unique_uuids(events: &[ReceivedEvent]) {
    let uuids: HashSet<_> = events.iter().map(|event| event.uuid.clone().unwrap()).collect();
    assert_eq!(uuids.len(), events.len(), "every event arrives exactly once");
}

fn assert_balanced(counts: &Counts) {
    assert!(counts.balanced(), "emitted = delivered + failed + dropped + pending + spooled: {counts}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_longer_than_a_second_loses_nothing_and_duplicates_nothing() {
    let mut receiver = common::receiver().await;
    let tracker = tracker(common::delivering_to(&receiver, Config::default()));
    tracker.emit(common::backup(0)).unwrap();
    tracker.flush().await;
    receiver.stop().await;
    for tag in 1..=300 {
        tracker.emit(common::backup(tag)).unwrap();
        if tag % 50 == 0 {
            assert_balanced(&tracker.counts());
        }
    }
    // Five failed attempts of the first batch span at least 100+200+400+800 ms halved by
    // jitter, plus the first: more than the 0.7 s window that used to lose events.
    let during = until(&tracker, |counts| counts.retried >= 5).await;
    assert_balanced(&during);
    assert!(during.pending > 0, "{during}");
    assert_eq!(during.failed, 0, "{during}");
    receiver.restart().await.unwrap();
    let counts = tracker.shutdown(SHUTDOWN).await;
    assert_eq!((counts.emitted, counts.delivered, counts.pending, counts.failed), (301, 301, 0, 0), "{counts}");
    assert_balanced(&counts);
    let events = receiver.wait_for_events(301, WAIT).await.unwrap();
    assert_eq!(events.len(), 301);
    assert_unique_uuids(&events);
    assert_eq!(tags(&events), (0..=300).collect::<Vec<_>>(), "in emit order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_cannot_hold_shutdown_and_every_event_is_counted() {
    let receiver = common::receiver().await;
    receiver.hang(true);
    let timeout = Duration::from_millis(300);
    let deadline = Duration::from_secs(1);
    let tracker = tracker(common::delivering_to(&receiver, Config::default().request_timeout(timeout)));
    for tag in 0..100 {
        tracker.emit(common::backup(tag)).unwrap();
    }
    // Generous slack above deadline + request timeout: this catches a hang, not a slow machine.
    let counts = tokio::time::timeout(deadline + timeout + Duration::from_secs(10), tracker.shutdown(deadline))
        .await
        .expect("shutdown returns");
    assert!(receiver.hung() >= 1, "the server held the request");
    assert_eq!((counts.emitted, counts.failed, counts.pending), (100, 100, 0), "{counts}");
    assert!(counts.retried >= 1, "a timed-out request is retried: {counts}");
    assert_balanced(&counts);
    assert!(receiver.events().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_refused_for_one_event_loses_only_that_event() {
    let receiver = common::receiver().await;
    receiver.refuse_distinct_id("pr_bad");
    let config = common::delivering_to(&receiver, Config::default());
    let tracker = Tracker::builder(common::seed_catalog("authsome")).with_config(config).build().unwrap();
    for n in 0..20 {
        let principal = if n == 13 { "pr_bad".to_owned() } else { format!("pr_{n}") };
        Context::new()
            .with_identity(Identity::principal(principal))
            .scope(async {
                tracker.emit(Event::new("account_logged_in")).unwrap();
            })
            .await;
    }
    let counts = tracker.shutdown(SHUTDOWN).await;
    assert_eq!((counts.delivered, counts.dropped_refused, counts.failed, counts.pending), (19, 1, 0, 0), "{counts}");
    assert_balanced(&counts);
    let events = receiver.wait_for_events(19, WAIT).await.unwrap();
    let ids: Vec<_> = events.iter().map(|event| event.distinct_id.as_str()).collect();
    assert!(!ids.contains(&"pr_bad"));
    assert_eq!(ids.len(), 19);
    assert_unique_uuids(&events);
    assert!(receiver.rejected().iter().all(|rejection| rejection.event.as_deref() == Some("account_logged_in")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_host_a_zero_timeout_and_an_unusable_spool_dir_fail_the_build() {
    let vars = [("AUTHSOME_POSTHOG_API_KEY", "phc_x"), ("AUTHSOME_POSTHOG_HOST", "not a url")];
    let error = Tracker::builder(common::seed_catalog("timetracker"))
        .with_config(Config::from_vars("AUTHSOME", vars).pseudonymization_key("k"))
        .build()
        .unwrap_err()
        .to_string();
    assert!(error.contains("Config::host") && error.contains("AUTHSOME_POSTHOG_HOST"), "{error}");
    assert!(error.contains("http"), "{error}");

    let error = Tracker::builder(common::seed_catalog("timetracker"))
        .with_config(Config::default().request_timeout(Duration::ZERO).pseudonymization_key("k"))
        .build()
        .unwrap_err()
        .to_string();
    assert!(error.contains("Config::request_timeout"), "{error}");

    let file = spool_dir("not-a-dir");
    std::fs::write(&file, b"a file").unwrap();
    let vars = [("TALLY_SPOOL_DIR", file.join("spool").to_string_lossy().into_owned())];
    let error = Tracker::builder(common::seed_catalog("timetracker"))
        .with_config(Config::from_vars("", vars).pseudonymization_key("k"))
        .build()
        .unwrap_err()
        .to_string();
    assert!(error.contains("Config::spool_dir") && error.contains("TALLY_SPOOL_DIR"), "{error}");
    let _ = std::fs::remove_file(&file);
}

/// The variables a child process of this binary reads (see `child`).
const CHILD: &str = "TALLY_TEST_CHILD";

/// Runs one test of this binary as a child process with `vars`.
fn child(test: &str, vars: &[(&str, String)]) -> std::process::Command {
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command.args([test, "--exact", "--nocapture", "--test-threads=1"]).env(CHILD, "1");
    for (name, value) in vars {
        command.env(name, value);
    }
    command
}

/// In a child: a tracker from the environment (`TALLY_SPOOL_DIR`, `POSTHOG_HOST`, …) that
/// emits nothing and shuts down, delivering what its spool holds; prints its counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_delivers_the_spool() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let counts = tracker(Config::from_env()).shutdown(SHUTDOWN).await;
    println!("child counts: {counts}");
    assert_eq!(counts.spooled, 0, "{counts}");
    assert_balanced(&counts);
}

/// In a child: spools batch after batch (the host is down) until it is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_spools_until_killed() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let tracker = tracker(Config::from_env().retry_horizon(Duration::ZERO).request_timeout(Duration::from_secs(2)));
    for tag in 0.. {
        tracker.emit(common::backup(tag)).unwrap();
        tracker.flush().await;
        println!("spooled {}", tracker.counts().spooled);
    }
}

fn spooled_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".batch"))
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_at_shutdown_the_spool_is_delivered_by_the_next_process() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let dir = spool_dir("next-process");
    let mut receiver = common::receiver().await;
    receiver.stop().await;
    let tracker = tracker(common::delivering_to(&receiver, Config::default().spool_dir(&dir)));
    for tag in 0..50 {
        tracker.emit(common::backup(tag)).unwrap();
    }
    let counts = tracker.shutdown(Duration::from_secs(1)).await;
    assert_eq!((counts.emitted, counts.spooled, counts.pending, counts.failed), (50, 50, 0, 0), "{counts}");
    assert_balanced(&counts);
    assert!(!spooled_files(&dir).is_empty());

    receiver.restart().await.unwrap();
    let vars = [
        ("POSTHOG_API_KEY", common::API_KEY.to_owned()),
        ("POSTHOG_HOST", receiver.url()),
        ("TALLY_SPOOL_DIR", dir.to_string_lossy().into_owned()),
    ];
    let output = child("child_delivers_the_spool", &vars).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("child counts: emitted=0 delivered=0 failed=0 pending=0 spooled=0"), "{stdout}");
    assert!(stdout.contains("replayed=50"), "{stdout}");
    let events = receiver.wait_for_events(50, WAIT).await.unwrap();
    assert_eq!(tags(&events), (0..50).collect::<Vec<_>>(), "each once, in order");
    assert_unique_uuids(&events);
    assert!(spooled_files(&dir).is_empty(), "delivered batches are deleted");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_while_spooling_loses_no_whole_batch_and_a_torn_file_is_moved_aside() {
    use std::io::BufRead;
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let dir = spool_dir("killed");
    let mut receiver = common::receiver().await;
    receiver.stop().await;
    let vars = [
        ("POSTHOG_API_KEY", common::API_KEY.to_owned()),
        ("POSTHOG_HOST", receiver.url()),
        ("TALLY_SPOOL_DIR", dir.to_string_lossy().into_owned()),
    ];
    let mut spooler = child("child_spools_until_killed", &vars).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut lines = std::io::BufReader::new(spooler.stdout.take().unwrap()).lines();
    let mut spooled = 0;
    while spooled < 20 {
        let line = lines.next().expect("the child prints as it spools").unwrap();
        if let Some(n) = line.strip_prefix("spooled ") {
            spooled = n.parse().unwrap();
        }
    }
    spooler.kill().unwrap(); // SIGKILL
    spooler.wait().unwrap();
    // What a kill in the middle of a write leaves (the kill above may or may not land in one):
    // a temporary file with half a batch.
    std::fs::write(dir.join("99999999999999999999-3.tmp"), b"{\"tally_spool\":1,\"events\":3}\n{\"uuid\":").unwrap();
    let on_disk: u64 =
        spooled_files(&dir).iter().map(|name| name.split(['-', '.']).nth(1).unwrap().parse::<u64>().unwrap()).sum();
    assert!(on_disk >= spooled, "every batch the child reported spooled is on disk ({on_disk} < {spooled})");

    receiver.restart().await.unwrap();
    let next = tracker(common::delivering_to(&receiver, Config::default().spool_dir(&dir)));
    let counts = next.shutdown(SHUTDOWN).await;
    assert_balanced(&counts);
    assert!(counts.spool_corrupt >= 1, "{counts}");
    assert_eq!(counts.replayed, on_disk, "{counts}");
    let events = receiver.wait_for_events(on_disk as usize, WAIT).await.unwrap();
    assert_eq!(tags(&events), (0..on_disk).collect::<Vec<_>>(), "each once, in order");
    assert_unique_uuids(&events);
    assert!(dir.join("aside").join("99999999999999999999-3.tmp").exists(), "the torn file is moved aside");
    assert!(spooled_files(&dir).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_quota_the_oldest_batches_are_dropped_and_counted() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let dir = spool_dir("quota");
    let mut receiver = common::receiver().await;
    receiver.stop().await;
    // About three one-event batches fit.
    let config = Config::default().spool_dir(&dir).spool_max_bytes(1_500).retry_horizon(Duration::ZERO);
    let first = tracker(common::delivering_to(&receiver, config.clone()));
    for tag in 0..10 {
        first.emit(common::backup(tag)).unwrap();
        first.flush().await;
    }
    let counts = first.shutdown(Duration::from_secs(1)).await;
    assert!(counts.dropped_spool_full > 0, "{counts}");
    assert_eq!(counts.spooled + counts.dropped_spool_full, 10, "{counts}");
    assert_balanced(&counts);

    receiver.restart().await.unwrap();
    let next = tracker(common::delivering_to(&receiver, config));
    let replayed = next.shutdown(SHUTDOWN).await;
    assert_balanced(&replayed);
    assert_eq!(replayed.replayed, counts.spooled, "{replayed}");
    let events = receiver.wait_for_events(counts.spooled as usize, WAIT).await.unwrap();
    assert_eq!(tags(&events), (counts.dropped_spool_full..10).collect::<Vec<_>>(), "the newest are kept");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tracker_without_the_spools_lock_counts_what_it_cannot_spool_then_takes_the_lock_over() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let dir = spool_dir("locked");
    let mut receiver = common::receiver().await;
    receiver.stop().await;
    let config = common::delivering_to(&receiver, Config::default().spool_dir(&dir).retry_horizon(Duration::ZERO));
    let holder = tracker(config.clone());
    holder.emit(common::backup(0)).unwrap();
    holder.flush().await;
    assert_eq!(holder.counts().spooled, 1, "{}", holder.counts());

    // A second tracker on the same directory (a flock is per open file, so this is what a
    // second process sees): it cannot spool, and says so in its counters.
    let second = tracker(config);
    for tag in 1..=5 {
        second.emit(common::backup(tag)).unwrap();
    }
    second.flush().await;
    let counts = second.counts();
    assert_eq!((counts.emitted, counts.failed, counts.spooled, counts.pending), (5, 5, 0, 0), "{counts}");
    assert_balanced(&counts);

    // The holder stops (the server still down): its batch stays on disk, the lock is let go,
    // and the second tracker takes it over and delivers the batch once the server is back.
    let held = holder.shutdown(Duration::from_millis(500)).await;
    assert_eq!((held.spooled, held.pending), (1, 0), "{held}");
    assert_balanced(&held);
    receiver.restart().await.unwrap();
    let took_over = until(&second, |counts| counts.replayed == 1).await;
    assert_balanced(&took_over);
    let counts = second.shutdown(SHUTDOWN).await;
    assert_eq!((counts.failed, counts.replayed, counts.spooled), (5, 1, 0), "{counts}");
    let events = receiver.wait_for_events(1, WAIT).await.unwrap();
    assert_eq!(tags(&events), [0]);
    assert!(spooled_files(&dir).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
