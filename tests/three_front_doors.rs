//! One HTTP request through all three front doors: tally's tower middleware (`TrackLayer` on
//! an axum app on loopback), a `#[tally::track_event]` handler, and a `tracing::info!(tally.event
//! = …)` inside it (tally's tracing layer in a real `tracing_subscriber::registry()`). Delivered
//! through the real PostHog client to the loopback receiver, the three events carry the
//! `distinct_id` the middleware's identity strategy resolved and the request's id.
//!
//! The catalog is tests/catalogs/three_front_doors.toml (`[package.metadata.tally.targets]`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, StatusCode};
use axum::routing::post;
use serde_json::json;
use tally::middleware::{TrackLayer, identity::TrustedHeader};
use tally::{Config, Tracker, event::ValidationMode};
use tally_receiver::Receiver;
use tracing_subscriber::prelude::*;

const WAIT: Duration = Duration::from_secs(20);

/// Door two: the annotated handler; door three: the tracing event inside it.
#[tally::track_event("note.saved", length = body.len())]
async fn save_note(body: String) -> StatusCode {
    tracing::info!(tally.event = "note.indexed", words = body.split_whitespace().count());
    StatusCode::CREATED
}

// One thread: the server's tasks see the test's subscriber (`set_default` is per thread).
#[tokio::test(flavor = "current_thread")]
async fn one_request_gives_three_events_with_one_distinct_id_and_one_request_id() {
    let receiver = Receiver::builder().api_key("phc_test").start().await.unwrap();
    let catalog = tally::catalog::Catalog::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/catalogs/three_front_doors.toml"
    ))
    .unwrap();
    let config = Config::default()
        .api_key("phc_test")
        .host(receiver.url())
        .validation(ValidationMode::Strict)
        .pseudonymization_key("tally-test-key");
    let tracker = Tracker::builder(catalog).with_config(config).build().unwrap();

    // The tracing layer emits to the current tracker: the one the middleware's context carries.
    let subscriber = tracing_subscriber::registry().with(tally::tracing_layer());
    let _guard = tracing::subscriber::set_default(subscriber);

    // Door one: the middleware, resolving the user from a header a trusted gateway sets.
    let track = TrackLayer::new_for_http()
        .tracker(tracker.clone())
        .identity(TrustedHeader::new(HeaderName::from_static("x-user-id"), "user"));
    let app = Router::new().route("/notes", post(save_note)).layer(track);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("http://{addr}/notes"))
        .header("x-user-id", "u-42")
        .body("buy milk and eggs")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(!request_id.is_empty());

    tracker.flush().await;
    let events = receiver.wait_for_events(3, WAIT).await.unwrap();
    let counts = tracker.shutdown(WAIT).await;
    assert_eq!(counts.dropped(), 0, "{counts:?}");
    assert!(receiver.rejected().is_empty(), "{:?}", receiver.rejected());

    let mut names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["api.request_completed", "note.indexed", "note.saved"], "exactly one event per door");
    for event in &events {
        assert_eq!(event.distinct_id, "u-42", "{} keyed by {}", event.event, event.distinct_id);
        assert_eq!(event.property("request_id"), Some(&json!(request_id)), "{}", event.event);
    }
    let by_name = |name: &str| events.iter().find(|e| e.event == name).unwrap();
    assert_eq!(by_name("api.request_completed").property("route"), Some(&json!("/notes")));
    assert_eq!(by_name("api.request_completed").property("status"), Some(&json!(201)));
    assert_eq!(by_name("note.saved").property("length"), Some(&json!(17)));
    assert_eq!(by_name("note.indexed").property("words"), Some(&json!(4)));
}
