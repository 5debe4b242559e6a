//! Shared by the middleware's integration tests: catalogs, trackers, servers on loopback.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;

use serde_json::Value;
use tally_runtime::catalog::Catalog;
use tally_runtime::sink::{MemorySink, WireEvent};
use tally_runtime::{Config, Tracker, ValidationMode};

/// A seed catalog from `examples/catalogs`.
pub fn seed(name: &str) -> Catalog {
    let path = format!("{}/../examples/catalogs/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    Catalog::from_path(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// The middleware's own test catalog (every role, every property fillable).
pub fn webapp() -> Catalog {
    let path = format!("{}/tests/catalogs/webapp.toml", env!("CARGO_MANIFEST_DIR"));
    Catalog::from_path(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// The test configuration: strict validation (a violation is an error at emit), a fixed key.
pub fn strict_config() -> Config {
    Config::default()
        .validation(ValidationMode::Strict)
        .pseudonymization_key("tally-test-key")
        .service("api")
        .environment("development")
}

/// A strict tracker delivering to a memory sink.
pub fn tracker(catalog: Catalog) -> (Tracker, MemorySink) {
    let sink = MemorySink::new();
    let tracker = Tracker::builder(catalog).with_config(strict_config()).with_sink(sink.clone()).build().unwrap();
    (tracker, sink)
}

/// Serves an axum router on a loopback port, with the peer address as `ConnectInfo`.
pub async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        let _ = axum::serve(listener, service).await;
    });
    addr
}

/// A plain HTTP client (no proxy, no cookie store: the tests handle cookies themselves).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// The one event of this name.
pub fn one(sink: &MemorySink, name: &str) -> WireEvent {
    let found = sink.named(name);
    assert_eq!(found.len(), 1, "expected one `{name}`; delivered:\n{}", sink.summary());
    found.into_iter().next().unwrap()
}

/// A property of a wire event, as JSON.
pub fn prop(event: &WireEvent, name: &str) -> Option<Value> {
    event.properties.get(name).map(tally_runtime::PropertyValue::to_json)
}

/// The value of `name=` in a response's `Set-Cookie` headers.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|pair| pair.split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
}

/// The `x-request-id` of a response.
pub fn request_id(response: &reqwest::Response) -> String {
    response.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}
