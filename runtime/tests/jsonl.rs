//! The JSON-lines sink (the default when no PostHog key is configured) writing to a file: each
//! event is one line of the wire JSON PostHog would receive, in emit order, appended.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use tally_runtime::catalog::Catalog;
use tally_runtime::context::Context;
use tally_runtime::sink::JsonLinesSink;
use tally_runtime::{Config, Event, Identity, Tracker};

const SHUTDOWN: Duration = Duration::from_secs(20);

/// A file of its own in the temporary directory, removed when the test ends.
struct TempFile(PathBuf);

impl TempFile {
    fn new() -> Self {
        Self(std::env::temp_dir().join(format!("tally-jsonl-{}.jsonl", uuid::Uuid::new_v4())))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn teleport_tracker(path: &Path) -> Tracker {
    let catalog =
        Catalog::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/catalogs/teleport.toml")).unwrap();
    // RFC 4231 test case 2: HMAC-SHA256(key = "Jefe", "what do ya want for nothing?").
    Tracker::builder(catalog)
        .with_config(Config::default().pseudonymization_key("Jefe"))
        .with_process_identity("account", "acme-corp")
        .with_sink(JsonLinesSink::file(path).unwrap())
        .build()
        .unwrap()
}

async fn login(tracker: &Tracker, connector: &'static str) {
    Context::new()
        .with_identity(Identity::new().with("user", "what do ya want for nothing?"))
        .scope(async { tracker.emit(Event::new("user.login").with("connector_type", connector)).unwrap() })
        .await;
}

fn lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.ends_with('\n'), "every event ends its line: {text:?}");
    text.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_is_one_line_of_wire_json_appended_in_order() {
    let file = TempFile::new();
    let tracker = teleport_tracker(&file.0);
    login(&tracker, "github").await;
    login(&tracker, "saml").await;
    let counts = tracker.shutdown(SHUTDOWN).await;
    assert_eq!((counts.emitted, counts.delivered, counts.dropped()), (2, 2, 0), "{counts}");

    let events = lines(&file.0);
    assert_eq!(events.len(), 2);
    let first = &events[0];
    assert_eq!(first["event"], json!("tp.user.login"));
    assert_eq!(first["distinct_id"], json!("tp.acme-corp"));
    assert_eq!(
        first["properties"]["tp.user_name"],
        json!("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    );
    assert_eq!(first["properties"]["tp.connector_type"], json!("github"));
    assert_eq!(first["properties"]["$lib"], json!("tally"));
    let uuid: uuid::Uuid = first["uuid"].as_str().unwrap().parse().unwrap();
    assert_eq!(uuid.get_version_num(), 7);
    assert!(chrono::DateTime::parse_from_rfc3339(first["timestamp"].as_str().unwrap()).is_ok(), "{first}");
    assert_eq!(events[1]["properties"]["tp.connector_type"], json!("saml"));
    let text = std::fs::read_to_string(&file.0).unwrap();
    assert!(!text.contains("what do ya want"), "raw user name written: {text}");

    // A second process run appends to the same file.
    let tracker = teleport_tracker(&file.0);
    login(&tracker, "oidc").await;
    tracker.shutdown(SHUTDOWN).await;
    let events = lines(&file.0);
    let connectors: Vec<_> = events.iter().map(|e| e["properties"]["tp.connector_type"].clone()).collect();
    assert_eq!(connectors, [json!("github"), json!("saml"), json!("oidc")]);
}

#[test]
fn a_file_that_cannot_be_opened_is_an_error_not_a_panic() {
    let missing_dir = std::env::temp_dir().join(format!("tally-no-such-dir-{}", uuid::Uuid::new_v4()));
    let error = JsonLinesSink::file(missing_dir.join("events.jsonl")).err().unwrap();
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
}
