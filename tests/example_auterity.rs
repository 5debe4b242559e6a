//! `examples/auterity` against a PostHog-compatible receiver on loopback: seed 003's envelope,
//! middleware and tracing events, groups and dropped-and-counted invalid events on the wire.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

#[path = "../examples/auterity/app.rs"]
mod app;
#[path = "../examples/support/mod.rs"]
mod support;

use std::time::Duration;

use serde_json::json;
use tally_receiver::Receiver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_envelope_middleware_tracing_and_security_events_reach_posthog() {
    let receiver = Receiver::builder().api_key("phc_auterity").start().await.unwrap();
    let config = tally::Config::default()
        .api_key("phc_auterity")
        .host(receiver.url())
        .environment("production")
        .pseudonymization_key("auterity-test-key");
    let counts = app::run(config).await;
    assert_eq!(
        (counts.dropped_invalid, counts.violations),
        (1, 1),
        "the `cron` trigger is dropped and counted: {counts}"
    );
    assert_eq!(counts.delivered + counts.dropped(), counts.emitted, "{counts}");
    let events = receiver.wait_for_events(counts.delivered as usize, Duration::from_secs(20)).await.unwrap();

    let catalog_version = support::catalog("auterity").version().to_owned();
    for event in events.iter().filter(|e| !e.event.starts_with('$')) {
        assert_eq!(event.property("event_id"), Some(&json!(event.uuid.clone().unwrap())), "{}", event.event);
        assert_eq!(event.property("event_name"), Some(&json!(event.event)));
        assert!(
            event
                .property("timestamp")
                .and_then(|t| t.as_str())
                .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok())
        );
        assert_eq!(event.property("version"), Some(&json!(catalog_version)));
        assert_eq!(event.property("source"), Some(&json!("auterity-api")));
        assert_eq!(event.property("environment"), Some(&json!("production")));
        if let Some(ip) = event.property("ip_address") {
            assert_eq!(ip, &json!("127.0.0.0"), "client IPs are anonymized");
        }
    }
    let named = |name: &'static str| events.iter().filter(move |e| e.event == name);
    for expected in [
        "security.login_attempt",
        "user.login",
        "workflow.execution_started",
        "workflow.execution_completed",
        "workflow.execution_failed",
        "ai.model_requested",
        "ai.model_completed",
        "integration.sync_started",
        "integration.sync_completed",
        "api.request_completed",
        "api.request_failed",
        "system.error_occurred",
    ] {
        assert!(named(expected).next().is_some(), "{expected} missing");
    }

    let failed_login = named("security.login_attempt").next().unwrap();
    assert_eq!(failed_login.property("failure_reason"), Some(&json!("invalid_credentials")));
    let login = named("user.login").next().unwrap();
    assert_eq!((login.distinct_id.as_str(), login.property("login_method")), ("u-ada", Some(&json!("password"))));

    let api: Vec<_> = named("api.request_completed").filter(|e| e.property("api_key_id").is_some()).collect();
    assert_eq!(api.len(), 3, "the three API calls");
    for request in &api {
        assert_eq!(request.property("organization_id"), Some(&json!("org-dealer-9")));
        assert_eq!(request.property("$groups"), Some(&json!({"organization": "org-dealer-9"})));
        assert_ne!(request.property("api_key_id"), Some(&json!("key_7f3a")), "the key id is pseudonymized");
        assert!(
            request.property("endpoint").unwrap().as_str().unwrap().contains('{'),
            "a route template, never the raw path"
        );
    }
    let failed = named("api.request_failed").next().unwrap();
    assert_eq!(failed.property("response_status"), Some(&json!(500)));
    assert_eq!(failed.property("endpoint"), Some(&json!("/api/reports/broken")));

    let completed = named("workflow.execution_completed").next().unwrap();
    assert_eq!(completed.property("nodes_executed"), Some(&json!(3)));
    let execution_failed = named("workflow.execution_failed").next().unwrap();
    assert_eq!(execution_failed.property("failure_reason"), Some(&json!("node_error")));
    assert_eq!(execution_failed.property("workflow_id"), Some(&json!("wf-service-2")));
    assert!(
        named("integration.sync_completed").all(|e| e.distinct_id == "u-ada"),
        "the context follows the spawned sync"
    );
    assert_eq!(named("$groupidentify").count(), 1, "one $groupidentify per group per process");
}
