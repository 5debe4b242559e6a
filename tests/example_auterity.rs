//! `examples/auterity` against a PostHog-compatible receiver on loopback: seed 003's envelope
//! (`event_type`, a required `organization_id`), middleware and tracing events, 4xx and 5xx as
//! failed requests, login attempts with `success`, the device and browser from a real
//! User-Agent header, logout with the session's duration, an expired session, groups and
//! dropped-and-counted invalid events on the wire.

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
        // Every event of Auterity's catalog is named after its category.
        let category = event.event.split('.').next().unwrap();
        assert_eq!(event.property("event_type"), Some(&json!(category)), "{}", event.event);
        assert_eq!(event.property("organization_id"), Some(&json!("org-dealer-9")), "{}", event.event);
        if let Some(ip) = event.property("ip_address") {
            assert_eq!(ip, &json!("127.0.0.0"), "client IPs are anonymized");
        }
    }
    let named = |name: &'static str| events.iter().filter(move |e| e.event == name);
    for expected in [
        "security.login_attempt",
        "user.login",
        "user.logout",
        "user.session_expired",
        "api.request_received",
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
        "system.performance_metric",
        "ai.cost_incurred",
    ] {
        assert!(named(expected).next().is_some(), "{expected} missing");
    }

    let attempts: Vec<_> = named("security.login_attempt").collect();
    assert_eq!(attempts.len(), 2, "one attempt event per login, failed or not");
    let failed_login = attempts.iter().find(|e| e.property("success") == Some(&json!(false))).unwrap();
    assert_eq!(failed_login.property("failure_reason"), Some(&json!("invalid_credentials")));
    let ok_login = attempts.iter().find(|e| e.property("success") == Some(&json!(true))).unwrap();
    assert_eq!(ok_login.distinct_id, "u-ada");
    assert_eq!(ok_login.property("failure_reason"), None);
    let login = named("user.login").next().unwrap();
    assert_eq!((login.distinct_id.as_str(), login.property("login_method")), ("u-ada", Some(&json!("password"))));
    // Derived from the browser's User-Agent header by the pipeline.
    assert_eq!(login.property("device_type"), Some(&json!("desktop")));
    assert_eq!(login.property("browser"), Some(&json!("Firefox 133")));
    let session_id = login.property("session_id").unwrap().clone();

    let logout = named("user.logout").next().unwrap();
    assert_eq!((logout.distinct_id.as_str(), logout.property("session_id")), ("u-ada", Some(&session_id)));
    assert_eq!(logout.property("logout_reason"), Some(&json!("manual")));
    let minutes = logout.property("session_duration").and_then(|d| d.as_f64()).unwrap();
    assert!((0.0..5.0).contains(&minutes), "the session lasted the test's seconds: {minutes} min");

    let expired = named("user.session_expired").next().unwrap();
    assert_eq!((expired.distinct_id.as_str(), expired.property("session_id")), ("u-grace", Some(&json!("s-stale"))));
    let minutes = expired.property("session_duration").and_then(|d| d.as_f64()).unwrap();
    assert!((179.0..190.0).contains(&minutes), "the stale session started three hours ago: {minutes} min");
    let last = expired.property("last_activity").and_then(|t| t.as_str()).unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(last).is_ok(), "{last}");

    // The catalog says 4xx and 5xx are failed requests: the failed login (401), the failed
    // workflow (422), the expired session (401) and the broken report (500).
    let mut failed_statuses: Vec<_> =
        named("api.request_failed").map(|e| e.property("response_status").unwrap().as_u64().unwrap()).collect();
    failed_statuses.sort_unstable();
    assert_eq!(failed_statuses, [401, 401, 422, 500]);
    assert!(named("api.request_completed").all(|e| e.property("response_status").unwrap().as_u64().unwrap() < 400));
    let validation = named("api.request_failed").find(|e| e.property("response_status") == Some(&json!(422))).unwrap();
    assert_eq!(validation.property("error_type"), Some(&json!("validation")));
    assert_eq!(named("system.error_occurred").count(), 1, "only the 5xx is a system error");
    assert_eq!(named("api.request_received").count(), 9, "every request, before its handler");

    let api: Vec<_> = named("api.request_completed").filter(|e| e.property("api_key_id").is_some()).collect();
    assert_eq!(api.len(), 2, "the two API calls that succeeded");
    for request in &api {
        assert_eq!(request.property("organization_id"), Some(&json!("org-dealer-9")));
        assert_eq!(request.property("$groups"), Some(&json!({"organization": "org-dealer-9"})));
        assert_ne!(request.property("api_key_id"), Some(&json!("key_7f3a")), "the key id is pseudonymized");
        assert!(
            request.property("endpoint").unwrap().as_str().unwrap().contains('{'),
            "a route template, never the raw path"
        );
    }
    let failed = named("api.request_failed").find(|e| e.property("response_status") == Some(&json!(500))).unwrap();
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
