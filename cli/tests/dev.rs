//! `tally dev` with real clients: tally's PostHog sink (posthog-rs underneath), posthog-rs on
//! its own, and raw HTTP for gzip and malformed bodies; asserted through the REST API.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

use std::io::Write;
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};
use tally_runtime::catalog::Catalog;
use tally_runtime::context::Context;
use tally_runtime::{Config, Event, Identity, Tracker};

mod dev_server;
use dev_server::{DevServer, workspace};

const TELEPORT: &str = "examples/catalogs/teleport.toml";
const QUICKSTART: &str = "examples/quickstart/catalog.toml";

async fn get(url: String) -> Value {
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 200, "GET {url}");
    response.json().await.unwrap()
}

async fn post(url: String, body: Vec<u8>, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(&url).body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array().unwrap().iter().map(|event| event["event"].as_str().unwrap()).collect()
}

fn kinds(event: &Value) -> Vec<&str> {
    event["violations"].as_array().unwrap().iter().map(|v| v["kind"].as_str().unwrap()).collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tallys_posthog_sink_delivers_clean_events_to_tally_dev() {
    let dev = DevServer::start(TELEPORT, &[]);
    let catalog = Catalog::from_path(workspace().join(TELEPORT)).unwrap();
    let config = Config::default().api_key("phc_dev").host(&dev.url).pseudonymization_key("Jefe");
    let tracker =
        Tracker::builder(catalog).with_config(config).with_process_identity("account", "acme-corp").build().unwrap();
    Context::new()
        .with_identity(Identity::new().with("user", "ada"))
        .scope(async {
            tracker.emit(Event::new("user.login").with("connector_type", "github")).unwrap();
        })
        .await;
    let counts = tracker.shutdown(Duration::from_secs(20)).await;
    assert_eq!(counts.delivered, 1, "{counts:?}");

    let listed = get(dev.at("/api/events")).await;
    let events = listed["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{listed:#}");
    let login = &events[0];
    assert_eq!(login["event"], "tp.user.login");
    assert_eq!(login["catalog_event"], "user.login");
    assert_eq!(login["distinct_id"], "tp.acme-corp");
    assert_eq!(login["path"], "/batch/");
    assert_eq!(login["properties"]["tp.connector_type"], "github");
    // What tally sends is clean by its own rules: no false alarms.
    assert_eq!(login["violations"], json!([]), "{login:#}");
    assert_eq!(listed["counts"]["events"], 1);
    assert_eq!(listed["counts"]["with_violations"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_event_from_posthog_rs_is_listed_under_violations() {
    let dev = DevServer::start(QUICKSTART, &[]);
    let options = posthog_rs::ClientOptionsBuilder::default()
        .api_key("phc_dev".to_owned())
        .host(dev.url.clone())
        .build()
        .unwrap();
    let client = posthog_rs::client(options).await;
    let mut typo = posthog_rs::Event::new("todo.craeted", "user-1");
    typo.insert_prop("title_length", 12).unwrap();
    client.capture(typo);
    client.shutdown().await; // flushes

    let violations = get(dev.at("/api/violations")).await;
    let listed = violations["events"].as_array().unwrap();
    assert_eq!(names(&violations["events"]), ["todo.craeted"], "{violations:#}");
    assert_eq!(kinds(&listed[0]), ["unknown_event"]);
    let message = listed[0]["violations"][0]["message"].as_str().unwrap();
    assert!(message.contains("did you mean `todo.created`?"), "{message}");
    assert_eq!(violations["rejected"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_batches_are_decoded_as_posthog_rs_and_posthog_js_send_them() {
    let dev = DevServer::start(QUICKSTART, &[]);
    let batch = json!({"api_key": "phc_dev", "batch": [
        {"event": "todo.created", "distinct_id": "user-1", "properties": {"title_length": 5, "user_id": "user-1"}},
        {"event": "todo.created", "distinct_id": "user-2", "properties": {"title_length": 7, "user_id": "user-2"}},
    ]});
    let body = gzip(batch.to_string().as_bytes());
    // posthog-rs: `Content-Encoding: gzip`.
    let (status, answer) = post(dev.at("/batch/"), body.clone(), &[("content-encoding", "gzip")]).await;
    assert_eq!((status, answer), (200, json!({"status": 1})));
    // posthog-js: `?compression=gzip-js`, a text/plain body.
    let (status, _) =
        post(dev.at("/e/?compression=gzip-js&ver=1.200.0"), body, &[("content-type", "text/plain")]).await;
    assert_eq!(status, 200);

    let listed = get(dev.at("/api/events")).await;
    assert_eq!(names(&listed["events"]), ["todo.created"; 4]);
    let paths: Vec<&str> = listed["events"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["/e/", "/e/", "/batch/", "/batch/"], "newest first");
    assert_eq!(listed["counts"]["requests"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_body_is_a_400_kept_as_rejected_and_the_server_goes_on() {
    let dev = DevServer::start(QUICKSTART, &[]);
    let (status, answer) = post(dev.at("/batch/"), b"{\"batch\": [".to_vec(), &[]).await;
    assert_eq!(status, 400);
    assert_eq!(answer["type"], "validation_error");
    assert_eq!(answer["code"], "invalid_payload");
    // Not gzip although it says so.
    let (status, _) = post(dev.at("/batch/"), b"plain".to_vec(), &[("content-encoding", "gzip")]).await;
    assert_eq!(status, 400);
    // PostHog refuses a whole batch for one event without a distinct_id.
    let no_id = json!({"api_key": "k", "batch": [{"event": "todo.created", "properties": {}}]});
    let (status, answer) = post(dev.at("/batch/"), no_id.to_string().into_bytes(), &[]).await;
    assert_eq!(status, 400);
    assert!(answer["detail"].as_str().unwrap().contains("distinct_id"), "{answer}");

    let violations = get(dev.at("/api/violations")).await;
    let rejected = violations["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 3, "{violations:#}");
    assert!(rejected.iter().all(|r| r["status"] == 400));
    assert_eq!(rejected[2]["body_excerpt"], "{\"batch\": [", "oldest last, with the body it refused");
    assert_eq!(violations["events"], json!([]));
    assert_eq!(violations["counts"]["rejected"], 3);
    assert_eq!(violations["counts"]["events"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_privacy_and_identity_violations_are_named() {
    let dev = DevServer::start(QUICKSTART, &[]);
    let batch = json!({"api_key": "k", "batch": [
        {"event": "todo.created", "distinct_id": "ada@example.com",
         "properties": {"title_length": "five", "user_id": "u1", "note": "call 10.1.2.3"}},
        {"event": "todo.created", "distinct_id": "undefined", "properties": {"title_length": 5, "user_id": "u1"}},
        {"event": "$identify", "distinct_id": "u1", "properties": {}},
    ]});
    let (status, _) = post(dev.at("/batch/"), batch.to_string().into_bytes(), &[]).await;
    assert_eq!(status, 200, "PostHog accepts them all: only tally dev objects");

    let listed = get(dev.at("/api/violations")).await;
    let events = listed["events"].as_array().unwrap();
    assert_eq!(events.len(), 3, "{listed:#}");
    assert_eq!(kinds(&events[0]), ["no_identity"], "`$identify` without `$anon_distinct_id`");
    assert_eq!(kinds(&events[1]), ["no_identity"], "placeholder id");
    let first = &events[2];
    // Identity first, then each property in wire order, then what the scrub finds.
    assert_eq!(kinds(first), ["personal_data", "wrong_type", "unknown_property", "personal_data"], "{first:#}");
    let about: Vec<&Value> = first["violations"].as_array().unwrap().iter().map(|v| &v["property"]).collect();
    assert_eq!(about, [&json!("distinct_id"), &json!("title_length"), &json!("note"), &json!("note")]);
    assert_eq!(
        first["violations"][1]["message"], "property `title_length` must be integer, found a string",
        "the runtime's own wording"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_person_view_and_reset() {
    let dev = DevServer::start(QUICKSTART, &[]);
    let event =
        |name: &str, id: &str, properties: Value| json!({"event": name, "distinct_id": id, "properties": properties});
    let todo = json!({"title_length": 3, "user_id": "u1"});
    let batch = json!({"api_key": "k", "batch": [
        event("todo.created", "anon-7", todo.clone()),
        event("$identify", "u1", json!({"$anon_distinct_id": "anon-7"})),
        event("todo.created", "u1", todo.clone()),
        event("todo.created", "u2", todo),
    ]});
    let (status, _) = post(dev.at("/capture/"), batch.to_string().into_bytes(), &[]).await;
    assert_eq!(status, 200);

    let by_name = get(dev.at("/api/events?event=%24identify")).await;
    assert_eq!(names(&by_name["events"]), ["$identify"]);
    let by_id = get(dev.at("/api/events?event=todo.created&distinct_id=u2")).await;
    assert_eq!(by_id["events"].as_array().unwrap().len(), 1);
    assert_eq!(by_id["events"][0]["distinct_id"], "u2");

    // The anonymous id's person is the identified one: its whole timeline, merge included.
    let person = get(dev.at("/api/persons/anon-7")).await;
    assert_eq!(person["ids"], json!(["anon-7", "u1"]));
    let ids: Vec<&str> =
        person["events"].as_array().unwrap().iter().map(|e| e["distinct_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["u1", "u1", "anon-7"]);
    assert_eq!(names(&person["events"]), ["todo.created", "$identify", "todo.created"]);

    let response = reqwest::Client::new().post(dev.at("/api/reset")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let after = get(dev.at("/api/events")).await;
    assert_eq!(after["events"], json!([]));
    assert_eq!(after["counts"]["events"], 0);
    assert_eq!(after["counts"]["requests"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_is_bounded_and_what_goes_is_counted() {
    let dev = DevServer::start(QUICKSTART, &["--keep", "2"]);
    for n in 1..=3 {
        let body = json!({"api_key": "k", "event": "todo.created", "distinct_id": format!("u{n}"),
                          "properties": {"title_length": n, "user_id": "u"}});
        let (status, _) = post(dev.at("/i/v0/e/"), body.to_string().into_bytes(), &[]).await;
        assert_eq!(status, 200);
    }
    let listed = get(dev.at("/api/events")).await;
    let ids: Vec<&str> =
        listed["events"].as_array().unwrap().iter().map(|e| e["distinct_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["u3", "u2"]);
    let counts = &listed["counts"];
    assert_eq!(
        (counts["events"].as_u64(), counts["kept"].as_u64(), counts["evicted"].as_u64()),
        (Some(3), Some(2), Some(1))
    );
}
