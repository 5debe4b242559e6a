//! `examples/quickstart` against a PostHog-compatible receiver on loopback: the middleware's
//! events and the handler's event under one distinct_id after the login.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

#[path = "../examples/quickstart/app.rs"]
mod app;
#[path = "../examples/support/mod.rs"]
mod support;

use std::time::Duration;

use serde_json::json;
use tally::{Config, event::ValidationMode};
use tally_receiver::Receiver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quickstart_session_reaches_posthog_keyed_by_one_user_after_login() {
    let receiver = Receiver::builder().api_key("phc_quickstart").start().await.unwrap();
    let config = Config::default().api_key("phc_quickstart").host(receiver.url()).validation(ValidationMode::Strict);
    let counts = app::run(config).await;
    // login_failed, $identify, login, 2×request_completed (login, todo), todo.created,
    // request_completed (show), request_failed + app.error (share), logout, request_completed ×2
    // (the failed login's 401 and the logout).
    assert_eq!(counts.dropped(), 0, "{counts}");
    let events = receiver.wait_for_events(counts.delivered as usize, Duration::from_secs(20)).await.unwrap();
    let named = |name: &'static str| events.iter().filter(move |e| e.event == name);

    let failed = named("user.login_failed").next().unwrap();
    assert_eq!(failed.property("reason"), Some(&json!("invalid_credentials")));
    let anonymous = failed.distinct_id.clone();
    let identify = named("$identify").next().unwrap();
    assert_eq!(
        (identify.distinct_id.as_str(), identify.property("$anon_distinct_id")),
        ("u-ada", Some(&json!(anonymous)))
    );
    for name in ["user.login", "todo.created", "app.error", "user.logout"] {
        let event = named(name).next().unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(event.distinct_id, "u-ada", "{name}");
    }
    assert_eq!(named("todo.created").next().unwrap().property("title_length"), Some(&json!(8)));
    let error = named("app.error").next().unwrap();
    assert_eq!(error.property("route"), Some(&json!("/todos/{id}/share")));
    let routes: Vec<_> = named("api.request_completed").filter_map(|e| e.property("route")).collect();
    assert!(routes.contains(&&json!("/todos/{id}")), "{routes:?}");
    assert!(!events.iter().any(|e| e.raw.to_string().contains("ada:") || e.raw.to_string().contains("buy milk")));
}

/// Set in the child process that runs the demo for
/// `without_a_key_the_demo_prints_its_events_as_json_lines_and_its_counters`.
const DEMO_CHILD: &str = "TALLY_QUICKSTART_DEMO_CHILD";

/// `cargo run --example quickstart` on a fresh machine: no PostHog key, so the tracker falls back
/// to the JSON-lines sink on stdout. The demo runs in a child process (this test binary, run
/// again for this test alone) so that its real stdout and stderr can be read.
#[test]
fn without_a_key_the_demo_prints_its_events_as_json_lines_and_its_counters() {
    if std::env::var_os(DEMO_CHILD).is_some() {
        // What examples/quickstart/main.rs does.
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let counts = runtime.block_on(app::run(support::config_from_env()));
        support::report(&counts);
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "without_a_key_the_demo_prints_its_events_as_json_lines_and_its_counters"])
        .args(["--nocapture", "--test-threads=1"])
        .env(DEMO_CHILD, "1")
        .env_remove("POSTHOG_API_KEY")
        .env_remove("POSTHOG_HOST")
        .env_remove("DO_NOT_TRACK")
        .env_remove("TALLY_KEY")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "the demo failed\nstdout:\n{stdout}\nstderr:\n{stderr}");

    // Every line the sink wrote is one event as PostHog would receive it. (libtest writes
    // `test <name> ... ` before the child's first line and ends it after the child's output.)
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|line| line.find(r#"{"uuid""#).map(|start| &line[start..]))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    for event in &events {
        let uuid: uuid::Uuid = event["uuid"].as_str().unwrap().parse().unwrap();
        assert_eq!(uuid.get_version_num(), 7, "{event}");
        assert!(event["distinct_id"].as_str().is_some_and(|id| !id.is_empty()), "{event}");
        assert!(event["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')), "{event}");
        assert_eq!(event["properties"]["$lib"], json!("tally"), "{event}");
    }
    let names: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    for name in ["user.login_failed", "$identify", "user.login", "todo.created", "app.error", "user.logout"] {
        assert_eq!(names.iter().filter(|n| **n == name).count(), 1, "{name} in {names:?}");
    }
    let logged_in = events.iter().find(|e| e["event"] == "user.login").unwrap();
    assert_eq!(logged_in["distinct_id"], json!("u-ada"));
    assert!(logged_in["properties"]["$set_once"]["first_login"].is_string(), "{logged_in}");
    assert!(!stdout.contains("correct horse") && !stdout.contains("buy milk"), "{stdout}");

    // The counters close the demo on stderr: every event delivered, nothing dropped.
    let n = events.len();
    let counters =
        stderr.lines().find_map(|line| line.strip_prefix("counters: ")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        counters.starts_with(&format!("emitted={n} delivered={n} failed=0 pending=0 spooled=0 ")),
        "{n} lines; {counters}"
    );
    assert!(
        counters.contains(
            " dropped{queue_full=0 invalid=0 no_identity=0 opted_out=0 closed=0 too_large=0 over_byte_budget=0 \
             refused=0 spool_full=0} "
        ),
        "{counters}"
    );
    assert!(stderr.contains("undelivered: none; every event emitted was delivered."), "{stderr}");
}
