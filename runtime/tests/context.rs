//! The request context end to end at a loopback receiver: events take their identity and
//! common properties from the scope they are emitted in; a nested scope overrides; spawned
//! tasks carry the context only when told to.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

use std::time::Duration;

use serde_json::{Value, json};
use tally_receiver::{ReceivedEvent, Receiver};
use tally_runtime::catalog::Catalog;
use tally_runtime::context::Context;
use tally_runtime::context::InContext;
use tally_runtime::{Config, Event, Identity, Tracker};

mod common;

const WAIT: Duration = Duration::from_secs(20);

const CATALOG: &str = r#"
[catalog]
name = "notes"
version = "1.0.0"
[identity]
person = "user"
on_missing = "personless"
kinds.user = { description = "The signed-in user." }
[common.request_id]
type = "string"
fill = "request_id"
required = false
description = "The request."
[events."note.saved"]
description = "A note was saved."
trigger = "After commit."
properties.seq = { type = "integer", description = "Which emit of the test." }
properties.plan = { type = "string", fill = "context", required = false, description = "The account's plan." }
"#;

async fn receiver_and_tracker() -> (Receiver, Tracker) {
    let receiver = common::receiver().await;
    let catalog = Catalog::parse("notes.toml", CATALOG).unwrap();
    let config = common::delivering_to(&receiver, Config::default());
    (receiver, Tracker::builder(catalog).with_config(config).build().unwrap())
}

fn saved(tracker: &Tracker, seq: u64) {
    tracker.emit(Event::new("note.saved").with("seq", seq)).unwrap();
}

/// The delivered `note.saved` events, by `seq`.
async fn delivered(receiver: &Receiver, tracker: &Tracker, count: usize) -> Vec<ReceivedEvent> {
    tracker.flush().await;
    let mut events = receiver.wait_for_events(count, WAIT).await.unwrap();
    events.sort_by_key(|e| e.property("seq").and_then(Value::as_u64));
    events
}

fn keyed(event: &ReceivedEvent) -> (&str, Option<&Value>, Option<&Value>, Option<&Value>) {
    (
        event.distinct_id.as_str(),
        event.property("request_id"),
        event.property("plan"),
        event.property("$process_person_profile"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nested_scope_overrides_the_outer_one_and_sees_the_rest() {
    let (receiver, tracker) = receiver_and_tracker().await;
    let outer =
        Context::new().with_identity(Identity::user("u-1")).with_request_id("req-1").with_property("plan", "free");
    outer
        .scope(async {
            saved(&tracker, 1);
            Context::new()
                .with_identity(Identity::user("u-2"))
                .with_property("plan", "team")
                .scope(async { saved(&tracker, 2) })
                .await;
            // Back in the outer scope.
            saved(&tracker, 3);
        })
        .await;
    // Outside every scope: no identity, so personless (the catalog's `on_missing`).
    saved(&tracker, 4);

    let events = delivered(&receiver, &tracker, 4).await;
    assert_eq!(keyed(&events[0]), ("u-1", Some(&json!("req-1")), Some(&json!("free")), None));
    assert_eq!(keyed(&events[1]), ("u-2", Some(&json!("req-1")), Some(&json!("team")), None));
    assert_eq!(keyed(&events[2]), ("u-1", Some(&json!("req-1")), Some(&json!("free")), None));
    let outside = &events[3];
    assert_eq!((outside.property("request_id"), outside.property("plan")), (None, None));
    assert_eq!(outside.property("$process_person_profile"), Some(&json!(false)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spawned_task_carries_the_context_only_when_told_to() {
    let (receiver, tracker) = receiver_and_tracker().await;
    Context::new()
        .with_identity(Identity::user("u-1"))
        .with_request_id("req-1")
        .scope(async {
            let carried = tokio::spawn({
                let tracker = tracker.clone();
                async move { saved(&tracker, 1) }.in_current_context()
            });
            let detached = tokio::spawn({
                let tracker = tracker.clone();
                async move { saved(&tracker, 2) }
            });
            carried.await.unwrap();
            detached.await.unwrap();
        })
        .await;

    let events = delivered(&receiver, &tracker, 2).await;
    assert_eq!(keyed(&events[0]), ("u-1", Some(&json!("req-1")), None, None));
    assert_ne!(events[1].distinct_id, "u-1");
    assert_eq!(events[1].property("request_id"), None);
    assert_eq!(events[1].property("$process_person_profile"), Some(&json!(false)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_code_runs_in_a_scope_too() {
    let (receiver, tracker) = receiver_and_tracker().await;
    Context::new().with_identity(Identity::user("u-9")).sync_scope(|| saved(&tracker, 1));
    let events = delivered(&receiver, &tracker, 1).await;
    assert_eq!(events[0].distinct_id, "u-9");
}
