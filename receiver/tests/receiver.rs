//! `tally_receiver` over real sockets: a real HTTP client (reqwest) and the real
//! PostHog client (posthog-rs) talk to a receiver on loopback.

use std::error::Error;
use std::io::Write;
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};
use tally_receiver::{MAX_DISTINCT_ID_CHARS, Receiver, StatusCode};

type TestResult = Result<(), Box<dyn Error>>;

/// Long enough for a loaded CI machine; waits end as soon as the events are there.
const PATIENCE: Duration = Duration::from_secs(20);

const UUID_A: &str = "0190a6c4-6d1e-7b3e-9d2a-4f1c2b3a4d5e";
const UUID_B: &str = "0190a6c4-6d1e-7b3e-9d2a-4f1c2b3a4d5f";

/// POST a JSON body; return the status and the JSON answer.
async fn post_json(receiver: &Receiver, path: &str, body: &Value) -> Result<(u16, Value), Box<dyn Error>> {
    let response = reqwest::Client::new().post(format!("{}{path}", receiver.url())).json(body).send().await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await?))
}

/// POST raw bytes with extra headers; return the status and the JSON answer.
async fn post_bytes(
    receiver: &Receiver,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<(u16, Value), Box<dyn Error>> {
    let mut request = reqwest::Client::new().post(format!("{}{path}", receiver.url())).body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await?))
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>, Box<dyn Error>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?)
}

fn batch(events: Value) -> Value {
    json!({"api_key": "phc_test", "historical_migration": false, "sent_at": "2025-01-02T03:04:05Z", "batch": events})
}

#[tokio::test]
async fn a_good_batch_is_stored_in_order_with_its_envelope() -> TestResult {
    let receiver = Receiver::start().await?;
    let body = batch(json!([
        {"uuid": UUID_A, "event": "signup", "distinct_id": "u1", "timestamp": "2025-01-02T03:04:00Z",
         "properties": {"plan": "pro", "$set_once": {"first_login": "2025-01-02"}}},
        {"uuid": UUID_B, "event": "login", "distinct_id": "u1", "timestamp": null, "properties": {}},
    ]));

    let (status, answer) = post_json(&receiver, "/batch/", &body).await?;

    assert_eq!(status, 200);
    assert_eq!(answer, json!({"status": 1}));
    let events = receiver.events();
    assert_eq!(events.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(), ["signup", "login"]);
    let signup = &events[0];
    assert_eq!(signup.uuid.as_deref(), Some(UUID_A));
    assert_eq!(signup.distinct_id, "u1");
    assert_eq!(signup.timestamp.as_deref(), Some("2025-01-02T03:04:00Z"));
    assert_eq!(signup.property("plan"), Some(&json!("pro")));
    assert_eq!(signup.property("$set_once"), Some(&json!({"first_login": "2025-01-02"})));
    assert_eq!(signup.api_key, "phc_test");
    assert_eq!(signup.path, "/batch/");
    assert_eq!(signup.sent_at.as_deref(), Some("2025-01-02T03:04:05Z"));
    assert!(!signup.historical_migration);
    assert_eq!((signup.batch_index, signup.request), (0, 1));
    assert_eq!(signup.raw, body["batch"][0]);
    assert_eq!(events[1].batch_index, 1);
    assert_eq!(events[1].timestamp, None);
    assert!(receiver.rejected().is_empty());
    assert_eq!(receiver.requests(), 1);
    Ok(())
}

#[tokio::test]
async fn an_empty_event_name_rejects_the_whole_batch() -> TestResult {
    let receiver = Receiver::start().await?;
    let body = batch(json!([
        {"event": "fine", "distinct_id": "u1"},
        {"event": "", "distinct_id": "u1"},
    ]));

    let (status, answer) = post_json(&receiver, "/batch/", &body).await?;

    assert_eq!(status, 400);
    assert_eq!(answer["type"], "validation_error");
    assert!(receiver.events().is_empty(), "nothing of a refused batch is stored");
    let rejected = receiver.rejected();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].status, StatusCode::BAD_REQUEST);
    assert_eq!(rejected[0].batch_index, Some(1));
    assert!(rejected[0].reason.contains("empty event name"), "{}", rejected[0].reason);
    assert!(rejected[0].body_excerpt.contains("\"fine\""), "{}", rejected[0].body_excerpt);
    Ok(())
}

#[tokio::test]
async fn a_missing_event_name_or_distinct_id_rejects_the_whole_batch() -> TestResult {
    let receiver = Receiver::start().await?;
    let no_distinct_id = batch(json!([
        {"event": "fine", "distinct_id": "u1"},
        {"event": "anonymous", "properties": {"a": 1}},
    ]));
    let empty_distinct_id = batch(json!([{"event": "e", "distinct_id": ""}]));
    let no_name = batch(json!([{"distinct_id": "u1"}]));

    let (status, _) = post_json(&receiver, "/batch/", &no_distinct_id).await?;
    assert_eq!(status, 400);
    let (status, _) = post_json(&receiver, "/batch/", &empty_distinct_id).await?;
    assert_eq!(status, 400);
    let (status, _) = post_json(&receiver, "/batch/", &no_name).await?;
    assert_eq!(status, 400);

    assert!(receiver.events().is_empty());
    let rejected = receiver.rejected();
    assert_eq!(rejected.len(), 3);
    assert!(rejected[0].reason.contains("missing a distinct_id"), "{}", rejected[0].reason);
    assert_eq!(rejected[0].event.as_deref(), Some("anonymous"));
    assert_eq!(rejected[0].batch_index, Some(1));
    assert!(rejected[1].reason.contains("empty distinct_id"), "{}", rejected[1].reason);
    assert!(rejected[2].reason.contains("missing an event name"), "{}", rejected[2].reason);
    Ok(())
}

#[tokio::test]
async fn a_distinct_id_in_properties_or_a_number_is_accepted() -> TestResult {
    let receiver = Receiver::start().await?;
    let body = json!([
        {"api_key": "k", "event": "a", "properties": {"distinct_id": "from-props"}},
        {"api_key": "k", "event": "b", "distinct_id": 42},
    ]);

    let (status, _) = post_json(&receiver, "/e/", &body).await?;

    assert_eq!(status, 200);
    let ids: Vec<_> = receiver.events().into_iter().map(|e| e.distinct_id).collect();
    assert_eq!(ids, ["from-props", "42"]);
    Ok(())
}

#[tokio::test]
async fn invalid_json_is_a_400() -> TestResult {
    let receiver = Receiver::start().await?;

    let (status, answer) = post_bytes(&receiver, "/batch/", &[], b"{\"api_key\": \"k\", ".to_vec()).await?;

    assert_eq!(status, 400);
    assert_eq!(answer["code"], "invalid_payload");
    assert!(receiver.events().is_empty());
    assert!(receiver.rejected()[0].reason.contains("malformed"), "{:?}", receiver.rejected());
    Ok(())
}

#[tokio::test]
async fn a_missing_api_key_is_a_401() -> TestResult {
    let receiver = Receiver::start().await?;
    let keyless = json!({"batch": [{"event": "e", "distinct_id": "u1"}]});
    let empty_key = json!({"api_key": "", "event": "e", "distinct_id": "u1"});

    let (status, answer) = post_json(&receiver, "/batch/", &keyless).await?;
    assert_eq!(status, 401);
    assert_eq!(answer["type"], "authentication_error");
    assert_eq!(answer["code"], "invalid_api_key");
    let (status, _) = post_json(&receiver, "/capture/", &empty_key).await?;
    assert_eq!(status, 401);

    assert!(receiver.events().is_empty());
    assert!(receiver.rejected().iter().all(|r| r.status == StatusCode::UNAUTHORIZED));
    Ok(())
}

#[tokio::test]
async fn a_required_api_key_refuses_others() -> TestResult {
    let receiver = Receiver::builder().api_key("phc_right").start().await?;

    let (wrong, answer) =
        post_json(&receiver, "/capture/", &json!({"api_key": "phc_wrong", "event": "e", "distinct_id": "u"})).await?;
    let (right, _) =
        post_json(&receiver, "/capture/", &json!({"token": "phc_right", "event": "e", "distinct_id": "u"})).await?;

    assert_eq!((wrong, right), (401, 200));
    assert_eq!(answer["code"], "invalid_api_key");
    let events = receiver.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].api_key, "phc_right");
    Ok(())
}

#[tokio::test]
async fn gzip_bodies_are_decoded_by_header_or_query() -> TestResult {
    let receiver = Receiver::start().await?;
    let by_header = gzip(batch(json!([{"event": "by header", "distinct_id": "u1"}])).to_string().as_bytes())?;
    let by_query = gzip(batch(json!([{"event": "by query", "distinct_id": "u1"}])).to_string().as_bytes())?;

    let (status, _) = post_bytes(
        &receiver,
        "/batch/",
        &[("content-type", "application/json"), ("content-encoding", "gzip")],
        by_header,
    )
    .await?;
    assert_eq!(status, 200);
    let (status, _) = post_bytes(&receiver, "/batch/?compression=gzip-js", &[], by_query).await?;
    assert_eq!(status, 200);

    let names: Vec<_> = receiver.events().into_iter().map(|e| e.event).collect();
    assert_eq!(names, ["by header", "by query"]);
    Ok(())
}

#[tokio::test]
async fn a_corrupt_gzip_body_is_a_400() -> TestResult {
    let receiver = Receiver::start().await?;

    let (status, _) =
        post_bytes(&receiver, "/batch/", &[("content-encoding", "gzip")], b"{\"not\": 1}".to_vec()).await?;

    assert_eq!(status, 400);
    assert!(receiver.rejected()[0].reason.contains("gzip"), "{:?}", receiver.rejected());
    Ok(())
}

#[tokio::test]
async fn single_events_and_arrays_are_accepted_on_the_capture_endpoints() -> TestResult {
    let receiver = Receiver::start().await?;
    let one = |name: &str| json!({"api_key": "phc_test", "event": name, "distinct_id": "u1", "properties": {"n": 1}});

    for path in ["/capture/", "/capture", "/e/", "/i/v0/e/"] {
        let (status, answer) = post_json(&receiver, path, &one(path)).await?;
        assert_eq!((status, answer), (200, json!({"status": 1})), "{path}");
    }
    let (status, _) = post_json(&receiver, "/i/v0/e/", &json!([one("array 1"), one("array 2")])).await?;
    assert_eq!(status, 200);

    let events = receiver.events();
    let names: Vec<_> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["/capture/", "/capture", "/e/", "/i/v0/e/", "array 1", "array 2"]);
    assert_eq!(events[0].path, "/capture/");
    assert_eq!(events[0].property("n"), Some(&json!(1)));
    assert_eq!(events[5].batch_index, 1);
    Ok(())
}

#[tokio::test]
async fn a_distinct_id_is_truncated_at_200_characters() -> TestResult {
    let receiver = Receiver::start().await?;
    let long_id = "é".repeat(250);

    let (status, _) =
        post_json(&receiver, "/capture/", &json!({"api_key": "k", "event": "long", "distinct_id": long_id})).await?;

    assert_eq!(status, 200);
    let event = receiver.events().pop().ok_or("no event stored")?;
    assert_eq!(event.distinct_id.chars().count(), MAX_DISTINCT_ID_CHARS);
    assert_eq!(event.distinct_id, "é".repeat(200));
    assert_eq!(event.raw["distinct_id"], json!(long_id), "the raw event keeps what was sent");
    Ok(())
}

#[tokio::test]
async fn an_oversized_event_is_dropped_and_the_rest_kept() -> TestResult {
    let receiver = Receiver::start().await?;
    let big = "x".repeat(1024 * 1024 + 1);
    let body = batch(json!([
        {"event": "small", "distinct_id": "u1"},
        {"event": "huge", "distinct_id": "u1", "properties": {"blob": big}},
        {"event": "small too", "distinct_id": "u1"},
    ]));

    let (status, _) = post_json(&receiver, "/batch/", &body).await?;

    assert_eq!(status, 200);
    let names: Vec<_> = receiver.events().into_iter().map(|e| e.event).collect();
    assert_eq!(names, ["small", "small too"]);
    let rejected = receiver.rejected();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].status, StatusCode::OK);
    assert_eq!(rejected[0].event.as_deref(), Some("huge"));
    assert_eq!(rejected[0].batch_index, Some(1));
    assert!(rejected[0].reason.contains("larger than"), "{}", rejected[0].reason);
    assert!(rejected[0].body_excerpt.len() < 2048);
    Ok(())
}

#[tokio::test]
async fn an_oversized_body_is_a_413_compressed_or_not() -> TestResult {
    let receiver = Receiver::builder().max_body_bytes(4096).start().await?;
    let body = batch(json!([{"event": "e", "distinct_id": "u1", "properties": {"pad": "y".repeat(8192)}}]));
    let plain = body.to_string().into_bytes();
    let compressed = gzip(&plain)?;
    assert!(compressed.len() < 4096, "the compressed body itself fits");

    let (status, answer) = post_bytes(&receiver, "/batch/", &[], plain).await?;
    assert_eq!(status, 413);
    assert_eq!(answer["code"], "payload_too_large");
    let (status, _) = post_bytes(&receiver, "/batch/", &[("content-encoding", "gzip")], compressed).await?;
    assert_eq!(status, 413);

    assert!(receiver.events().is_empty());
    let rejected = receiver.rejected();
    let statuses: Vec<_> = rejected.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [StatusCode::PAYLOAD_TOO_LARGE, StatusCode::PAYLOAD_TOO_LARGE]);
    assert!(rejected[0].body_excerpt.starts_with("{\"api_key\""), "{}", rejected[0].body_excerpt);
    Ok(())
}

#[tokio::test]
async fn a_body_over_20_mib_is_a_413_by_default() -> TestResult {
    let receiver = Receiver::start().await?;
    let body = vec![b' '; 20 * 1024 * 1024 + 1];

    let (status, _) = post_bytes(&receiver, "/batch/", &[], body).await?;

    assert_eq!(status, 413);
    assert_eq!(receiver.rejected().len(), 1);
    Ok(())
}

#[tokio::test]
async fn fail_next_answers_the_injected_status_then_recovers() -> TestResult {
    let receiver = Receiver::start().await?;
    let event = json!({"api_key": "k", "event": "retried", "distinct_id": "u1"});
    receiver.fail_next(2, StatusCode::SERVICE_UNAVAILABLE);

    let (first, _) = post_json(&receiver, "/capture/", &event).await?;
    let (second, answer) = post_json(&receiver, "/capture/", &event).await?;
    let (third, _) = post_json(&receiver, "/capture/", &event).await?;

    assert_eq!((first, second, third), (503, 503, 200));
    assert_eq!(answer["code"], "injected_failure");
    assert_eq!(receiver.requests(), 3);
    let events = receiver.events();
    assert_eq!(events.len(), 1, "injected failures store nothing");
    assert_eq!(events[0].request, 3);
    assert!(receiver.rejected().is_empty(), "injected failures are not the sender's fault");
    Ok(())
}

#[tokio::test]
async fn wait_for_events_returns_as_soon_as_they_arrive() -> TestResult {
    let receiver = Receiver::start().await?;
    let url = format!("{}/capture/", receiver.url());
    let sender = tokio::spawn(async move {
        let client = reqwest::Client::new();
        for name in ["one", "two"] {
            let event = json!({"api_key": "k", "event": name, "distinct_id": "u1"});
            client.post(&url).json(&event).send().await?.error_for_status()?;
        }
        Ok::<_, reqwest::Error>(())
    });

    let events = receiver.wait_for_events(2, PATIENCE).await?;

    assert_eq!(events.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(), ["one", "two"]);
    sender.await??;
    Ok(())
}

#[tokio::test]
async fn wait_for_events_timing_out_reports_what_arrived() -> TestResult {
    let receiver = Receiver::start().await?;
    post_json(&receiver, "/capture/", &json!({"api_key": "k", "event": "arrived", "distinct_id": "u1"})).await?;
    post_json(&receiver, "/capture/", &json!({"api_key": "k", "event": "", "distinct_id": "u1"})).await?;

    let Err(timeout) = receiver.wait_for_events(2, Duration::from_millis(50)).await else {
        return Err("only one good event was sent, the wait must time out".into());
    };

    assert_eq!(timeout.expected, 2);
    assert_eq!(timeout.received, ["arrived"]);
    assert_eq!(timeout.rejected.len(), 1);
    let message = timeout.to_string();
    assert!(message.contains("expected 2 events, 1 arrived [\"arrived\"]"), "{message}");
    assert!(message.contains("empty event name"), "{message}");
    Ok(())
}

#[tokio::test]
async fn reset_forgets_everything() -> TestResult {
    let receiver = Receiver::start().await?;
    post_json(&receiver, "/capture/", &json!({"api_key": "k", "event": "before", "distinct_id": "u1"})).await?;
    post_json(&receiver, "/capture/", &json!({"event": "keyless", "distinct_id": "u1"})).await?;
    receiver.fail_next(5, StatusCode::INTERNAL_SERVER_ERROR);

    receiver.reset();

    assert!(receiver.events().is_empty());
    assert!(receiver.rejected().is_empty());
    assert_eq!(receiver.requests(), 0);
    let (status, _) =
        post_json(&receiver, "/capture/", &json!({"api_key": "k", "event": "after", "distinct_id": "u1"})).await?;
    assert_eq!(status, 200, "pending injected failures are gone too");
    let events = receiver.wait_for_events(1, PATIENCE).await?;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event, "after");
    assert_eq!(events[0].request, 1);
    Ok(())
}

#[tokio::test]
async fn an_unknown_path_or_method_is_refused_and_recorded() -> TestResult {
    let receiver = Receiver::start().await?;

    let (not_found, _) = post_json(&receiver, "/ingest/batch/", &json!({})).await?;
    let wrong_method = reqwest::Client::new().get(format!("{}/batch/", receiver.url())).send().await?;

    assert_eq!((not_found, wrong_method.status().as_u16()), (404, 405));
    assert_eq!(receiver.requests(), 2);
    let rejected = receiver.rejected();
    assert_eq!(rejected[0].path, "/ingest/batch/");
    assert!(rejected[0].reason.contains("POST /ingest/batch/"), "{}", rejected[0].reason);
    assert_eq!(rejected[1].status, StatusCode::METHOD_NOT_ALLOWED);
    Ok(())
}

#[tokio::test]
async fn shutdown_stops_serving() -> TestResult {
    let receiver = Receiver::start().await?;
    let url = receiver.url();

    receiver.shutdown().await;

    assert!(reqwest::Client::new().post(format!("{url}/batch/")).send().await.is_err());
    Ok(())
}

/// The proof of wire compatibility: the real PostHog client delivers to the receiver, plain and
/// gzipped, and retries through an injected 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posthog_rs_delivers_to_the_receiver() -> TestResult {
    let receiver = Receiver::builder().api_key("phc_posthog_rs").start().await?;

    for compression in [None, Some(posthog_rs::CaptureCompression::Gzip)] {
        receiver.reset();
        let mut options = posthog_rs::ClientOptionsBuilder::default();
        options.api_key("phc_posthog_rs".to_string()).host(receiver.url()).disable_geoip(true);
        if let Some(compression) = compression {
            options.capture_compression(compression);
        }
        let client = posthog_rs::client(options.build()?).await;

        let mut signup = posthog_rs::Event::new("user signed up", "user-42");
        signup.insert_prop("plan", "pro")?;
        signup.insert_prop("$set_once", json!({"first_login": "2025-01-02"}))?;
        client.capture(signup);
        client.capture(posthog_rs::Event::new("user logged in", "user-42"));
        client.flush().await;

        let events = receiver.wait_for_events(2, PATIENCE).await?;
        assert_eq!(events.len(), 2, "{compression:?}: {events:?}");
        let signup = &events[0];
        assert_eq!(signup.event, "user signed up");
        assert_eq!(signup.distinct_id, "user-42");
        assert_eq!(signup.api_key, "phc_posthog_rs");
        assert_eq!(signup.path, "/batch/");
        assert_eq!((signup.batch_index, events[1].batch_index), (0, 1));
        assert_eq!(signup.property("plan"), Some(&json!("pro")));
        assert_eq!(signup.property("$set_once"), Some(&json!({"first_login": "2025-01-02"})));
        assert_eq!(signup.property("$lib"), Some(&json!("posthog-rs")));
        assert_eq!(signup.property("$geoip_disable"), Some(&json!(true)));
        assert!(signup.uuid.is_some(), "posthog-rs sends a uuid");
        assert!(signup.timestamp.is_some(), "posthog-rs stamps the capture time");
        assert!(signup.sent_at.is_some(), "posthog-rs sends sent_at");
        assert!(receiver.rejected().is_empty(), "{:?}", receiver.rejected());
        client.shutdown().await;
    }

    // Retries: a 503 is retryable for posthog-rs; the held batch comes back after its backoff.
    receiver.reset();
    receiver.fail_next(1, StatusCode::SERVICE_UNAVAILABLE);
    let options = posthog_rs::ClientOptionsBuilder::default()
        .api_key("phc_posthog_rs".to_string())
        .host(receiver.url())
        .retry_initial_backoff_ms(10u64)
        .build()?;
    let client = posthog_rs::client(options).await;
    client.capture(posthog_rs::Event::new("retried", "user-42"));
    client.flush().await;

    let events = receiver.wait_for_events(1, PATIENCE).await?;
    assert_eq!(events[0].event, "retried");
    assert_eq!(receiver.requests(), 2, "one injected 503, then the retry");
    client.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn wait_for_count_counts_without_copying_and_times_out_naming_what_came() -> TestResult {
    let receiver = Receiver::start().await?;
    let events = json!([
        {"event": "a", "distinct_id": "u1", "properties": {}},
        {"event": "b", "distinct_id": "u1", "properties": {}},
    ]);
    let (status, _) = post_json(&receiver, "/batch/", &batch(events)).await?;
    assert_eq!(status, 200);

    assert_eq!(receiver.wait_for_count(2, Duration::from_secs(10)).await?, 2);
    let timeout = receiver.wait_for_count(3, Duration::from_millis(50)).await.err().ok_or("expected a timeout")?;
    assert_eq!((timeout.expected, timeout.received), (3, vec!["a".to_owned(), "b".to_owned()]));
    Ok(())
}

#[tokio::test]
async fn a_counting_receiver_checks_and_answers_alike_but_stores_nothing() -> TestResult {
    let receiver = Receiver::builder().api_key("phc_test").keep_events(false).start().await?;
    let big = "x".repeat(1024 * 1024 + 1);
    let good = batch(json!([
        {"event": "a", "distinct_id": "u1"},
        {"event": "huge", "distinct_id": "u1", "properties": {"blob": big}},
        {"event": "b", "properties": {"distinct_id": 7}},
    ]));
    let empty_name = batch(json!([{"event": "fine", "distinct_id": "u1"}, {"event": "", "distinct_id": "u1"}]));
    let no_id = batch(json!([{"event": "x"}]));
    let wrong_key = json!({"api_key": "phc_other", "batch": [{"event": "x", "distinct_id": "u1"}]});

    assert_eq!(post_json(&receiver, "/batch/", &good).await?.0, 200);
    assert_eq!(post_json(&receiver, "/batch/", &empty_name).await?.0, 400);
    assert_eq!(post_json(&receiver, "/batch/", &no_id).await?.0, 400);
    assert_eq!(post_json(&receiver, "/batch/", &wrong_key).await?.0, 401);

    assert_eq!(receiver.wait_for_count(2, PATIENCE).await?, 2, "the two good events are counted");
    assert_eq!(receiver.accepted(), 2);
    assert!(receiver.events().is_empty(), "counted, not kept");
    let reasons: Vec<_> = receiver.rejected().into_iter().map(|r| (r.status.as_u16(), r.batch_index)).collect();
    assert_eq!(reasons, [(200, Some(1)), (400, Some(1)), (400, Some(0)), (401, None)]);
    receiver.reset();
    assert_eq!(receiver.accepted(), 0);
    Ok(())
}
