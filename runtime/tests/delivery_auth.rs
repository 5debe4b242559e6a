//! A refused project key: one ERROR line naming the host (never the key), the batch counted
//! `rejected_auth` and spooled, and delivered by the next tracker once the key is right.
//! In a file of its own: it installs a process-wide tracing subscriber (the worker logs from its
//! own thread) that captures the log lines.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tally_receiver::Receiver;
use tally_runtime::{Config, Tracker};

mod common;

const WRONG_KEY: &str = "phc_wrong_0123456789abcdef";

/// Log output, kept in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_is_logged_once_counted_spooled_and_delivered_after_the_fix() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let dir = std::env::temp_dir().join(format!("tally-spool-{}-auth", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let receiver: Receiver = common::receiver().await;
    let config = Config::default().host(receiver.url()).spool_dir(&dir).pseudonymization_key("k");
    let catalog = || common::seed_catalog("timetracker");

    let refused = Tracker::builder(catalog()).with_config(config.clone().api_key(WRONG_KEY)).build().unwrap();
    for tag in 0..5 {
        refused.emit(common::backup(tag)).unwrap();
        refused.flush().await;
    }
    let counts = refused.shutdown(Duration::from_secs(1)).await;
    // The first batch was refused; the ones after it queued up behind it in the spool, unsent.
    assert_eq!((counts.rejected_auth, counts.spooled, counts.failed, counts.pending), (1, 5, 0, 0), "{counts}");
    assert!(counts.balanced(), "{counts}");

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let errors: Vec<&str> = logs.lines().filter(|line| line.contains("ERROR")).collect();
    assert_eq!(errors.len(), 1, "one ERROR line, not one per batch:\n{logs}");
    assert!(errors[0].contains(&receiver.url()), "names the host: {}", errors[0]);
    assert!(errors[0].contains("refused the project key"), "{}", errors[0]);
    assert!(!logs.contains(WRONG_KEY), "the key never appears in a log line:\n{logs}");
    assert!(receiver.events().is_empty());

    let fixed = Tracker::builder(catalog()).with_config(config.api_key(common::API_KEY)).build().unwrap();
    let counts = fixed.shutdown(Duration::from_secs(20)).await;
    assert_eq!(counts.replayed, 5, "{counts}");
    assert!(counts.balanced(), "{counts}");
    let events = receiver.wait_for_events(5, Duration::from_secs(30)).await.unwrap();
    let tags: Vec<u64> = events.iter().map(|event| event.properties["size_bytes"].as_u64().unwrap()).collect();
    assert_eq!(tags, [0, 1, 2, 3, 4]);
    let _ = std::fs::remove_dir_all(&dir);
}
