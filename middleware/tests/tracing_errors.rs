//! One error, one event: an `error!` in a handler that answers 500 gives one `app.error`
//! (the middleware's, with the status, which takes the tracing layer's place), through a real
//! subscriber stack (registry + EnvFilter + fmt + tally's layer) and an axum app on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use common::{client, prop, serve, tracker, webapp};
use serde_json::json;
use tally_middleware::TrackLayer;
use tally_runtime::TallyLayer;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;

async fn failing() -> StatusCode {
    tracing::error!(user = "ada@example.com", "the database is down");
    StatusCode::INTERNAL_SERVER_ERROR
}

async fn fine() -> &'static str {
    "ok"
}

// One thread: the server's tasks see the test's subscriber.
#[tokio::test(flavor = "current_thread")]
async fn a_failing_request_that_also_logs_an_error_gives_one_error_event() {
    let (tracker, sink) = tracker(webapp());
    let subscriber = tracing_subscriber::registry()
        .with(EnvFilter::new("info"))
        .with(tracing_subscriber::fmt::layer().with_test_writer())
        .with(TallyLayer::with_tracker(tracker.clone()).errors_as_events(true));
    let _guard = tracing::subscriber::set_default(subscriber);
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
