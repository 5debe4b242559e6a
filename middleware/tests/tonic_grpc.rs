//! The layer in a real tonic server on loopback, called by a real tonic client. The service is
//! written with tonic's codegen API and prost-derive messages: no `protoc` needed.
//!
//! Auterity's catalog (seed 003) checks the request events in strict mode; the login test uses
//! the middleware's own test catalog (Auterity's login event requires a client IP, which tonic
//! reports only with this crate's `tonic` feature).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use common::{one, prop, tracker};
use http::uri::PathAndQuery;
use serde_json::json;
use tally_middleware::{
    TrackLayer,
    identity::{Resolution, ResolveIdentity},
};
use tally_runtime::sink::MemorySink;
use tally_runtime::{Identity, Tracker};
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Code, Request, Response, Status};
use tonic_prost::ProstCodec;
use tower_service::Service;

#[derive(Clone, PartialEq, prost::Message)]
struct HelloRequest {
    #[prost(string, tag = "1")]
    name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct HelloReply {
    #[prost(string, tag = "1")]
    message: String,
}

async fn say_hello(request: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
    let name = request.into_inner().name;
    match name.as_str() {
        "missing" => Err(Status::not_found("no such greeting for alice@example.com")),
        "boom" => Err(Status::internal("database password wrong")),
        "panic" => panic!("handler bug"),
        "login" => {
            let mut response = Response::new(HelloReply { message: "welcome".into() });
            let outcome = tally_middleware::login::LoginOutcome::success(Identity::user("u-grpc"), "password");
            response.extensions_mut().insert(outcome);
            Ok(response)
        }
        _ => Ok(Response::new(HelloReply { message: format!("hello {name}") })),
    }
}

type Stream = tokio_stream::Iter<std::vec::IntoIter<Result<HelloReply, Status>>>;

async fn countdown(_: Request<HelloRequest>) -> Result<Response<Stream>, Status> {
    let items = vec![
        Ok(HelloReply { message: "2".into() }),
        Ok(HelloReply { message: "1".into() }),
        Err(Status::unavailable("backend went away")),
    ];
    Ok(Response::new(tokio_stream::iter(items)))
}

/// `helloworld.Greeter`, as tonic's generated code would write it.
#[derive(Clone)]
struct Greeter;

impl NamedService for Greeter {
    const NAME: &'static str = "helloworld.Greeter";
}

impl Service<http::Request<Body>> for Greeter {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        match request.uri().path() {
            "/helloworld.Greeter/SayHello" => Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(ProstCodec::<HelloReply, HelloRequest>::default());
                Ok(grpc.unary(tower::service_fn(say_hello), request).await)
            }),
            "/helloworld.Greeter/Countdown" => Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(ProstCodec::<HelloReply, HelloRequest>::default());
                Ok(grpc.server_streaming(tower::service_fn(countdown), request).await)
            }),
            _ => Box::pin(async { Ok(Status::unimplemented("").into_http()) }),
        }
    }
}

/// An API key the app verified: its authentication layer, outside the tally layer.
#[derive(Clone)]
struct ApiKey(String);

fn authenticate(mut request: http::Request<Body>) -> http::Request<Body> {
    let key =
        request.headers().get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if let Some(key) = key.filter(|k| k.starts_with("key-")).map(str::to_owned) {
        request.extensions_mut().insert(ApiKey(key));
    }
    request
}

fn resolvers() -> impl ResolveIdentity {
    |parts: &http::request::Parts, r: &mut Resolution| {
        r.add_group("organization", "org-dealer-1");
        if let Some(ApiKey(key)) = parts.extensions.get::<ApiKey>() {
            r.add_identity(Identity::user(key.replace("key-", "u-")));
            r.set_property("api_key_id", key.clone());
        }
    }
}

async fn serve(tracker: &Tracker) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let layer = TrackLayer::new_for_grpc()
        .tracker(tracker.clone())
        .identity(resolvers())
        // Auterity's `api.request_received` requires the client IP, which needs the `tonic` feature.
        .received(cfg!(feature = "tonic"));
    let mut server = Server::builder().layer(tower::util::MapRequestLayer::new(authenticate)).layer(layer);
    let router = server.add_service(Greeter);
    tokio::spawn(router.serve_with_incoming(TcpIncoming::from(listener)));
    addr
}

async fn channel(addr: SocketAddr) -> tonic::client::Grpc<Channel> {
    let channel = Endpoint::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    tonic::client::Grpc::new(channel)
}

async fn hello(client: &mut tonic::client::Grpc<Channel>, name: &str) -> Result<Response<HelloReply>, Status> {
    client.ready().await.unwrap();
    let mut request = Request::new(HelloRequest { name: name.into() });
    request.metadata_mut().insert("authorization", "Bearer key-5".parse().unwrap());
    let path = PathAndQuery::from_static("/helloworld.Greeter/SayHello");
    client.unary(request, path, ProstCodec::<HelloRequest, HelloReply>::default()).await
}

fn assert_valid(tracker: &Tracker, sink: &MemorySink) {
    let counts = tracker.counts();
    assert_eq!(counts.dropped_invalid, 0, "invalid events (strict mode): {counts:?}\n{}", sink.summary());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unary_success_reports_the_grpc_method_and_code_zero() {
    let (tracker, sink) = tracker(common::seed("auterity"));
    let mut client = channel(serve(&tracker).await).await;
    let reply = hello(&mut client, "world").await.unwrap();
    assert_eq!(reply.get_ref().message, "hello world");
    tracker.flush().await;

    #[cfg(feature = "tonic")]
    {
        let received = one(&sink, "api.request_received");
        assert_eq!(prop(&received, "endpoint"), Some(json!("/helloworld.Greeter/SayHello")));
        assert_eq!(prop(&received, "method"), Some(json!("grpc")));
        assert_eq!(prop(&received, "ip_address"), Some(json!("127.0.0.0")), "the peer from tonic's TcpConnectInfo");
    }
    let completed = one(&sink, "api.request_completed");
    assert_eq!(completed.distinct_id, "u-5");
    assert_eq!(prop(&completed, "endpoint"), Some(json!("/helloworld.Greeter/SayHello")));
    assert_eq!(prop(&completed, "response_status"), Some(json!(0)));
    assert!(prop(&completed, "response_size").and_then(|v| v.as_u64()).is_some_and(|n| n > 0), "bytes counted");
    assert!(prop(&completed, "processing_time").is_some_and(|v| v.is_number()));
    sink.assert_not_emitted("api.request_failed");
    assert_valid(&tracker, &sink);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_codes_fail_and_server_side_codes_are_system_errors() {
    let (tracker, sink) = tracker(common::seed("auterity"));
    let mut client = channel(serve(&tracker).await).await;
    assert_eq!(hello(&mut client, "missing").await.unwrap_err().code(), Code::NotFound);
    tracker.flush().await;
    let failed = one(&sink, "api.request_failed");
    assert_eq!(prop(&failed, "response_status"), Some(json!(5)));
    assert_eq!(prop(&failed, "error_type"), Some(json!("not_found")));
    assert_eq!(prop(&failed, "error_message"), Some(json!("gRPC status NOT_FOUND")));
    sink.assert_not_emitted("system.error_occurred");

    sink.clear();
    assert_eq!(hello(&mut client, "boom").await.unwrap_err().code(), Code::Internal);
    tracker.flush().await;
    assert_eq!(prop(&one(&sink, "api.request_failed"), "error_type"), Some(json!("internal")));
    let error = one(&sink, "system.error_occurred");
    assert_eq!(prop(&error, "error_type"), Some(json!("internal")));
    assert_eq!(error.distinct_id, "u-5");
    assert!(!sink.summary().contains("password") && !sink.summary().contains("alice"), "never the status message");
    sink.assert_not_emitted("api.request_completed");
    assert_valid(&tracker, &sink);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_in_the_trailers_of_a_stream_is_classified_at_its_end() {
    let (tracker, sink) = tracker(common::seed("auterity"));
    let mut client = channel(serve(&tracker).await).await;
    client.ready().await.unwrap();
    let mut request = Request::new(HelloRequest { name: "x".into() });
    request.metadata_mut().insert("authorization", "Bearer key-5".parse().unwrap());
    let path = PathAndQuery::from_static("/helloworld.Greeter/Countdown");
    let mut stream = client
        .server_streaming(request, path, ProstCodec::<HelloRequest, HelloReply>::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stream.message().await.unwrap().unwrap().message, "2");
    assert_eq!(stream.message().await.unwrap().unwrap().message, "1");
    assert_eq!(stream.message().await.unwrap_err().code(), Code::Unavailable);
    tracker.flush().await;

    let failed = one(&sink, "api.request_failed");
    assert_eq!(prop(&failed, "endpoint"), Some(json!("/helloworld.Greeter/Countdown")));
    assert_eq!(prop(&failed, "response_status"), Some(json!(14)));
    assert_eq!(prop(&failed, "error_type"), Some(json!("unavailable")));
    assert_eq!(prop(&one(&sink, "system.error_occurred"), "error_type"), Some(json!("unavailable")));
    sink.assert_not_emitted("api.request_completed");
    assert_valid(&tracker, &sink);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_answers_internal_and_the_server_keeps_serving() {
    let (tracker, sink) = tracker(common::seed("auterity"));
    let mut client = channel(serve(&tracker).await).await;
    let status = hello(&mut client, "panic").await.unwrap_err();
    assert_eq!(status.code(), Code::Internal);
    assert_eq!(hello(&mut client, "again").await.unwrap().get_ref().message, "hello again");
    tracker.flush().await;
    assert_eq!(prop(&one(&sink, "api.request_failed"), "error_type"), Some(json!("panic")));
    assert_eq!(prop(&one(&sink, "system.error_occurred"), "error_type"), Some(json!("panic")));
    one(&sink, "api.request_completed");
    assert_valid(&tracker, &sink);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_reported_by_a_grpc_handler_emits_the_login_event() {
    let (tracker, sink) = tracker(common::webapp());
    let mut client = channel(serve(&tracker).await).await;
    hello(&mut client, "login").await.unwrap();
    tracker.flush().await;
    let login = one(&sink, "user.login");
    assert_eq!(login.distinct_id, "u-grpc");
    assert_eq!(prop(&login, "login_method"), Some(json!("password")));
    assert!(login.properties["$set_once"].to_json().get("first_login").is_some(), "the catalog's person properties");
    assert_valid(&tracker, &sink);
}
