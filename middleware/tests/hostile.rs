//! Hostile input, over raw TCP to a real axum server and straight into the service without
//! any server: invalid UTF-8 and oversized headers, absurd paths and methods, forged identity
//! headers, missing extensions. No panic, and every event stays well formed (strict mode).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;

use axum::Router;
use axum::http::HeaderName;
use axum::routing::get;
use common::{serve, tracker};
use serde_json::Value;
use tally_middleware::{
    TrackLayer,
    client_ip::ClientIp,
    identity::{AnonymousCookie, TrustedHeader},
};
use tally_runtime::Tracker;
use tally_runtime::sink::MemorySink;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

fn track_layer(
    tracker: &Tracker,
) -> TrackLayer<tally_middleware::classify::ServerErrorsAsFailures, (AnonymousCookie, TrustedHeader)> {
    TrackLayer::new_for_http()
        .tracker(tracker.clone())
        .received(true)
        .client_ip(ClientIp::socket().trust_proxies(["10.0.0.0/8".parse().unwrap()]))
        .identity((
            AnonymousCookie::new(),
            TrustedHeader::new(HeaderName::from_static("x-user-id"), "user").only_via_trusted_proxy(),
        ))
}

fn app(tracker: &Tracker) -> Router {
    Router::new()
        .route("/", get(|| async { "home" }))
        .route("/items/{id}", get(|| async { "item" }))
        .fallback(|| async { axum::http::StatusCode::NOT_FOUND })
        .layer(track_layer(tracker))
}

/// Sends raw bytes, returns the status code of the response (0 when the server closed without one).
async fn raw(addr: SocketAddr, request: &[u8]) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response);
    text.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0)
}

fn request(method: &str, path: &str, headers: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n").into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

const ROUTES: [&str; 3] = ["/", "/items/{id}", "<unmatched>"];
const METHODS: [&str; 10] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE", "OTHER"];

/// Every delivered event: a known route and method, a short user agent, no raw input.
fn assert_well_formed(tracker: &Tracker, sink: &MemorySink, forbidden: &[&str]) {
    let counts = tracker.counts();
    assert_eq!(counts.dropped_invalid, 0, "{counts:?}\n{}", sink.summary());
    let events = sink.events();
    assert!(!events.is_empty());
    for event in &events {
        let route = event.properties.get("route").and_then(tally_runtime::PropertyValue::as_str).unwrap();
        assert!(ROUTES.contains(&route), "route {route:?}");
        let method = event.properties.get("method").and_then(tally_runtime::PropertyValue::as_str).unwrap();
        assert!(METHODS.contains(&method), "method {method:?}");
        if let Some(agent) = event.properties.get("user_agent").and_then(tally_runtime::PropertyValue::as_str) {
            assert!(agent.len() <= 512, "user agent of {} bytes", agent.len());
        }
        assert!(!event.distinct_id.is_empty() && event.distinct_id != "forged-admin");
        let text = serde_json::to_string(&event.properties).unwrap();
        for needle in forbidden {
            assert!(!text.contains(needle), "{needle:?} leaked into {text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_over_tcp_get_answers_and_well_formed_events() {
    let (tracker, sink) = tracker(common::webapp());
    let addr = serve(app(&tracker)).await;
    let long_agent = vec![b'A'; 16 * 1024];
    let long_path = format!("/items/{}", "%ff%00".repeat(2000));
    let cookie_storm = (0..1000).map(|i| format!("c{i}=v{i}")).collect::<Vec<_>>().join("; ");
    let absurd_method = "X".repeat(200);
    let cases: Vec<Vec<u8>> = vec![
        request(
            "GET",
            "/",
            &[("user-agent", b"\xff\xfe\xfd bot"), ("cookie", b"tally_anon=\xff\xff\xff\xff\xff\xff\xff\xff")],
        ),
        request("GET", "/", &[("user-agent", &long_agent)]),
        request("GET", "/", &[("x-request-id", b"\xc3\x28 invalid"), ("x-request-id", b"second")]),
        request("GET", "/", &[("x-user-id", b"forged-admin"), ("x-forwarded-for", b"\xff, 10.0.0.1")]),
        request("GET", &long_path, &[]),
        request("GET", "/users/alice@example.com/../../etc/passwd?token=s3cr3t", &[]),
        request("FOOBAR", "/items/7", &[]),
        request(&absurd_method, "/", &[]),
        request("GET", "/", &[("cookie", cookie_storm.as_bytes())]),
        request("GET", "/", &[("content-length", b"99999999999999999999999")]),
        request("GET", "/items/%E2%82%AC", &[("x-forwarded-for", b"not an ip"), ("forwarded", b"for=\"[::1")]),
    ];
    for case in &cases {
        // Whatever hyper makes of the request, the layer never takes the server down.
        let _status = raw(addr, case).await;
    }
    // And it still serves.
    assert_eq!(raw(addr, &request("GET", "/items/1", &[])).await, 200);
    tracker.flush().await;
    assert_well_formed(&tracker, &sink, &["alice", "s3cr3t", "passwd", "forged-admin", "%ff", "bot"]);
    let completed = sink.named("api.request_completed");
    assert!(completed.len() >= 8, "most hostile requests reached the layer: {}", sink.summary());
    assert!(completed.iter().any(|e| e.properties["method"] == Value::from("OTHER")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_any_extension_or_header_is_tracked_without_panicking() {
    let (tracker, sink) = tracker(common::webapp());
    let service = tower::Layer::layer(
        &track_layer(&tracker),
        tower::service_fn(|_: http::Request<String>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(String::from("ok")))
        }),
    );
    for uri in ["/", "/very/raw/path/with/alice@example.com", "*"] {
        let request = http::Request::builder().method("PATCH").uri(uri).body(String::new()).unwrap();
        let response = service.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers().contains_key("x-request-id"));
        assert!(response.headers().contains_key("set-cookie"));
    }
    tracker.flush().await;
    assert_eq!(sink.named("api.request_completed").len(), 3);
    for event in sink.named("api.request_completed") {
        assert_eq!(event.properties["route"], Value::from("<unmatched>"));
        assert_eq!(event.properties.get("client_ip"), None, "no peer known, no IP");
    }
    assert_well_formed(&tracker, &sink, &["alice"]);
}
