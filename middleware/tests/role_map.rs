//! The role → event map the layer resolves once, when it is built: renaming and disabling a
//! role work whether they come before or after the tracker, and a tracker given later (from
//! the process or the context) still finds its catalog's events.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::convert::Infallible;

use common::{one, tracker};
use tally_middleware::TrackLayer;
use tally_runtime::catalog::model::Role;
use tally_runtime::sink::MemorySink;
use tower::{Layer, Service, ServiceExt};

async fn call<S>(service: &mut S, status: u16)
where
    S: Service<http::Request<String>, Error = Infallible>,
{
    let request = http::Request::builder().uri(format!("/status/{status}")).body(String::new()).unwrap();
    let _ = service.ready().await.unwrap().call(request).await.unwrap();
}

fn handler()
-> impl Service<http::Request<String>, Response = http::Response<String>, Error = Infallible, Future: Send> + Clone {
    tower::service_fn(|request: http::Request<String>| async move {
        let status = request.uri().path().trim_start_matches("/status/").parse().unwrap_or(200);
        let mut response = http::Response::new(String::new());
        *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
        Ok::<_, Infallible>(response)
    })
}

fn names(sink: &MemorySink) -> Vec<String> {
    let mut names: Vec<String> = sink.events().into_iter().map(|e| e.event.to_string()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn renamed_and_disabled_roles_hold_before_and_after_the_tracker() {
    let (tracker, sink) = tracker(common::webapp());
    let before = TrackLayer::new_for_http()
        .event_name(Role::RequestCompleted, "api.request_received")
        .disable(Role::Error)
        .tracker(tracker.clone());
    let (other, other_sink) = common::tracker(common::webapp());
    let after = TrackLayer::new_for_http()
        .tracker(other.clone())
        .event_name(Role::RequestCompleted, "api.request_received")
        .disable(Role::Error);
    for (layer, tracker, sink) in [(before, &tracker, &sink), (after, &other, &other_sink)] {
        let mut service = layer.layer(handler());
        call(&mut service, 200).await;
        call(&mut service, 500).await;
        tracker.flush().await;
        assert_eq!(names(sink), ["api.request_failed", "api.request_received"], "{}", sink.summary());
    }
}

#[tokio::test]
async fn a_tracker_replaced_on_the_layer_uses_its_own_catalog() {
    let (first, first_sink) = tracker(common::webapp());
    let (second, second_sink) = tracker(common::seed("auterity"));
    // Auterity's envelope requires an organization.
    let organization =
        |_: &http::request::Parts, r: &mut tally_middleware::identity::Resolution| r.add_group("organization", "org-1");
    let mut service =
        TrackLayer::new_for_http().tracker(first).tracker(second.clone()).identity(organization).layer(handler());
    call(&mut service, 500).await;
    second.flush().await;
    assert!(first_sink.events().is_empty());
    one(&second_sink, "api.request_failed");
    one(&second_sink, "system.error_occurred");
}
