//! The tracing layer through a real subscriber stack (fmt + EnvFilter + tally), delivering to
//! a PostHog-compatible receiver on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

use std::time::Duration;

use serde_json::json;
use tally_receiver::{ReceivedEvent, Receiver};
use tally_runtime::catalog::Catalog;
use tally_runtime::context::Context;
use tally_runtime::tracing_layer::TallyLayer;
use tally_runtime::{Config, Identity, Tracker};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;

mod common;

const WAIT: Duration = Duration::from_secs(20);

async fn setup() -> (Receiver, Tracker) {
    let receiver = common::receiver().await;
    let catalog = Catalog::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/catalogs/workflows.toml")).unwrap();
    let config = common::delivering_to(&receiver, Config::default());
    let tracker = Tracker::builder(catalog).with_config(config).build().unwrap();
    (receiver, tracker)
}

/// fmt + EnvFilter + the tally layer, as an application configures them.
fn subscriber(layer: TallyLayer) -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::registry()
        .with(EnvFilter::new("info"))
        .with(tracing_subscriber::fmt::layer().with_test_writer())
        .with(layer)
}

async fn delivered(receiver: &Receiver, tracker: &Tracker, count: usize) -> Vec<ReceivedEvent> {
    tracker.flush().await;
    receiver.wait_for_events(count, WAIT).await.unwrap_or_else(|e| panic!("{e}; counts: {}", tracker.counts()))
}

#[tokio::test]
async fn an_event_with_tally_event_becomes_the_catalog_event_with_typed_properties() {
    let (receiver, tracker) = setup().await;
    let _guard = tracing::subscriber::set_default(subscriber(TallyLayer::with_tracker(tracker.clone())));
    let id = "wf-1";
    tracing::info!(tally.event = "workflow.ran", workflow_id = %id, nodes = 5, cost = 0.25, trigger = "manual", "done");
    tracing::info!(workflow_id = %id, "an ordinary log line is not an event");
    let events = delivered(&receiver, &tracker, 1).await;
    assert_eq!(events.len(), 1);
    let ran = &events[0];
    assert_eq!(ran.event, "workflow.ran");
    assert_eq!(ran.property("workflow_id"), Some(&json!("wf-1")));
    assert_eq!(ran.property("nodes"), Some(&json!(5)));
    assert_eq!(ran.property("cost"), Some(&json!(0.25)));
    assert!(ran.property("message").is_none());
    assert_eq!(ran.property("$process_person_profile"), Some(&json!(false)), "no identity: personless");
}

#[tokio::test]
async fn a_span_emits_on_close_with_late_recorded_fields_and_its_duration() {
    let (receiver, tracker) = setup().await;
    let _guard = tracing::subscriber::set_default(subscriber(TallyLayer::with_tracker(tracker.clone())));
    let span =
        tracing::info_span!("run", tally.event = "workflow.ran", workflow_id = "wf-2", nodes = tracing::field::Empty);
    span.in_scope(|| tracing::info!("working"));
    span.record("nodes", 7);
    assert_eq!(receiver.requests(), 0);
    drop(span);
    let events = delivered(&receiver, &tracker, 1).await;
    assert_eq!(events[0].property("nodes"), Some(&json!(7)));
    assert!(events[0].property("duration_ms").is_some_and(|d| d.is_u64()), "{:?}", events[0].properties);
}

#[tokio::test]
async fn nested_spans_pass_identity_groups_and_declared_fields_down() {
    let (receiver, tracker) = setup().await;
    let _guard = tracing::subscriber::set_default(subscriber(TallyLayer::with_tracker(tracker.clone())));
    let request = tracing::info_span!(
        "request",
        tally.identity.user = "u-1",
        organization_id = "org-1",
        http.route = "/workflows/{id}"
    );
    let _entered = request.enter();
    let inner = tracing::info_span!("inner", organization_id = "org-2");
    inner.in_scope(|| tracing::info!(tally.event = "workflow.ran", workflow_id = "wf-3"));
    inner.in_scope(|| tracing::info!(tally.event = "workflow.ran", workflow_id = "wf-5", organization_id = "org-3"));
    drop(inner);
    tracing::info!(tally.event = "workflow.ran", workflow_id = "wf-4");
    let events = delivered(&receiver, &tracker, 5).await;
    let ran: Vec<_> = events.iter().filter(|e| e.event == "workflow.ran").collect();
    assert_eq!(ran[0].distinct_id, "u-1");
    assert_eq!(ran[0].property("organization_id"), Some(&json!("org-2")), "the innermost span wins");
    assert_eq!(ran[1].property("organization_id"), Some(&json!("org-3")), "the event's own field wins");
    assert_eq!(ran[1].distinct_id, "u-1");
    assert_eq!(ran[2].property("organization_id"), Some(&json!("org-1")));
    assert!(ran[0].property("http.route").is_none(), "undeclared span fields are not inherited");
    assert_eq!(
        ran[0].property("$groups"),
        Some(&json!({"organization": "org-2"})),
        "the group property keys the group"
    );
}

#[tokio::test]
async fn span_values_win_over_the_request_context() {
    let (receiver, tracker) = setup().await;
    let _guard = tracing::subscriber::set_default(subscriber(TallyLayer::with_tracker(tracker.clone())));
    Context::new()
        .with_identity(Identity::user("from-context"))
        .scope(async {
            tracing::info!(tally.event = "workflow.ran", workflow_id = "wf-5");
            tracing::info_span!("s", tally.identity.user = "from-span")
                .in_scope(|| tracing::info!(tally.event = "workflow.ran", workflow_id = "wf-6"));
        })
        .await;
    let events = delivered(&receiver, &tracker, 2).await;
    assert_eq!(events[0].distinct_id, "from-context");
    assert_eq!(events[1].distinct_id, "from-span");
}

#[tracing::instrument(fields(tally.event = "workflow.ran", tally.on_err = "workflow.failed", workflow_id = %id), err)]
async fn run_workflow(id: &str, fail: bool) -> Result<(), String> {
    tokio::task::yield_now().await;
    if fail { Err("node 3 timed out".into()) } else { Ok(()) }
}

#[tokio::test]
async fn instrument_err_switches_to_the_failure_event() {
    let (receiver, tracker) = setup().await;
    let _guard = tracing::subscriber::set_default(subscriber(TallyLayer::with_tracker(tracker.clone())));
    run_workflow("wf-ok", false).await.unwrap();
    run_workflow("wf-bad", true).await.unwrap_err();
    let events = delivered(&receiver, &tracker, 2).await;
    assert_eq!((events[0].event.as_str(), events[0].property("workflow_id")), ("workflow.ran", Some(&json!("wf-ok"))));
    assert_eq!(
        (events[1].event.as_str(), events[1].property("workflow_id")),
        ("workflow.failed", Some(&json!("wf-bad")))
    );
    assert!(events[1].property("duration_ms").is_some());
}

#[tokio::test]
async fn values_are_converted_to_declared_types_and_violations_are_counted() {
    let (receiver, tracker) = setup().await;
    let _guard = tracing::subscriber::set_default(subscriber(TallyLayer::with_tracker(tracker.clone())));
    tracing::info!(tally.event = "workflow.ran", workflow_id = 42, nodes = "12", cost = "0.5");
    tracing::info!(tally.event = "workflow.ran", workflow_id = "wf", nodes = "twelve");
    tracing::info!(tally.event = "workflow.ran", workflow_id = "wf", trigger = "cron");
    tracing::info!(tally.event = "workflow.rna", workflow_id = "wf");
    let events = delivered(&receiver, &tracker, 1).await;
    assert_eq!(events[0].property("workflow_id"), Some(&json!("42")), "an integer field fills a string property");
    assert_eq!(events[0].property("nodes"), Some(&json!(12)));
    assert_eq!(events[0].property("cost"), Some(&json!(0.5)));
    let counts = tracker.counts();
    assert_eq!((counts.emitted, counts.delivered, counts.dropped_invalid, counts.violations), (4, 1, 3, 3), "{counts}");
}

#[tokio::test]
async fn filters_decide_what_the_layer_sees() {
    let (receiver, tracker) = setup().await;
    let layer = TallyLayer::with_tracker(tracker.clone()).with_filter(LevelFilter::WARN);
    let subscriber = tracing_subscriber::registry().with(EnvFilter::new("info")).with(layer);
    let _guard = tracing::subscriber::set_default(subscriber);
    tracing::debug!(tally.event = "workflow.ran", workflow_id = "hidden-by-env-filter");
    tracing::info!(tally.event = "workflow.ran", workflow_id = "hidden-by-layer-filter");
    tracing::warn!(tally.event = "workflow.ran", workflow_id = "seen");
    let events = delivered(&receiver, &tracker, 1).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].property("workflow_id"), Some(&json!("seen")));
}

#[tokio::test]
async fn error_logs_inside_a_request_become_sanitized_error_events_when_enabled() {
    let (receiver, tracker) = setup().await;
    let _guard = tracing::subscriber::set_default(subscriber(
        TallyLayer::with_tracker(tracker.clone()).with_errors_as_events(true),
    ));
    tracing::error!("outside a request: not an event");
    Context::new()
        .with_request_id("req-1")
        .with_identity(Identity::user("u-9"))
        .scope(async {
            tracing::error!(email = "ada@example.com", "could not bill ada@example.com");
        })
        .await;
    let events = delivered(&receiver, &tracker, 1).await;
    assert_eq!(events.len(), 1);
    let error = &events[0];
    assert_eq!(error.event, "system.error");
    assert_eq!(error.distinct_id, "u-9");
    assert_eq!(error.property("error_type"), Some(&json!("tracing_layer")));
    let message = error.property("error_message").and_then(|m| m.as_str()).unwrap();
    assert!(message.starts_with("error logged at runtime/tests/tracing_layer.rs:"), "{message}");
    assert!(!error.raw.to_string().contains("ada@"), "no raw values");
}

#[tokio::test]
async fn debug_strings_are_stored_without_quotes_and_message_is_a_property_only_when_declared() {
    let (receiver, tracker) = setup().await;
    let _guard = tracing::subscriber::set_default(subscriber(TallyLayer::with_tracker(tracker.clone())));
    let id = String::from("wf-\"7\"");
    tracing::info!(tally.event = "workflow.ran", workflow_id = ?id, "not declared by workflow.ran");
    tracing::info!(tally.event = "job.started", job = ?"reindex", "reindex started");
    let events = delivered(&receiver, &tracker, 2).await;
    assert_eq!(events[0].property("workflow_id"), Some(&json!("wf-\"7\"")), "no Debug quotes or escapes");
    assert!(events[0].property("message").is_none());
    assert_eq!(events[1].property("job"), Some(&json!("reindex")));
    assert_eq!(events[1].property("message"), Some(&json!("reindex started")), "declared: a property");
    let counts = tracker.counts();
    assert_eq!((counts.ignored_fields, counts.violations), (1, 0), "the undeclared message is counted: {counts}");
}

#[tracing::instrument(skip_all, fields(tally.event = "workflow.ran", tally.on_err = "workflow.failed", workflow_id = "wf-x"), err)]
async fn failing_handler() -> Result<(), String> {
    Err("could not reach ada@example.com".into())
}

#[tokio::test]
async fn an_error_reported_by_on_err_is_not_also_a_system_error_and_its_display_is_scrubbed() {
    let (receiver, tracker) = setup().await;
    let _guard = tracing::subscriber::set_default(subscriber(
        TallyLayer::with_tracker(tracker.clone()).with_errors_as_events(true),
    ));
    Context::new()
        .with_request_id("req-2")
        .with_identity(Identity::user("u-2"))
        .scope(failing_handler())
        .await
        .unwrap_err();
    let events = delivered(&receiver, &tracker, 1).await;
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["workflow.failed"], "no system.error on top of the handled failure");
    let error = events[0].property("error").and_then(|e| e.as_str()).unwrap();
    assert!(error.starts_with("could not reach "), "{error}");
    assert!(!error.contains("ada@"), "the privacy scrub ran: {error}");
    assert_eq!(events[0].distinct_id, "u-2");
    assert_eq!(tracker.counts().emitted, 1);
}
