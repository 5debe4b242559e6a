//! One error, one event: an `error!` in a handler that answers 500 gives one `app.error`
//! (the middleware's, with the status, which takes the tracing layer's place), and `error!`s in
//! a handler that answers 200 give one `app.error` (the tracing layer's, emitted when the
//! request ends), through a real subscriber stack (registry + EnvFilter + fmt + tally's layer)
//! and an axum app on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use common::{client, prop, serve, tracker, webapp};
use serde_json::json;
use tally_middleware::TrackLayer;
use tally_middleware::request_id::RequestIdMode;
use tally_runtime::Tracker;
use tally_runtime::tracing_layer::TallyLayer;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;

async fn failing() -> StatusCode {
    tracing::error!(user = "ada@example.com", "the database is down");
    StatusCode::INTERNAL_SERVER_ERROR
}

async fn fine() -> &'static str {
    "ok"
}

/// Logs two errors and answers 200 anyway (a handled failure the middleware does not see).
async fn degraded() -> &'static str {
    tracing::error!(user = "ada@example.com", "the cache is down, served from the database");
    tracing::error!("the retry queue is full");
    "ok, slowly"
}

/// The production-like stack: `EnvFilter` at info, `fmt`, and tally's layer reporting errors.
fn stack(tracker: &Tracker) -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::registry()
        .with(EnvFilter::new("info"))
        .with(tracing_subscriber::fmt::layer().with_test_writer())
        .with(TallyLayer::with_tracker(tracker.clone()).with_errors_as_events(true))
}

// One thread: the server's tasks see the test's subscriber.
#[tokio::test(flavor = "current_thread")]
async fn a_failing_request_that_also_logs_an_error_gives_one_error_event() {
    let (tracker, sink) = tracker(webapp());
    let _guard = tracing::subscriber::set_default(stack(&tracker));
    let app = Router::new()
        .route("/boom", get(failing))
        .route("/fine", get(fine))
        .layer(TrackLayer::new_for_http().tracker(tracker.clone()));
    let addr = serve(app).await;
    for _ in 0..2 {
        let response = client().get(format!("http://{addr}/boom")).send().await.unwrap();
        assert_eq!(response.status(), 500);
    }
    client().get(format!("http://{addr}/fine")).send().await.unwrap();
    tracker.flush().await;
    let errors = sink.named("app.error");
    assert_eq!(errors.len(), 2, "one error event per failing request:\n{}", sink.summary());
    for error in &errors {
        assert_eq!(prop(error, "status"), Some(json!(500)), "the middleware's, the richer one");
        assert_eq!(prop(error, "route"), Some(json!("/boom")));
        assert!(!serde_json::Value::Object(error.properties.to_json()).to_string().contains("ada@"));
    }
    assert_eq!(sink.named("api.request_failed").len(), 2);
}

// One thread: the server's tasks see the test's subscriber, and the server drops the request's
// context (which emits the held error) before it writes the response the client reads.
#[tokio::test(flavor = "current_thread")]
async fn errors_logged_by_a_request_that_answers_200_give_one_error_event_for_that_request() {
    let (tracker, sink) = tracker(webapp());
    let _guard = tracing::subscriber::set_default(stack(&tracker));
    let app = Router::new()
        .route("/degraded", get(degraded))
        .route("/fine", get(fine))
        .layer(TrackLayer::new_for_http().tracker(tracker.clone()));
    let addr = serve(app).await;
    let mut degraded_ids = Vec::new();
    for _ in 0..2 {
        let response = client().get(format!("http://{addr}/degraded")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        degraded_ids.push(common::request_id(&response));
    }
    let fine = client().get(format!("http://{addr}/fine")).send().await.unwrap();
    let fine_id = common::request_id(&fine);
    tracker.flush().await;

    let errors = sink.named("app.error");
    assert_eq!(errors.len(), 2, "one error event per request that logged errors:\n{}", sink.summary());
    let mut error_ids: Vec<String> =
        errors.iter().map(|e| prop(e, "request_id").and_then(|id| id.as_str().map(str::to_owned)).unwrap()).collect();
    error_ids.sort();
    degraded_ids.sort();
    assert_eq!(error_ids, degraded_ids, "each in its own request's context, none for /fine ({fine_id})");
    for error in &errors {
        assert_eq!(
            prop(error, "error_type"),
            Some(json!("tracing_errors")),
            "the layer's (the log's target): the middleware saw a 200"
        );
        assert_eq!(prop(error, "status"), None, "no status: the request did not fail");
        assert!(!serde_json::Value::Object(error.properties.to_json()).to_string().contains("ada@"));
    }
    assert!(sink.named("api.request_failed").is_empty(), "a 200 is not a failed request:\n{}", sink.summary());
    assert_eq!(sink.named("api.request_completed").len(), 3);
    assert_eq!(tracker.counts().dropped(), 0, "{}", tracker.counts());
}

// One thread, as above. Without a request id (`RequestIdMode::Off`) the request's context is
// still a request's: its logged errors are held and reported, once per request.
#[tokio::test(flavor = "current_thread")]
async fn errors_logged_by_a_request_without_a_request_id_still_give_one_error_event() {
    let (tracker, sink) = tracker(webapp());
    let _guard = tracing::subscriber::set_default(stack(&tracker));
    let layer = TrackLayer::new_for_http().tracker(tracker.clone()).request_id(RequestIdMode::Off);
    let app = Router::new().route("/degraded", get(degraded)).route("/boom", get(failing)).layer(layer);
    let addr = serve(app).await;
    let response = client().get(format!("http://{addr}/degraded")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("x-request-id").is_none());
    let response = client().get(format!("http://{addr}/boom")).send().await.unwrap();
    assert_eq!(response.status(), 500);
    tracker.flush().await;

    let errors = sink.named("app.error");
    assert_eq!(errors.len(), 2, "one error event per request that logged errors:\n{}", sink.summary());
    let routes: Vec<_> = errors.iter().map(|e| (prop(e, "route"), prop(e, "status"))).collect();
    assert!(routes.contains(&(Some(json!("/degraded")), None)), "the tracing layer's: {routes:?}");
    assert!(routes.contains(&(Some(json!("/boom")), Some(json!(500)))), "the middleware's: {routes:?}");
    assert!(errors.iter().all(|e| prop(e, "request_id").is_none()));
    assert_eq!(tracker.counts().dropped(), 0, "{}", tracker.counts());
}
