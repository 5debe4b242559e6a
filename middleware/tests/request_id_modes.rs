//! `TrackLayer::request_id` over a real axum server on loopback: with `RequestIdMode::Off` the
//! layer neither reads, generates nor echoes `x-request-id` and the events still arrive, keyed by
//! the right person, without a request id; with `RequestIdMode::Read` behind tower-http's
//! `SetRequestIdLayer` and `PropagateRequestIdLayer`, the events carry tower-http's id and
//! tally writes no header (a client's id that is not UUID-shaped never reaches an event).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::Router;
use axum::http::{HeaderName, StatusCode};
use axum::routing::get;
use common::{client, prop, serve, tracker, webapp};
use serde_json::json;
use tally_middleware::TrackLayer;
use tally_middleware::identity::TrustedHeader;
use tally_middleware::request_id::RequestIdMode;
use tally_runtime::context::Context;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

/// The request id the handler saw in its request headers, and the one its context holds.
async fn ids(headers: http::HeaderMap) -> String {
    let header = headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
    let context = Context::current().and_then(|c| c.request_id().map(str::to_owned)).unwrap_or("-".into());
    format!("{header} {context}")
}

async fn fails() -> StatusCode {
    StatusCode::SERVICE_UNAVAILABLE
}

async fn panics() -> &'static str {
    panic!("handler bug")
}

fn routes() -> Router {
    Router::new().route("/", get(ids)).route("/fail", get(fails)).route("/panic", get(panics))
}

fn user_header() -> TrustedHeader {
    TrustedHeader::new(HeaderName::from_static("x-user-id"), "user")
}

fn header(response: &reqwest::Response) -> Option<&str> {
    response.headers().get("x-request-id").map(|v| v.to_str().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_sets_and_echoes_no_request_id_and_the_events_keep_their_person() {
    let (tracker, sink) = tracker(webapp());
    let layer =
        TrackLayer::new_for_http().tracker(tracker.clone()).identity(user_header()).request_id(RequestIdMode::Off);
    let base = format!("http://{}", serve(routes().layer(layer)).await);
    let client = client();

    for user in ["u-1", "u-2"] {
        let response = client.get(&base).header("x-user-id", user).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response), None, "no request id on the response");
        assert_eq!(response.text().await.unwrap(), "- -", "none in the request headers or the context");
    }
    // A client's id is left as sent, and not read: not on the response, not in the context.
    let sent = "0b8e2a4c-6f1d-4d2e-9c33-5a7e1f0b9d21";
    let response = client.get(&base).header("x-user-id", "u-3").header("x-request-id", sent).send().await.unwrap();
    assert_eq!(header(&response), None);
    assert_eq!(response.text().await.unwrap(), format!("{sent} -"));
    let response = client.get(format!("{base}/fail")).header("x-user-id", "u-4").send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(header(&response), None);
    let response = client.get(format!("{base}/panic")).header("x-user-id", "u-5").send().await.unwrap();
    assert_eq!(response.status(), 500, "a panicking handler is answered");
    assert_eq!(header(&response), None);
    tracker.flush().await;

    let completed = sink.named("api.request_completed");
    let people: Vec<&str> = completed.iter().map(|e| e.distinct_id.as_str()).collect();
    assert_eq!(people, ["u-1", "u-2", "u-3"], "{}", sink.summary());
    let failed = sink.named("api.request_failed");
    let people: Vec<&str> = failed.iter().map(|e| e.distinct_id.as_str()).collect();
    assert_eq!(people, ["u-4", "u-5"], "{}", sink.summary());
    assert_eq!(prop(&failed[1], "error_type"), Some(json!("panic")));
    assert_eq!(sink.named("app.error").len(), 2, "a 503 and a panic are server errors:\n{}", sink.summary());
    for event in sink.events() {
        assert_eq!(prop(&event, "request_id"), None, "{}: no request id", event.event);
        assert!(prop(&event, "route").is_some(), "{}: the request is still described", event.event);
    }
    let counts = tracker.counts();
    assert_eq!(counts.dropped(), 0, "nothing dropped, no violation (strict mode): {counts}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_takes_the_id_tower_http_set_and_writes_no_header_of_its_own() {
    let (tracker, sink) = tracker(webapp());
    let layer =
        TrackLayer::new_for_http().tracker(tracker.clone()).identity(user_header()).request_id(RequestIdMode::Read);
    // Outermost last: tower-http sets the id, tally reads it, tower-http echoes it.
    let router = routes()
        .layer(layer)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid));
    let base = format!("http://{}", serve(router).await);
    let client = client();

    let response = client.get(&base).header("x-user-id", "u-1").send().await.unwrap();
    let id = header(&response).unwrap().to_owned();
    assert_eq!(id.len(), 36, "tower-http's UUID: {id}");
    assert_eq!(response.text().await.unwrap(), format!("{id} {id}"), "the context holds tower-http's id");

    // tower-http keeps a client's id as sent; tally reads only UUID-shaped ones.
    let response =
        client.get(&base).header("x-user-id", "u-2").header("x-request-id", "ada@example.com").send().await.unwrap();
    assert_eq!(header(&response), Some("ada@example.com"), "tower-http's echo, not tally's");
    assert_eq!(response.text().await.unwrap(), "ada@example.com -", "not in the context");
    tracker.flush().await;

    let completed = sink.named("api.request_completed");
    assert_eq!(completed.len(), 2, "{}", sink.summary());
    assert_eq!((completed[0].distinct_id.as_str(), prop(&completed[0], "request_id")), ("u-1", Some(json!(id))));
    assert_eq!((completed[1].distinct_id.as_str(), prop(&completed[1], "request_id")), ("u-2", None));
    let delivered = serde_json::to_string(&sink.events().iter().map(|e| &e.properties).collect::<Vec<_>>()).unwrap();
    assert!(!delivered.contains("ada@"), "the client's id reached a sink: {delivered}");
    assert_eq!(tracker.counts().dropped(), 0, "{}", tracker.counts());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_tracker_read_and_off_write_no_header() {
    for mode in [RequestIdMode::Read, RequestIdMode::Off] {
        let base = format!("http://{}", serve(routes().layer(TrackLayer::new_for_http().request_id(mode))).await);
        let response = client().get(&base).send().await.unwrap();
        assert_eq!(header(&response), None, "{mode:?}");
        assert_eq!(response.text().await.unwrap(), "- -", "{mode:?}");
        let response = client().get(format!("{base}/panic")).send().await.unwrap();
        assert_eq!(response.status(), 500, "{mode:?}: a panicking handler is answered");
        assert_eq!(header(&response), None, "{mode:?}");
    }
}
