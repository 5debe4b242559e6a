//! `examples/grpc` against a PostHog-compatible receiver on loopback, and as `cargo run
//! --example grpc` prints it: the layer's call events and the events of the tonic service's
//! own methods (`#[tally::track_event]` on the `#[tonic::async_trait]` impl's methods), for
//! calls that succeed, fail, panic and stream, all keyed by the caller the service's auth
//! interceptor found.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

#[path = "../examples/grpc/app.rs"]
mod app;
#[path = "../examples/support/mod.rs"]
mod support;

use std::time::Duration;

use serde_json::json;
use tally::{Config, event::ValidationMode};
use tally_receiver::{ReceivedEvent, Receiver};

/// The one event called `name` on the gRPC method `route`, or the one `name` at all.
fn find<'a>(events: &'a [ReceivedEvent], name: &str, route: Option<&str>) -> &'a ReceivedEvent {
    let found: Vec<_> = events
        .iter()
        .filter(|e| e.event == name && route.is_none_or(|r| e.property("route") == Some(&json!(r))))
        .collect();
    assert_eq!(found.len(), 1, "one {name} on {route:?}: {found:?}");
    found[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_reaches_posthog_keyed_by_the_caller_with_its_outcome() {
    let receiver = Receiver::builder().api_key("phc_grpc").start().await.unwrap();
    let config = Config::default().api_key("phc_grpc").host(receiver.url()).validation(ValidationMode::Strict);
    let counts = app::run(config).await;
    assert_eq!(counts.dropped(), 0, "{counts}");
    assert_eq!(counts.emitted, 10, "{counts}");
    let events = receiver.wait_for_events(10, Duration::from_secs(20)).await.unwrap();
    assert!(events.iter().all(|e| e.distinct_id == "u-ada"), "keyed by the interceptor's user: {events:?}");

    // Success: the layer's event and the method's, one request id.
    let created = events.iter().filter(|e| e.event == "project.created").count();
    assert_eq!(created, 2);
    let completed: Vec<_> = events
        .iter()
        .filter(|e| {
            e.event == "rpc.completed" && e.property("route") == Some(&json!("/projects.v1.Projects/CreateProject"))
        })
        .collect();
    assert_eq!(completed.len(), 2);
    assert_eq!(completed[0].property("status"), Some(&json!(0)));
    assert_eq!(completed[0].property("method"), Some(&json!("grpc")));
    let ids: Vec<_> =
        events.iter().filter(|e| e.event == "project.created").map(|e| e.property("request_id")).collect();
    assert!(ids.contains(&completed[0].property("request_id")), "the method's event is in the call's context");

    // A failing call: NOT_FOUND, a client error (no app.error), and the method's on_err event.
    let archive = "/projects.v1.Projects/ArchiveProject";
    let failed = find(&events, "rpc.failed", Some(archive));
    assert_eq!(
        (failed.property("status"), failed.property("error_type")),
        (Some(&json!(5)), Some(&json!("not_found")))
    );
    let archive_failed = find(&events, "project.archive_failed", None);
    assert_eq!(archive_failed.property("reason"), Some(&json!("not_found")));
    assert_eq!(archive_failed.property("request_id"), failed.property("request_id"));
    assert!(!events.iter().any(|e| e.event == "project.archived"));

    // A panicking call: INTERNAL for the client, a failure and a server error for PostHog.
    let export = "/projects.v1.Projects/ExportProject";
    let failed = find(&events, "rpc.failed", Some(export));
    assert_eq!((failed.property("status"), failed.property("error_type")), (Some(&json!(13)), Some(&json!("panic"))));
    assert_eq!(find(&events, "app.error", Some(export)).property("error_type"), Some(&json!("panic")));
    assert!(!events.iter().any(|e| e.raw.to_string().contains("not implemented")), "the panic text stays home");
    assert!(!events.iter().any(|e| e.event == "project.exported"), "the panicking method never returned");

    // A streaming call: the layer reports it at the end of the stream, with the bytes sent.
    let listed = find(&events, "projects.listed", None);
    assert_eq!((listed.property("count"), listed.property("page_size")), (Some(&json!(2)), Some(&json!(10))));
    let streamed = find(&events, "rpc.completed", Some("/projects.v1.Projects/ListProjects"));
    assert!(streamed.property("response_size").and_then(|v| v.as_u64()).is_some_and(|n| n > 0), "{streamed:?}");
    assert_eq!(streamed.property("request_id"), listed.property("request_id"));
    assert!(!events.iter().any(|e| e.raw.to_string().contains("roadmap")), "project names stay home");
}

/// Set in the child process that runs the demo for
/// `without_a_key_the_demo_prints_its_events_as_json_lines_and_its_counters`.
const DEMO_CHILD: &str = "TALLY_GRPC_DEMO_CHILD";

/// `cargo run --example grpc` on a fresh machine: no PostHog key, so the events print as JSON
/// lines on stdout. The demo runs in a child process (this test binary, run again for this test
/// alone) so that its real stdout and stderr can be read.
#[test]
fn without_a_key_the_demo_prints_its_events_as_json_lines_and_its_counters() {
    if std::env::var_os(DEMO_CHILD).is_some() {
        // What examples/grpc/main.rs does.
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
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "the demo failed\nstdout:\n{stdout}\nstderr:\n{stderr}");

    let events: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|line| line.find(r#"{"uuid""#).map(|start| &line[start..]))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let mut names: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "app.error",
            "project.archive_failed",
            "project.created",
            "project.created",
            "projects.listed",
            "rpc.completed",
            "rpc.completed",
            "rpc.completed",
            "rpc.failed",
            "rpc.failed"
        ]
    );
    assert!(events.iter().all(|e| e["distinct_id"] == json!("u-ada")), "{stdout}");

    // The client's transcript and the counters on stderr: every event delivered, none dropped.
    for line in ["ArchiveProject p-404   -> NotFound", "ExportProject p-1      -> Internal", "2 projects streamed"] {
        assert!(stderr.contains(line), "{line:?} in\n{stderr}");
    }
    let counters =
        stderr.lines().find_map(|line| line.strip_prefix("counters: ")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(counters.starts_with("emitted=10 delivered=10 failed=0 "), "{counters}");
    let dropped = counters.split_once("dropped{").and_then(|(_, rest)| rest.split_once('}')).map(|(d, _)| d);
    let dropped = dropped.unwrap_or_else(|| panic!("no dropped{{…}} in {counters}"));
    assert!(dropped.split_whitespace().all(|reason| reason.ends_with("=0")), "{counters}");
}
