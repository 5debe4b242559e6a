//! The last gate, end to end: every value of the privacy corpus pushed through every position
//! an event has (value, nested value, object key, array item, each fill, `$set`, each
//! identifier, a flag-mode violation, a WARN log, a strict-mode error), delivered to the
//! loopback receiver. Nothing personal arrives; ordinary values arrive untouched; identifiers
//! that look personal or break PostHog's rules refuse their own event and no other.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

mod common;
#[path = "common/privacy_corpus.rs"]
mod privacy_corpus;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use privacy_corpus::{CORPUS, Expect};
use serde_json::{Value, json};
use tally_runtime::catalog::Catalog;
use tally_runtime::context::{Context, RequestInfo};
use tally_runtime::{Config, Counts, DistinctId, EmitError, Event, Identity, Tracker, ValidationMode};

const SHUTDOWN: Duration = Duration::from_secs(10);
const WAIT: Duration = Duration::from_secs(10);

const CATALOG: &str = r#"
[catalog]
name = "gate"
version = "1.0.0"

[identity]
person = "user"
on_missing = "personless"
kinds.user = { description = "The user's id." }

[groups.organization]
description = "The organization."

[common]
user_agent = { type = "string", required = false, fill = "user_agent", description = "UA." }
session_id = { type = "string", required = false, fill = "session_id", description = "Session." }
request_id = { type = "string", required = false, fill = "request_id", description = "Request." }
org = { type = "string", required = false, fill = "group.organization", description = "Org." }
origin = { type = "string", required = false, fill = "context", description = "From a resolver." }

[events."note.saved"]
description = "A note was saved."
trigger = "After commit."
properties.text = { type = "string", required = false, description = "Free text." }
properties.meta = { type = "object", required = false, description = "Nested." }
properties.tags = { type = "array", items = "string", required = false, description = "Items." }
properties.kind = { type = "enum", values = ["a", "b"], required = false, description = "An enum." }
properties.n = { type = "integer", required = false, description = "Tells events apart." }
set.last_note = { from = "property.text", description = "Person property." }
"#;

fn catalog() -> Catalog {
    Catalog::parse("gate.toml", CATALOG).unwrap_or_else(|error| panic!("{error}"))
}

/// emitted = delivered + failed + dropped (by reason) + pending + spooled; after shutdown
/// nothing is pending or spooled.
fn assert_invariant(counts: &Counts) {
    assert!(counts.balanced(), "{counts}");
    assert_eq!((counts.pending, counts.spooled), (0, 0), "{counts}");
    assert_eq!(counts.emitted, counts.delivered + counts.failed + counts.dropped(), "{counts}");
}

async fn start(config: Config) -> (tally_receiver::Receiver, Tracker) {
    let receiver = common::receiver().await;
    let tracker = Tracker::builder(catalog())
        .with_config(common::delivering_to(&receiver, config.pseudonymization_key("k")))
        .build()
        .unwrap_or_else(|error| panic!("{error}"));
    (receiver, tracker)
}

fn expected(input: &str, expect: Expect) -> String {
    match expect {
        Expect::Redacted { out, .. } => out.to_owned(),
        Expect::Kept => input.to_owned(),
    }
}

fn is_personal(expect: Expect) -> bool {
    matches!(expect, Expect::Redacted { .. })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_text_is_scrubbed_at_every_depth_and_in_every_fill() {
    assert!(CORPUS.len() >= 60, "the corpus has {} values", CORPUS.len());
    let (receiver, tracker) = start(Config::default()).await;
    for (n, (input, _)) in CORPUS.iter().enumerate() {
        let request = RequestInfo { user_agent: Some((*input).to_owned()), ..RequestInfo::default() };
        let context = Context::new()
            .with_identity(Identity::user("u-7"))
            .with_request_info(request)
            .with_property("origin", *input);
        let event = Event::new("note.saved")
            .with("n", n as u64)
            .with("text", *input)
            .with("meta", json!({"a": {"b": input}, *input: 1}))
            .with("tags", json!([input]));
        context.sync_scope(|| tracker.emit(event)).unwrap();
    }
    let counts = tracker.shutdown(SHUTDOWN).await;
    let events = receiver.wait_for_events(CORPUS.len(), WAIT).await.unwrap();
    assert_eq!(events.len(), CORPUS.len());
    for event in &events {
        let n = event.property("n").and_then(Value::as_u64).unwrap() as usize;
        let (input, expect) = CORPUS[n];
        let out = expected(input, expect);
        let at = |name: &str| event.property(name).cloned();
        assert_eq!(at("text"), Some(json!(out)), "value: {input:?}");
        assert_eq!(at("meta").map(|m| m["a"]["b"].clone()), Some(json!(out)), "nested value: {input:?}");
        assert!(
            at("meta").unwrap().as_object().unwrap().contains_key(&out),
            "object key: {input:?} -> {:?}",
            at("meta")
        );
        assert_eq!(at("tags"), Some(json!([out])), "array item: {input:?}");
        assert_eq!(at("user_agent"), Some(json!(out)), "user agent fill: {input:?}");
        assert_eq!(at("origin"), Some(json!(out)), "context fill: {input:?}");
        assert_eq!(at("$set").map(|s| s["last_note"].clone()), Some(json!(out)), "$set: {input:?}");
        if is_personal(expect) {
            let body = serde_json::to_string(&event.properties).unwrap();
            assert!(!body.contains(input), "{input:?} arrived: {body}");
        }
    }
    assert_eq!(counts.delivered, CORPUS.len() as u64);
    assert_invariant(&counts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identifiers_that_look_personal_refuse_their_event_and_ordinary_ones_arrive_untouched() {
    let (receiver, tracker) = start(Config::default()).await;
    let mut expected_arrivals = Vec::new();
    let mut refused = 0;
    for (n, (input, expect)) in CORPUS.iter().enumerate() {
        let positions: [(&str, Context); 4] = [
            ("distinct_id", Context::new().with_identity(Identity::user(*input))),
            ("session_id", Context::new().with_session_id(*input)),
            ("request_id", Context::new().with_request_id(*input)),
            ("org", Context::new().with_group("organization", *input)),
        ];
        for (position, context) in positions {
            let usable_as_id = tally_runtime::posthog_rules::check_distinct_id(input).is_ok();
            if position == "distinct_id" && !usable_as_id {
                continue; // PostHog's own rules: covered by the next test.
            }
            context.sync_scope(|| tracker.emit(Event::new("note.saved").with("n", n as u64))).unwrap();
            if is_personal(*expect) {
                refused += 1;
            } else {
                expected_arrivals.push((n, position));
            }
        }
    }
    let counts = tracker.shutdown(SHUTDOWN).await;
    let events = receiver.wait_for_events(expected_arrivals.len(), WAIT).await.unwrap();
    let notes: Vec<_> = events.iter().filter(|e| e.event == "note.saved").collect();
    assert_eq!(notes.len(), expected_arrivals.len());
    for event in &notes {
        let n = event.property("n").and_then(Value::as_u64).unwrap() as usize;
        let input = CORPUS[n].0;
        assert!(!is_personal(CORPUS[n].1), "{input:?} arrived as an identifier");
        // Whichever position it was sent in, it arrives as it went in.
        let arrived_untouched = event.distinct_id == input
            || event.property("session_id") == Some(&json!(input))
            || event.property("request_id") == Some(&json!(input))
            || event.property("org") == Some(&json!(input))
                && event.property("$groups") == Some(&json!({"organization": input}));
        assert!(arrived_untouched, "{input:?}: {event:?}");
    }
    for event in &events {
        let body = serde_json::to_string(&event.properties).unwrap() + &event.distinct_id;
        for (input, expect) in CORPUS {
            if is_personal(*expect) && input.len() >= 6 {
                assert!(!body.contains(input), "{input:?} arrived: {body}");
            }
        }
    }
    assert_eq!(counts.dropped_invalid, refused);
    assert_invariant(&counts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_illegal_distinct_id_is_refused_per_event_and_never_reaches_the_receiver() {
    let (receiver, tracker) = start(Config::default()).await;
    let long = "x".repeat(201);
    let illegal = [
        "\t",
        "   ",
        "\u{a0}",
        "anonymous",
        "guest",
        "id",
        "distinct_id",
        "not_authenticated",
        "email",
        "undefined",
        "true",
        "false",
        "null",
        "None",
        "NaN",
        "0",
        "[object Object]",
        long.as_str(),
    ];
    for (n, id) in illegal.iter().enumerate() {
        Context::new()
            .with_identity(Identity::user(*id))
            .sync_scope(|| tracker.emit(Event::new("note.saved").with("n", n as u64)))
            .unwrap();
        // A good event between each bad one: it arrives, in the same batch.
        Context::new()
            .with_identity(Identity::user(format!("u-{n}")))
            .sync_scope(|| tracker.emit(Event::new("note.saved").with("n", n as u64)))
            .unwrap();
    }
    // An explicit empty distinct_id and an empty event name are refused too.
    tracker.emit(Event::new("note.saved").with_distinct_id(DistinctId::new(""))).unwrap();
    tracker.emit(Event::new("")).unwrap();
    let counts = tracker.shutdown(SHUTDOWN).await;
    let events = receiver.wait_for_events(illegal.len(), WAIT).await.unwrap();
    assert_eq!(events.len(), illegal.len());
    for event in &events {
        assert!(event.distinct_id.starts_with("u-"), "{:?} arrived", event.distinct_id);
    }
    assert!(receiver.rejected().is_empty(), "no batch was refused: {:?}", receiver.rejected());
    assert_eq!(counts.dropped_invalid, illegal.len() as u64 + 2);
    assert_eq!(counts.delivered, illegal.len() as u64);
    assert_invariant(&counts);
}

/// A `tracing` writer into a shared buffer: the WARN lines as a real subscriber formats them.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One event whose violations involve every corpus value: as unknown property names, as
/// an enum value, and as a value of the wrong type.
fn violating_event() -> Event {
    let mut event = Event::new("note.saved");
    for (input, _) in CORPUS {
        event.insert(input.to_string(), 1_u64);
    }
    event.with("kind", CORPUS[0].0).with("n", CORPUS[1].0)
}

fn assert_no_personal_value_in(text: &str, position: &str) {
    for (input, expect) in CORPUS {
        if is_personal(*expect) {
            assert!(!text.contains(input), "{position} repeats {input:?}: {text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn violations_name_property_and_rule_never_the_value() {
    // Flag mode: the event arrives without the invalid values, and its violations without them.
    let (receiver, tracker) = start(Config::default().validation(ValidationMode::Flag)).await;
    tracker.emit(violating_event()).unwrap();
    let counts = tracker.shutdown(SHUTDOWN).await;
    let events = receiver.wait_for_events(1, WAIT).await.unwrap();
    assert_eq!(events[0].property("kind"), None, "flag mode never sends the invalid value");
    assert_eq!(events[0].property("n"), None);
    let violations = events[0].property("$tally_violations").unwrap().to_string();
    assert!(violations.contains("property `kind`"), "{violations}");
    assert_no_personal_value_in(&serde_json::to_string(&events[0].properties).unwrap(), "a flagged event");
    assert_invariant(&counts);

    // Drop mode: one WARN line, captured by a real subscriber.
    // Global: the warning is logged on the tracker's worker thread.
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let (receiver, tracker) = start(Config::default()).await;
    tracker.emit(violating_event()).unwrap();
    let counts = tracker.shutdown(SHUTDOWN).await;
    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("WARN") && logged.contains("property `kind`"), "{logged}");
    assert_no_personal_value_in(&logged, "the WARN log");
    assert_eq!((counts.dropped_invalid, receiver.requests()), (1, 0));
    assert_invariant(&counts);

    // Strict mode: the error's text.
    let (_receiver, tracker) = start(Config::default().validation(ValidationMode::Strict)).await;
    let error = tracker.emit(violating_event()).unwrap_err();
    assert!(matches!(error, EmitError::Invalid(_)));
    assert_no_personal_value_in(&error.to_string(), "the strict-mode error");
    assert_no_personal_value_in(&format!("{error:?}"), "the strict-mode error's Debug");
    let counts = tracker.shutdown(SHUTDOWN).await;
    assert_invariant(&counts);
}
