//! The layer asks nothing more of the inner service's future than the service itself does: a
//! future that is neither `Send` nor `'static` (it holds an `Rc` and borrows from the caller)
//! runs inside the request context and is tracked like any other.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::convert::Infallible;
use std::rc::Rc;

use common::{one, prop, tracker};
use serde_json::json;
use tally_middleware::TrackLayer;
use tally_runtime::context::Context;
use tower::{Layer, Service, ServiceExt};

#[tokio::test(flavor = "current_thread")]
async fn a_future_that_is_neither_send_nor_static_runs_in_the_context_and_is_tracked() {
    let (tracker, sink) = tracker(common::webapp());
    let greeting = String::from("hello");
    let handler = tower::service_fn(|_: http::Request<String>| {
        let greeting: &str = &greeting; // borrowed: the future is not 'static
        let local = Rc::new(7_u8); // held across an await: the future is not Send
        async move {
            tokio::task::yield_now().await;
            let request_id = Context::current().and_then(|c| c.request_id().map(str::to_owned));
            let body = format!("{greeting} {local} {}", request_id.unwrap_or_default());
            Ok::<_, Infallible>(http::Response::new(body))
        }
    });
    let mut service = TrackLayer::new_for_http().tracker(tracker.clone()).layer(handler);
    let request = http::Request::builder()
        .uri("/hello")
        .header("x-request-id", "0191f5a2-7c3e-7b1a-9d2e-4f6a8b0c1d2e")
        .body(String::new());
    let response = service.ready().await.unwrap().call(request.unwrap()).await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "0191f5a2-7c3e-7b1a-9d2e-4f6a8b0c1d2e");
    let body = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
    assert_eq!(&body[..], b"hello 7 0191f5a2-7c3e-7b1a-9d2e-4f6a8b0c1d2e", "the handler saw the request context");

    tracker.flush().await;
    let completed = one(&sink, "api.request_completed");
    assert_eq!(prop(&completed, "status"), Some(json!(200)));
    assert_eq!(prop(&completed, "request_id"), Some(json!("0191f5a2-7c3e-7b1a-9d2e-4f6a8b0c1d2e")));
}
