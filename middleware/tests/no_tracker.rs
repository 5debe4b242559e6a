//! The layer without a tracker anywhere (none given to it, none installed), over a real axum
//! server on loopback: it handles the request id (request headers and response) and answers a
//! panicking handler, opens no request context, sets no anonymous cookie and emits nothing; a
//! tracker installed later is used from the next request on. Its own test binary: nothing else
//! in the process installs a tracker.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::Router;
use axum::routing::get;
use common::{client, prop, request_id, serve, strict_config};
use serde_json::json;
use tally_middleware::TrackLayer;
use tally_middleware::identity::AnonymousCookie;
use tally_runtime::Tracker;
use tally_runtime::context::Context;
use tally_runtime::sink::MemorySink;

/// The request id the handler saw in its request headers, and the one its context holds.
async fn ids(headers: http::HeaderMap) -> String {
    let header = headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
    let context = Context::current().and_then(|c| c.request_id().map(str::to_owned)).unwrap_or("-".into());
    format!("{header} {context}")
}

async fn panics() -> &'static str {
    panic!("handler bug")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_tracker_only_the_request_id_then_a_tracker_installed_later_is_used() {
    let router = Router::new()
        .route("/", get(ids))
        .route("/panic", get(panics))
        .layer(TrackLayer::new_for_http().identity(AnonymousCookie::new()));
    let base = format!("http://{}", serve(router).await);
    let client = client();

    // A reusable id is kept, a hostile one replaced: in the handler's headers and the response.
    let sent = "0b8e2a4c-6f1d-4d2e-9c33-5a7e1f0b9d21";
    let response = client.get(&base).header("x-request-id", sent).send().await.unwrap();
    assert_eq!(request_id(&response), sent);
    assert_eq!(common::set_cookie(&response, "tally_anon"), None, "no tracking, no anonymous cookie");
    assert_eq!(response.text().await.unwrap(), format!("{sent} -"), "no request context without a tracker");

    let response = client.get(&base).header("x-request-id", "ada@example.com").send().await.unwrap();
    let replaced = request_id(&response);
    assert_eq!(replaced.len(), 36);
    assert_ne!(replaced, "ada@example.com");
    assert_eq!(response.text().await.unwrap(), format!("{replaced} -"), "the handler saw the replacement");

    let response = client.get(format!("{base}/panic")).send().await.unwrap();
    assert_eq!(response.status(), 500, "a panicking handler is answered, not dropped");
    assert_eq!(request_id(&response).len(), 36);

    // Installed after the layer was built: the next request has a context and its events.
    let sink = MemorySink::new();
    let guard =
        Tracker::builder(common::webapp()).with_config(strict_config()).with_sink(sink.clone()).install().unwrap();
    let response = client.get(&base).send().await.unwrap();
    let id = request_id(&response);
    assert!(common::set_cookie(&response, "tally_anon").is_some(), "tracked: the anonymous cookie is set");
    assert_eq!(response.text().await.unwrap(), format!("{id} {id}"), "the context holds the request id");
    guard.tracker().unwrap().flush().await;
    let completed = common::one(&sink, "api.request_completed");
    assert_eq!(prop(&completed, "request_id"), Some(json!(id)));
    assert_eq!(sink.events().len(), 1, "nothing from the untracked requests:\n{}", sink.summary());
}
