//! The annotated methods of a `#[tonic::async_trait]` service, served by a real tonic server on
//! loopback and called by a real tonic client, the events delivered to the PostHog-compatible
//! receiver on loopback: the success event arrives only when the handler returns `Ok`, the
//! failure event only on `Err`, and both after the handler ran (the handler emits an event of
//! its own first).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use http::uri::PathAndQuery;
use serde_json::json;
use tally::{Config, Context, Identity, Tracker, event::ValidationMode};
use tally_macro_shapes::grpc::{AccountsImpl, AccountsServer, LoginReply, LoginRequest};
use tally_receiver::{ReceivedEvent, Receiver};
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Code, Request, Response, Status};
use tonic_prost::ProstCodec;

const API_KEY: &str = "phc_shapes";

/// A strict tracker delivering to a receiver on loopback.
async fn tracker() -> (Tracker, Receiver) {
    let catalog =
        tally::catalog::Catalog::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../../macros/tests/ui/catalog.toml"))
            .unwrap();
    let receiver = Receiver::builder().api_key(API_KEY).start().await.unwrap();
    let config = Config::default()
        .api_key(API_KEY)
        .host(receiver.url())
        .validation(ValidationMode::Strict)
        .pseudonymization_key("tally-test-key");
    (Tracker::builder(catalog).with_config(config).build().unwrap(), receiver)
}

/// The server, each request run in a context carrying the tracker under test and a user.
async fn serve(tracker: &Tracker) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let tracker = tracker.clone();
    let context = tower::util::MapFutureLayer::new(move |future| {
        tracker.scope(Context::new().with_identity(Identity::user("u-7")).scope(future))
    });
    let router = Server::builder().layer(context).add_service(AccountsServer::new(AccountsImpl));
    tokio::spawn(router.serve_with_incoming(TcpIncoming::from(listener)));
    addr
}

async fn login(client: &mut tonic::client::Grpc<Channel>, password: &str) -> Result<Response<LoginReply>, Status> {
    client.ready().await.unwrap();
    let request = Request::new(LoginRequest { user: "ada".into(), password: password.into() });
    let path = PathAndQuery::from_static("/accounts.Accounts/Login");
    client.unary(request, path, ProstCodec::<LoginRequest, LoginReply>::default()).await
}

/// The `count` events delivered since the last call, in the order they were emitted (the
/// tracker delivers in order); then forgotten.
async fn delivered(tracker: &Tracker, receiver: &Receiver, count: usize) -> Vec<ReceivedEvent> {
    tracker.flush().await;
    let events = receiver.wait_for_events(count, Duration::from_secs(20)).await.unwrap();
    assert_eq!(tracker.counts().dropped(), 0, "{}", tracker.counts());
    assert_eq!(events.len(), count, "{events:?}");
    receiver.reset();
    events
}

fn names(events: &[ReceivedEvent]) -> Vec<&str> {
    events.iter().map(|event| event.event.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn success_event_on_ok_failure_event_on_err_both_after_the_handler() {
    let (tracker, receiver) = tracker().await;
    let addr = serve(&tracker).await;
    let channel = Endpoint::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    let mut client = tonic::client::Grpc::new(channel);

    let reply = login(&mut client, "correct horse").await.unwrap();
    assert_eq!(reply.get_ref().session, "s-ada");
    let events = delivered(&tracker, &receiver, 2).await;
    assert_eq!(names(&events), ["export.finished", "auth.login"]);
    assert_eq!(events[1].property("method"), Some(&json!("password")));
    assert_eq!(events[1].distinct_id, "u-7");

    let status = login(&mut client, "hunter2").await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let events = delivered(&tracker, &receiver, 2).await;
    assert_eq!(names(&events), ["export.finished", "auth.login_failed"]);
    assert_eq!(events[1].property("reason"), Some(&json!("wrong password")));
    assert_eq!(events[1].distinct_id, "u-7");
    assert!(receiver.rejected().is_empty(), "{:?}", receiver.rejected());
    assert_eq!(tracker.counts().emitted, 4, "{}", tracker.counts());
}
