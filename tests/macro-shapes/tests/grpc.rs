//! The annotated methods of a `#[tonic::async_trait]` service, served by a real tonic server on
//! loopback and called by a real tonic client: the success event arrives only when the
//! handler returns `Ok`, the failure event only on `Err`, and both after the handler ran (the
//! handler emits an event of its own first).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use http::uri::PathAndQuery;
use serde_json::json;
use tally::{Context, Identity, MemorySink, Tracker};
use tally_macro_shapes::grpc::{AccountsImpl, AccountsServer, LoginReply, LoginRequest};
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Code, Request, Response, Status};
use tonic_prost::ProstCodec;

fn tracker() -> (Tracker, MemorySink) {
    let catalog =
        tally::catalog::Catalog::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../../macros/tests/ui/catalog.toml"))
            .unwrap();
    let sink = MemorySink::new();
    (Tracker::for_tests(catalog, sink.clone()).unwrap(), sink)
}

/// The server, each request run in a context carrying the tracker under test and a user.
async fn serve(tracker: &Tracker) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let tracker = tracker.clone();
    let context = tower::util::MapFutureLayer::new(move |future| {
        Context::new().tracker(tracker.clone()).identity(Identity::user("u-7")).scope(future)
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

/// The names of the events delivered so far, in the order they were emitted.
async fn delivered(tracker: &Tracker, sink: &MemorySink) -> Vec<String> {
    tracker.flush().await;
    assert_eq!(tracker.counts().dropped(), 0, "{:?}\n{}", tracker.counts(), sink.summary());
    sink.events().into_iter().map(|event| event.event.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn success_event_on_ok_failure_event_on_err_both_after_the_handler() {
    let (tracker, sink) = tracker();
    let addr = serve(&tracker).await;
    let channel = Endpoint::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    let mut client = tonic::client::Grpc::new(channel);

    let reply = login(&mut client, "correct horse").await.unwrap();
    assert_eq!(reply.get_ref().session, "s-ada");
    assert_eq!(delivered(&tracker, &sink).await, ["export.finished", "auth.login"], "{}", sink.summary());
    let success = sink.assert_emitted("auth.login").with_property("method", "password").for_distinct_id("u-7");
    drop(success);

    sink.clear();
    let status = login(&mut client, "hunter2").await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(delivered(&tracker, &sink).await, ["export.finished", "auth.login_failed"], "{}", sink.summary());
    let failed = sink.named("auth.login_failed");
    assert_eq!(failed[0].properties["reason"], json!("wrong password"));
    assert_eq!(failed[0].distinct_id, "u-7");
}
