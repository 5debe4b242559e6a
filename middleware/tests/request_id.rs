//! The request id over a real axum server on loopback: a client's `x-request-id` is reused
//! only when it is UUID-shaped (what tally generates); an IP, a JWT, a card number, an email
//! or free text is replaced, in the response, in the handler's context and in the events.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::Router;
use axum::routing::get;
use common::{client, request_id, serve, tracker};
use serde_json::Value;
use tally_middleware::TrackLayer;
use tally_runtime::context::Context;

/// The handler answers with the request id its context holds.
async fn app_base() -> (tally_runtime::Tracker, tally_runtime::sink::MemorySink, String) {
    let (tracker, sink) = tracker(common::webapp());
    let router = Router::new()
        .route(
            "/",
            get(|| async { Context::current().and_then(|c| c.request_id().map(str::to_owned)).unwrap_or_default() }),
        )
        .layer(TrackLayer::new_for_http().tracker(tracker.clone()));
    let addr = serve(router).await;
    (tracker, sink, format!("http://{addr}/"))
}

fn is_uuid_shaped(id: &str) -> bool {
    id.len() == 36
        && id
            .bytes()
            .enumerate()
            .all(|(i, b)| if [8, 13, 18, 23].contains(&i) { b == b'-' } else { b.is_ascii_hexdigit() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uuid_request_ids_are_reused_in_the_response_the_context_and_the_events() {
    let (tracker, sink, url) = app_base().await;
    let client = client();
    for sent in ["0b8e2a4c-6f1d-4d2e-9c33-5a7e1f0b9d21", "0B8E2A4C-6F1D-4D2E-9C33-5A7E1F0B9D21"] {
        let response = client.get(&url).header("x-request-id", sent).send().await.unwrap();
        assert_eq!(request_id(&response), sent);
        assert_eq!(response.text().await.unwrap(), sent, "the handler's context has the client's id");
    }
    tracker.flush().await;
    let ids: Vec<Value> = sink
        .events()
        .iter()
        .filter_map(|e| e.properties.get("request_id").map(tally_runtime::PropertyValue::to_json))
        .collect();
    assert_eq!(ids, ["0b8e2a4c-6f1d-4d2e-9c33-5a7e1f0b9d21", "0B8E2A4C-6F1D-4D2E-9C33-5A7E1F0B9D21"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_other_request_id_is_replaced_everywhere() {
    let (tracker, sink, url) = app_base().await;
    let client = client();
    let hostile = [
        "203.0.113.77",
        "2001:db8::1",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2ln",
        "4111-1111-1111-1111",
        "ada@example.com",
        "Ada Lovelace",
        "req-abc.123",
        "0b8e2a4c6f1d4d2e9c335a7e1f0b9d21",
    ];
    let mut generated = Vec::new();
    for sent in hostile {
        let response = client.get(&url).header("x-request-id", sent).send().await.unwrap();
        let answered = request_id(&response);
        assert_ne!(answered, sent);
        assert!(is_uuid_shaped(&answered), "{answered}");
        assert_eq!(response.text().await.unwrap(), answered, "the handler sees the replacement, not {sent:?}");
        generated.push(answered);
    }
    tracker.flush().await;
    let events = sink.events();
    assert_eq!(events.len(), hostile.len(), "{}", sink.summary());
    for event in &events {
        let id = event.properties.get("request_id").and_then(tally_runtime::PropertyValue::as_str).unwrap();
        assert!(generated.iter().any(|g| g == id), "event request_id {id} is one tally generated");
    }
    let delivered = serde_json::to_string(&events.iter().map(|e| &e.properties).collect::<Vec<_>>()).unwrap();
    for sent in hostile {
        assert!(!delivered.contains(sent), "{sent:?} reached a sink: {delivered}");
    }
}
