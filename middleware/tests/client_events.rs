//! The client-events endpoint in a real axum app on loopback, fed by a real HTTP client with
//! posthog-js-shaped payloads, delivering to the PostHog-compatible receiver: what passes,
//! what is refused and counted, and that the identity is always the session's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::middleware::{Next, from_fn};
use axum::response::Response;
use base64::Engine as _;
use serde_json::{Value, json};
use tally_middleware::{TrackLayer, client_events::ClientEvents, identity::Resolution};
use tally_receiver::{ReceivedEvent, Receiver};
use tally_runtime::catalog::Catalog;
use tally_runtime::{Config, Counts, Identity, Tracker};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WAIT: Duration = Duration::from_secs(20);

/// The signed-in user and their organization, put in the request by the app's authentication.
#[derive(Clone)]
struct User {
    id: &'static str,
    organization: &'static str,
}

/// The app's authentication: the cookie `session=alice` is Alice, of `org-1`.
async fn authenticate(mut request: Request, next: Next) -> Response {
    let cookie = request.headers().get("cookie").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if cookie.split(';').any(|pair| pair.trim() == "session=alice") {
        request.extensions_mut().insert(User { id: "u-alice", organization: "org-1" });
    }
    next.run(request).await
}

struct App {
    addr: SocketAddr,
    tracker: Tracker,
    receiver: Receiver,
    http: reqwest::Client,
}

impl App {
    async fn start(endpoint: ClientEvents) -> App {
        let receiver = Receiver::builder().api_key("phc_frontend").start().await.unwrap();
        let config = Config::default().api_key("phc_frontend").host(receiver.url()).pseudonymization_key("k");
        let catalog = Catalog::from_path(format!("{}/tests/catalogs/frontend.toml", env!("CARGO_MANIFEST_DIR")))
            .unwrap_or_else(|e| panic!("{e}"));
        let tracker = Tracker::builder(catalog).with_config(config).build().unwrap();
        let session = |parts: &Parts, r: &mut Resolution| {
            if let Some(user) = parts.extensions.get::<User>() {
                r.add_identity(Identity::user(user.id));
                r.add_group("organization", user.organization);
            }
        };
        let router = Router::new()
            .route_service("/e/", endpoint.clone())
            .route_service("/batch/", endpoint)
            .layer(TrackLayer::new_for_http().tracker(tracker.clone()).identity(session))
            .layer(from_fn(authenticate));
        let addr = common::serve(router).await;
        App { addr, tracker, receiver, http: common::client() }
    }

    /// Posts `body` as JSON, signed in as Alice; the status and the JSON answer.
    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("http://{}{path}", self.addr))
            .header("cookie", "session=alice")
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        answer(response).await
    }

    /// Waits for the tracker to settle, then returns the delivered events (but the
    /// `$groupidentify` that the session's organization brings) and the counters.
    async fn settle(&self, expected: usize) -> (Vec<ReceivedEvent>, Counts) {
        self.tracker.flush().await;
        let counts = self.tracker.counts();
        assert!(counts.balanced() && counts.pending == 0, "{counts}");
        let delivered = self.receiver.wait_for_events(counts.delivered as usize, WAIT).await.unwrap();
        let events: Vec<ReceivedEvent> = delivered.into_iter().filter(|e| e.event != "$groupidentify").collect();
        assert_eq!(events.len(), expected, "{counts}");
        (events, counts)
    }
}

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")))
}

/// An event as posthog-js builds it: its automatic properties, its own `distinct_id` and
/// project token, `$set_once` person properties.
fn posthog_js(name: &str, properties: Value) -> Value {
    let mut all = json!({
        "$os": "Mac OS X", "$browser": "Chrome", "$browser_version": 131, "$device_type": "Desktop",
        "$current_url": "https://app.example/projects/7?invite=ada@example.com", "$host": "app.example",
        "$pathname": "/projects/7", "$screen_height": 1080, "$screen_width": 1920, "$lib": "web",
        "$lib_version": "1.200.0", "$insert_id": "x1a2", "$time": 1_765_119_600.5,
        "distinct_id": "01939c3a-anon", "$device_id": "01939c3a-anon", "$session_id": "01939c3a-sess",
        "$window_id": "01939c3a-win", "token": "phc_frontend", "$referrer": "$direct", "$is_identified": false,
    });
    for (key, value) in properties.as_object().unwrap() {
        all[key] = value.clone();
    }
    json!({
        "uuid": "01939c3a-0000-7000-8000-000000000001",
        "event": name,
        "properties": all,
        "$set_once": {"$initial_referrer": "$direct"},
        "timestamp": "2026-12-07T15:00:00.000Z",
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posthog_js_e_and_batch_payloads_are_accepted_and_keyed_by_the_session() {
    let app = App::start(ClientEvents::new()).await;
    let click = |label: &str| posthog_js("ui.button.click", json!({"button": label}));

    // posthog-js without request batching: one event to `/e/`, with its query string.
    let (status, body) = app.post("/e/?ip=0&_=1765119600000&ver=1.200.0", &click("Save")).await;
    assert_eq!((status, body), (200, json!({"status": 1, "accepted": 1})));
    // posthog-js's default request batching: an array to `/e/` (`offset` instead of `timestamp`).
    let batched =
        json!([click("Share"), posthog_js("ui.page.view", json!({"page": "/projects/{id}", "seconds": 12.5}))]);
    assert_eq!(app.post("/e/", &batched).await, (200, json!({"status": 1, "accepted": 2})));
    // The `/batch/` shape, with the namespace-free catalog name.
    let batch = json!({"api_key": "phc_frontend", "sent_at": "2026-12-07T15:00:01Z", "batch": [click("Delete")]});
    assert_eq!(app.post("/batch/", &batch).await, (200, json!({"status": 1, "accepted": 1})));
    // The plain shape a `fetch` posts.
    let plain = json!({"event": "ui.button.click", "properties": {"button": "Export"}});
    assert_eq!(app.post("/e/", &plain).await, (200, json!({"status": 1, "accepted": 1})));
    // posthog-js's `base64` compression (and older versions' form bodies): `data=` form data.
    let encoded = base64::engine::general_purpose::STANDARD.encode(json!([click("Archive")]).to_string());
    let response = app
        .http
        .post(format!("http://{}/e/?compression=base64", app.addr))
        .header("cookie", "session=alice")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("data={}", form_urlencoded::byte_serialize(encoded.as_bytes()).collect::<String>()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer(response).await, (200, json!({"status": 1, "accepted": 1})));

    let (events, counts) = app.settle(6).await;
    let buttons: Vec<&Value> = events.iter().filter_map(|e| e.property("button")).collect();
    assert_eq!(buttons, [&json!("Save"), &json!("Share"), &json!("Delete"), &json!("Export"), &json!("Archive")]);
    let view = events.iter().find(|e| e.event == "ui.page.view").unwrap();
    assert_eq!(view.property("page"), Some(&json!("/projects/{id}")));
    assert_eq!(view.property("seconds"), Some(&json!(12.5)));
    for event in &events {
        assert_eq!(event.distinct_id, "u-alice", "the session's user, never posthog-js's anonymous id");
        assert_eq!(event.property("$groups"), Some(&json!({"organization": "org-1"})));
        let raw = event.raw.to_string();
        for leaked in ["$current_url", "ada@example.com", "01939c3a", "Mac OS X"] {
            assert!(!raw.contains(leaked), "{leaked} left the process: {raw}");
        }
    }
    // Five posthog-js events with 18 `$` properties each; `distinct_id` and `token` are never read.
    assert_eq!(counts.ignored_fields, 5 * 18, "posthog-js's own properties are ignored and counted: {counts}");
    assert_eq!((counts.client_refused, counts.dropped_invalid), (0, 0), "{counts}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_identity_in_the_body_is_ignored() {
    let app = App::start(ClientEvents::new()).await;
    let mut forged = posthog_js(
        "ui.button.click",
        json!({
            "button": "Pay", "distinct_id": "u-mallory", "$anon_distinct_id": "u-mallory",
            "$set": {"email": "mallory@example.com"}, "$groups": {"organization": "org-evil"},
            "$process_person_profile": true, "token": "phc_other_project",
        }),
    );
    forged["distinct_id"] = json!("u-mallory");
    forged["$set"] = json!({"role": "admin"});
    assert_eq!(app.post("/e/", &forged).await.0, 200);
    let batch = json!({"api_key": "phc_other_project", "batch": [forged.clone()]});
    assert_eq!(app.post("/batch/", &batch).await.0, 200);
    // Without a session, the body's distinct_id does not become one either.
    let response = app.http.post(format!("http://{}/e/", app.addr)).body(forged.to_string()).send().await.unwrap();
    assert_eq!(response.status(), 200);

    let (events, _) = app.settle(3).await;
    for event in &events {
        let raw = event.raw.to_string();
        for forged in ["mallory", "org-evil", "admin", "phc_other_project"] {
            assert!(!raw.contains(forged), "{forged} came from the body: {raw}");
        }
        assert_eq!(event.api_key, "phc_frontend");
    }
    assert_eq!(events[0].distinct_id, "u-alice");
    assert_eq!(events[1].distinct_id, "u-alice");
    assert_eq!(events[0].property("$groups"), Some(&json!({"organization": "org-1"})));
    assert_ne!(events[2].distinct_id, "u-mallory");
    assert_eq!(events[2].property("$process_person_profile"), Some(&json!(false)), "no session: personless");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_client_and_unknown_events_are_refused_and_counted() {
    let app = App::start(ClientEvents::new()).await;
    let server_event = json!({"event": "order.placed", "properties": {"total_cents": 100}});
    let (status, body) = app.post("/e/", &server_event).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["accepted"], 0);
    assert_eq!(body["refused"][0]["index"], 0);
    assert!(body["refused"][0]["reason"].as_str().unwrap().contains("not a client event"), "{body}");

    // An unknown name is not echoed back (it could carry anything).
    let (status, body) = app.post("/e/", &json!({"event": "ui.ada@example.com.click"})).await;
    assert_eq!(status, 422);
    assert!(!body.to_string().contains("ada@example.com"), "{body}");

    // One bad event among good ones: the good ones pass, the answer says which was refused.
    let mixed = json!([
        posthog_js("ui.button.click", json!({"button": "Ok"})),
        posthog_js("order.placed", json!({"total_cents": 1})),
        posthog_js("ui.page.view", json!({"page": "/", "seconds": "twelve"})),
    ]);
    let (status, body) = app.post("/e/", &mixed).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["accepted"], 1);
    let refused: Vec<u64> = body["refused"].as_array().unwrap().iter().map(|r| r["index"].as_u64().unwrap()).collect();
    assert_eq!(refused, [1, 2]);
    assert_eq!(body["refused"][1]["reason"], "property `seconds` must be number, found a string");

    let (events, counts) = app.settle(1).await;
    assert_eq!(events[0].event, "ui.button.click");
    assert_eq!(counts.dropped_invalid, 4, "{counts}");
    assert_eq!(counts.client_refused, 0, "refused by the catalog, not by the endpoint's caps: {counts}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_malformed_requests_are_refused_with_a_clear_status_and_counted() {
    let endpoint = ClientEvents::new().max_body_bytes(2048).max_events(3).max_property_bytes(64);
    let app = App::start(endpoint).await;
    let click = |label: &str| json!({"event": "ui.button.click", "properties": {"button": label}});
    let mut refusals = 0;

    // A body over the cap, announced by its length.
    let big = json!({"event": "ui.button.click", "properties": {"button": "x".repeat(4096)}});
    let (status, body) = app.post("/e/", &big).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"], "the body is over the cap of 2048 bytes");
    refusals += 1;

    // The same, chunked with no length: the endpoint stops reading at the cap.
    let mut socket = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = "POST /e/ HTTP/1.1\r\nhost: app\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
    socket.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("{:x}\r\n{}\r\n", 1024, "[".repeat(1024));
    for _ in 0..3 {
        socket.write_all(chunk.as_bytes()).await.unwrap();
    }
    let mut answer_head = vec![0u8; 12];
    socket.read_exact(&mut answer_head).await.unwrap();
    assert_eq!(&answer_head, b"HTTP/1.1 413");
    drop(socket);
    refusals += 1;

    // Too many events in one request.
    let four = json!([click("a"), click("b"), click("c"), click("d")]);
    let (status, body) = app.post("/e/", &four).await;
    assert_eq!((status, body["error"].as_str().unwrap()), (413, "the request has more than 3 events"));
    refusals += 1;

    // A property over the cap: that event is refused, the others pass.
    let mixed = json!({"batch": [click("fine"), click(&"y".repeat(100))]});
    let (status, body) = app.post("/batch/", &mixed).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["accepted"], 1);
    assert_eq!(body["refused"][0]["index"], 1);
    assert_eq!(body["refused"][0]["reason"], "a property's value is over the cap of 64 bytes");
    refusals += 1;

    // PostHog's `$` properties are not measured: the tracker ignores the undeclared ones.
    let long_url = json!({"$current_url": format!("https://app.example/{}", "z".repeat(200)), "button": "url"});
    let one = json!({"event": "ui.button.click", "properties": long_url});
    assert_eq!(app.post("/e/", &one).await, (200, json!({"status": 1, "accepted": 1})));

    // Malformed: not JSON, no event shape, an event without a name, a gzip body.
    for (body, content_type) in [
        (b"{not json".to_vec(), "application/json"),
        (b"42".to_vec(), "application/json"),
        (br#"[{"event":"ui.button.click"},{"properties":{}}]"#.to_vec(), "application/json"),
        (b"data=%%%".to_vec(), "application/x-www-form-urlencoded"),
    ] {
        let url = format!("http://{}/e/", app.addr);
        let response = app.http.post(url).header("content-type", content_type).body(body).send().await.unwrap();
        let (status, answer) = answer(response).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["status"], 0);
        refusals += 1;
    }
    let gzip = vec![0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00];
    let url = format!("http://{}/e/?compression=gzip-js", app.addr);
    let (status, body) = answer(app.http.post(url).body(gzip).send().await.unwrap()).await;
    assert_eq!(status, 415);
    assert!(body["error"].as_str().unwrap().contains("disable_compression: true"), "{body}");
    refusals += 1;

    // Not a POST.
    let response = app.http.get(format!("http://{}/e/", app.addr)).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    refusals += 1;

    let (events, counts) = app.settle(2).await;
    let buttons: Vec<&Value> = events.iter().filter_map(|e| e.property("button")).collect();
    assert_eq!(buttons, [&json!("fine"), &json!("url")]);
    assert_eq!(counts.client_refused, refusals, "{counts}");
    assert_eq!(counts.dropped_invalid, 0, "{counts}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_values_pass_the_privacy_gate_as_any_event() {
    let app = App::start(ClientEvents::new()).await;
    let label = "Invite ada@example.com with Bearer abcdef0123456789 from 192.168.1.20";
    assert_eq!(app.post("/e/", &posthog_js("ui.button.click", json!({"button": label}))).await.0, 200);
    // A name made to look like an identity does not get past the catalog either.
    let (status, _) = app.post("/e/", &json!({"event": "$identify", "properties": {"$anon_distinct_id": "x"}})).await;
    assert_eq!(status, 422);

    let (events, counts) = app.settle(1).await;
    let button = events[0].property("button").unwrap().as_str().unwrap();
    assert_eq!(button, "Invite [email] with [credential] from [ip]");
    assert!(counts.redacted >= 3, "{counts}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_tracker_the_endpoint_answers_503() {
    let router = Router::new().route_service("/e/", ClientEvents::new());
    let addr = common::serve(router).await;
    let body = json!({"event": "ui.button.click", "properties": {"button": "Save"}});
    let response = common::client().post(format!("http://{addr}/e/")).body(body.to_string()).send().await.unwrap();
    assert_eq!(response.status(), 503);
}
