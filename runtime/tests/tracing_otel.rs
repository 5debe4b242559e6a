//! tally's layer in a real subscriber stack that also has tracing-opentelemetry's layer
//! (registry + EnvFilter + fmt + OpenTelemetry with an in-process exporter + tally), as an
//! application with distributed tracing installs it, delivering to a PostHog-compatible
//! receiver on loopback:
//!
//! - the same scripted requests give the same events with and without the OpenTelemetry
//!   layer (and the OpenTelemetry layer still exports its spans);
//! - with it, a handler span that lives on in a task it spawned keeps the request's identity
//!   and request id;
//! - OpenTelemetry's `.with_current_context()` carries the OpenTelemetry context only (the
//!   spawned task has the handler's trace id but not the request's identity); combined with
//!   `.in_current_context()` or `.in_current_span()`, the task keeps both (docs/tracing.md).
//!
//! Each test runs on one thread (a current-thread runtime, the stack set as its default), so
//! the tasks it spawns reach the same subscriber.

// A test: failing loudly is the point. The request scopes return the spawned task's handle on
// purpose: it is awaited after the request ended.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::async_yields_async)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{TraceContextExt as _, TraceId, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use serde_json::{Value, json};
use tally_receiver::{ReceivedEvent, Receiver};
use tally_runtime::catalog::Catalog;
use tally_runtime::context::Context;
use tally_runtime::context::InContext as _;
use tally_runtime::tracing_layer::TallyLayer;
use tally_runtime::{Config, Identity, Tracker};
use tracing::Instrument as _;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;

mod common;

const WAIT: Duration = Duration::from_secs(20);

/// An OpenTelemetry exporter that keeps the names of the spans it is given, in process.
#[derive(Debug, Clone, Default)]
struct Exported(Arc<Mutex<Vec<String>>>);

impl Exported {
    fn names(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl SpanExporter for Exported {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        self.0.lock().unwrap().extend(batch.into_iter().map(|span| span.name.into_owned()));
        std::future::ready(Ok(()))
    }
}

async fn setup() -> (Receiver, Tracker) {
    let receiver = common::receiver().await;
    let catalog = Catalog::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/catalogs/workflows.toml")).unwrap();
    let config = common::delivering_to(&receiver, Config::default());
    let tracker = Tracker::builder(catalog).with_config(config).build().unwrap();
    (receiver, tracker)
}

/// registry + EnvFilter + fmt (+ OpenTelemetry) + tally, as an application installs them.
fn stack(otel: Option<&SdkTracerProvider>) -> tracing::Dispatch {
    let otel = otel.map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer("tally-test")));
    let subscriber = tracing_subscriber::registry()
        .with(EnvFilter::new("info"))
        .with(tracing_subscriber::fmt::layer().with_test_writer())
        .with(otel)
        .with(TallyLayer::new().with_errors_as_events(true));
    tracing::Dispatch::new(subscriber)
}

fn provider() -> (SdkTracerProvider, Exported) {
    let exported = Exported::default();
    (SdkTracerProvider::builder().with_simple_exporter(exported.clone()).build(), exported)
}

/// The context the middleware opens for a request by user `u-5`.
fn request(id: &str) -> Context {
    Context::new().with_identity(Identity::user("u-5")).with_request_id(id)
}

async fn delivered(receiver: &Receiver, tracker: &Tracker, count: usize) -> Vec<ReceivedEvent> {
    tracker.flush().await;
    let events =
        receiver.wait_for_events(count, WAIT).await.unwrap_or_else(|e| panic!("{e}; counts: {}", tracker.counts()));
    assert_eq!(tracker.counts().dropped(), 0, "{}", tracker.counts());
    events
}

/// What an event says, without what differs between two runs of the same requests (its uuid,
/// timestamp and measured duration).
fn said(event: &ReceivedEvent) -> Value {
    let mut properties = event.properties.clone();
    if let Some(properties) = properties.as_object_mut() {
        for varying in ["duration_ms", "$lib", "$lib_version"] {
            properties.remove(varying);
        }
    }
    json!({"event": event.event, "distinct_id": event.distinct_id, "properties": properties})
}

async fn background_work() {
    tokio::task::yield_now().await;
}

/// The handler: its span outlives the request, in the task it spawned.
#[tracing::instrument(skip_all, fields(tally.event = "job.started", job = "reindex"))]
fn start_job() -> tokio::task::JoinHandle<()> {
    tokio::spawn(background_work().in_current_span())
}

/// Four requests by `u-5`: a plain event, a span event, an error log and a span that lives on
/// in the task it spawned. Returns how many events they give.
async fn script(tracker: &Tracker) -> usize {
    tracker
        .scope(request("req-1").scope(async {
            tracing::info!(tally.event = "workflow.ran", workflow_id = "wf-plain", nodes = 3, "ran");
        }))
        .await;
    tracker
        .scope(request("req-2").scope(async {
            let run = tracing::info_span!("run", tally.event = "workflow.ran", workflow_id = "wf-span");
            tokio::task::yield_now().instrument(run).await;
        }))
        .await;
    tracker
        .scope(request("req-3").scope(async {
            tracing::error!(user = "ada@example.com", "the database is down");
        }))
        .await;
    let job = tracker.scope(request("req-4").scope(async { start_job() })).await;
    job.await.unwrap();
    4
}

/// The script's events, sorted (each stack delivers them in its own order).
async fn run_script(otel: Option<&SdkTracerProvider>) -> Vec<Value> {
    let (receiver, tracker) = setup().await;
    let _default = tracing::dispatcher::set_default(&stack(otel));
    let count = script(&tracker).await;
    let mut events: Vec<Value> = delivered(&receiver, &tracker, count).await.iter().map(said).collect();
    // By name, then request: what tells the four apart (key order inside `properties` follows
    // arrival, so the text of a whole event is no sort key).
    events.sort_by_key(|e| {
        format!("{} {} {}", e["event"], e["properties"]["request_id"], e["properties"]["workflow_id"])
    });
    events
}

#[tokio::test(flavor = "current_thread")]
async fn the_same_requests_give_the_same_events_with_and_without_the_opentelemetry_layer() {
    let without = run_script(None).await;
    let (provider, exported) = provider();
    let with = run_script(Some(&provider)).await;
    assert_eq!(with, without);
    let names: Vec<&str> = with.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(names.len(), 4, "{with:#?}");
    for name in ["workflow.ran", "job.started", "system.error"] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    assert!(with.iter().all(|e| e["distinct_id"] == json!("u-5")), "{with:#?}");
    assert!(!Value::Array(with.clone()).to_string().contains("ada@"), "no personal data: {with:#?}");
    // The OpenTelemetry layer did its own work beside tally's.
    let spans = exported.names();
    for span in ["run", "start_job"] {
        assert!(spans.iter().any(|name| name == span), "{span} exported to OpenTelemetry: {spans:?}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn with_opentelemetry_a_span_closed_by_a_spawned_task_keeps_the_identity_and_request_id() {
    let (receiver, tracker) = setup().await;
    let (provider, exported) = provider();
    let _default = tracing::dispatcher::set_default(&stack(Some(&provider)));
    let job = tracker.scope(request("req-5").scope(async { start_job() })).await;
    // The request is over; the span closes when the spawned task ends.
    job.await.unwrap();
    let events = delivered(&receiver, &tracker, 1).await;
    assert_eq!(events[0].event, "job.started");
    assert_eq!(events[0].distinct_id, "u-5");
    assert_eq!(events[0].property("request_id"), Some(&json!("req-5")));
    assert!(events[0].property("$process_person_profile").is_none(), "not personless: {:?}", events[0]);
    assert!(exported.names().iter().any(|name| name == "start_job"));
}

/// The trace id of the OpenTelemetry context current here.
fn current_trace_id() -> TraceId {
    opentelemetry::Context::current().span().span_context().trace_id()
}

#[tokio::test(flavor = "current_thread")]
async fn with_current_context_carries_the_opentelemetry_context_only_and_combines_with_tallys() {
    // Installed as the process default, so that an event outside any request is delivered (and
    // seen to be personless) instead of going nowhere. The other tests route every event through
    // a request context, so they never reach it.
    let receiver = common::receiver().await;
    let catalog = Catalog::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/catalogs/workflows.toml")).unwrap();
    let config = common::delivering_to(&receiver, Config::default());
    let guard = Tracker::builder(catalog).with_config(config).install().unwrap();
    let tracker = guard.tracker().unwrap().clone();
    let (provider, _exported) = provider();
    let _default = tracing::dispatcher::set_default(&stack(Some(&provider)));
    let (handler_trace, alone, combined, in_span) = tracker
        .scope(request("req-6").scope(async {
            // The handler's span, opened inside the request (as `#[instrument]` on a handler).
            let handler = tracing::info_span!("handler");
            async {
                // tracing-opentelemetry makes the entered span's OpenTelemetry context current.
                let handler_trace = current_trace_id();
                let alone = tokio::spawn(
                    async {
                        tracing::info!(tally.event = "workflow.ran", workflow_id = "wf-otel-only");
                        current_trace_id()
                    }
                    .with_current_context(),
                );
                let combined = tokio::spawn(
                    async {
                        tracing::info!(tally.event = "workflow.ran", workflow_id = "wf-otel-and-tally");
                        current_trace_id()
                    }
                    .with_current_context()
                    .in_current_context(),
                );
                let in_span = tokio::spawn(
                    async {
                        tracing::info!(tally.event = "workflow.ran", workflow_id = "wf-in-span");
                        current_trace_id()
                    }
                    .in_current_span(),
                );
                (handler_trace, alone, combined, in_span)
            }
            .instrument(handler)
            .await
        }))
        .await;
    let traces = (alone.await.unwrap(), combined.await.unwrap(), in_span.await.unwrap());
    assert_ne!(handler_trace, TraceId::INVALID, "the handler's span has an OpenTelemetry trace");
    assert_eq!(traces, (handler_trace, handler_trace, handler_trace), "OpenTelemetry's context reached every task");

    let mut events = delivered(&receiver, &tracker, 3).await;
    events.sort_by_key(|e| e.property("workflow_id").map(ToString::to_string));
    let (in_span, combined, alone) = (&events[0], &events[1], &events[2]);
    for (event, id) in [(in_span, "wf-in-span"), (combined, "wf-otel-and-tally")] {
        assert_eq!(event.property("workflow_id"), Some(&json!(id)));
        assert_eq!(event.distinct_id, "u-5", "{event:?}");
        assert_eq!(event.property("request_id"), Some(&json!("req-6")), "{event:?}");
    }
    assert_eq!(alone.property("workflow_id"), Some(&json!("wf-otel-only")));
    assert_eq!(alone.property("$process_person_profile"), Some(&json!(false)), "personless: {alone:?}");
    assert!(alone.property("request_id").is_none(), "outside the request: {alone:?}");
}
