//! The request's identity follows spans: a span keeps the context current when it opened, and
//! gives it to events inside it in tasks that have none of their own. One global subscriber
//! (registry + EnvFilter + fmt + the layer), as an application installs it, so that spawned
//! and blocking tasks on other threads reach it; each test routes to its own tracker through
//! the request context, delivering to a PostHog-compatible receiver on loopback.

// A test: failing loudly is the point. The request scopes return the spawned task's handle on
// purpose: it is awaited after the request ended.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::async_yields_async)]

use std::sync::Once;
use std::time::Duration;

use serde_json::json;
use tally_receiver::{ReceivedEvent, Receiver};
use tally_runtime::catalog::Catalog;
use tally_runtime::context::Context;
use tally_runtime::context::InContext as _;
use tally_runtime::routing::WithTracker as _;
use tally_runtime::tracing_layer::TallyLayer;
use tally_runtime::{Config, Identity, Tracker};
use tracing::Instrument as _;
use tracing::instrument::WithSubscriber as _;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;

mod common;

const WAIT: Duration = Duration::from_secs(20);

fn install_subscriber() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        tracing_subscriber::registry()
            .with(EnvFilter::new("info"))
            .with(tracing_subscriber::fmt::layer().with_test_writer())
            .with(TallyLayer::new())
            .init();
    });
}

async fn setup() -> (Receiver, Tracker) {
    install_subscriber();
    let receiver = common::receiver().await;
    let catalog = Catalog::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/catalogs/workflows.toml")).unwrap();
    let config = common::delivering_to(&receiver, Config::default());
    let tracker = Tracker::builder(catalog).with_config(config).build().unwrap();
    (receiver, tracker)
}

/// The context the middleware opens for a request by user `u-5`.
fn request() -> Context {
    Context::new().with_identity(Identity::user("u-5")).with_request_id("req-5")
}

async fn delivered(receiver: &Receiver, tracker: &Tracker, count: usize) -> Vec<ReceivedEvent> {
    tracker.flush().await;
    receiver.wait_for_events(count, WAIT).await.unwrap_or_else(|e| panic!("{e}; counts: {}", tracker.counts()))
}

fn assert_request_identity(event: &ReceivedEvent) {
    assert_eq!(event.distinct_id, "u-5", "{event:?}");
    assert_eq!(event.property("request_id"), Some(&json!("req-5")), "{event:?}");
    assert!(event.property("$process_person_profile").is_none(), "not personless: {event:?}");
}

async fn background_work() {
    tokio::task::yield_now().await;
}

/// The handler: its span outlives the request, in the task it spawned.
#[tracing::instrument(skip_all, fields(tally.event = "job.started", job = "reindex"))]
fn start_job() -> tokio::task::JoinHandle<()> {
    tokio::spawn(background_work().in_current_span())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_span_closed_by_a_spawned_task_after_the_request_keeps_its_identity_and_request_id() {
    let (receiver, tracker) = setup().await;
    let job = tracker.scope(request().scope(async { start_job() })).await;
    // The request is over; the span closes when the spawned task ends.
    job.await.unwrap();
    let events = delivered(&receiver, &tracker, 1).await;
    assert_eq!(events[0].event, "job.started");
    assert_eq!(events[0].property("job"), Some(&json!("reindex")));
    assert_request_identity(&events[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instrument_carries_the_request_into_a_spawned_task() {
    let (receiver, tracker) = setup().await;
    let task = tracker
        .scope(request().scope(async {
            let span = tracing::info_span!("work");
            tokio::spawn(
                async { tracing::info!(tally.event = "workflow.ran", workflow_id = "wf-instrument") }.instrument(span),
            )
        }))
        .await;
    task.await.unwrap();
    let events = delivered(&receiver, &tracker, 1).await;
    assert_eq!(events[0].property("workflow_id"), Some(&json!("wf-instrument")));
    assert_request_identity(&events[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_current_span_carries_the_request_into_a_spawned_task() {
    let (receiver, tracker) = setup().await;
    let task = tracker
        .scope(request().scope(async {
            // The handler's span, opened inside the request (as `#[instrument]` on a handler).
            let handler = tracing::info_span!("handler");
            async {
                tokio::spawn(
                    async { tracing::info!(tally.event = "workflow.ran", workflow_id = "wf-current-span") }
                        .in_current_span(),
                )
            }
            .instrument(handler)
            .await
        }))
        .await;
    task.await.unwrap();
    let events = delivered(&receiver, &tracker, 1).await;
    assert_eq!(events[0].property("workflow_id"), Some(&json!("wf-current-span")));
    assert_request_identity(&events[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_blocking_with_span_in_scope_carries_the_request() {
    let (receiver, tracker) = setup().await;
    let task = tracker
        .scope(request().scope(async {
            let span = tracing::info_span!("blocking work");
            tokio::task::spawn_blocking(move || {
                span.in_scope(|| tracing::info!(tally.event = "workflow.ran", workflow_id = "wf-blocking"))
            })
        }))
        .await;
    task.await.unwrap();
    let events = delivered(&receiver, &tracker, 1).await;
    assert_eq!(events[0].property("workflow_id"), Some(&json!("wf-blocking")));
    assert_request_identity(&events[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_current_context_carries_the_request_without_a_span() {
    let (receiver, tracker) = setup().await;
    let task = tracker
        .scope(request().scope(async {
            tokio::spawn(
                async { tracing::info!(tally.event = "workflow.ran", workflow_id = "wf-context") }
                    .in_current_context()
                    .with_current_tracker(),
            )
        }))
        .await;
    task.await.unwrap();
    let events = delivered(&receiver, &tracker, 1).await;
    assert_request_identity(&events[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_scope_in_the_task_carries_a_cloned_context() {
    let (receiver, tracker) = setup().await;
    let task = tracker
        .scope(request().scope(async {
            let context = Context::current().unwrap();
            tokio::spawn(
                Context::scoped(context, async {
                    tracing::info!(tally.event = "workflow.ran", workflow_id = "wf-scope")
                })
                .with_current_tracker(),
            )
        }))
        .await;
    task.await.unwrap();
    let events = delivered(&receiver, &tracker, 1).await;
    assert_request_identity(&events[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_with_its_own_context_keeps_it_inside_a_span_from_another_request() {
    let (receiver, tracker) = setup().await;
    let span = tracker.scope(request().scope(async { tracing::info_span!("from request 5") })).await;
    let other = Context::new().with_identity(Identity::user("u-6")).with_request_id("req-6");
    let own =
        other.scope(async { tracing::info!(tally.event = "workflow.ran", workflow_id = "wf-own") }.instrument(span));
    tracker.scope(own).await;
    let events = delivered(&receiver, &tracker, 1).await;
    assert_eq!(events[0].distinct_id, "u-6", "the task's own context wins; the span's is the fallback");
    assert_eq!(events[0].property("request_id"), Some(&json!("req-6")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_span_or_a_context_a_spawned_task_is_outside_the_request() {
    let (receiver, tracker) = setup().await;
    let task = tracker
        .scope(request().scope(async {
            let tracker = tracker.clone();
            // No span, no context: only an explicit tracker reaches the task.
            tokio::spawn(
                async { tracing::info!(tally.event = "workflow.ran", workflow_id = "wf-outside") }
                    .with_subscriber(tracing_subscriber::registry().with(TallyLayer::with_tracker(tracker.clone()))),
            )
        }))
        .await;
    task.await.unwrap();
    let events = delivered(&receiver, &tracker, 1).await;
    assert_eq!(events[0].property("$process_person_profile"), Some(&json!(false)), "personless, as documented");
    assert!(events[0].property("request_id").is_none());
}
