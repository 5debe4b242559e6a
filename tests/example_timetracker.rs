//! `examples/timetracker` against a PostHog-compatible receiver on loopback: seed 001's rules
//! on the wire.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

#[path = "../examples/timetracker/app.rs"]
mod app;
#[path = "../examples/support/mod.rs"]
mod support;

use std::time::Duration;

use serde_json::json;
use tally_receiver::Receiver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn annotated_handlers_emit_the_schema_with_request_ids_and_the_privacy_rules() {
    let receiver = Receiver::builder().api_key("phc_tt").start().await.unwrap();
    let config = tally::Config::default().api_key("phc_tt").host(receiver.url()).pseudonymization_key("tt-test-key");
    let counts = app::run(config).await;
    assert_eq!((counts.delivered, counts.dropped()), (20, 0), "{counts}");
    let events = receiver.wait_for_events(20, Duration::from_secs(20)).await.unwrap();

    let convention = tally::catalog::model::Naming::ResourceAction;
    for event in &events {
        assert!(tally::catalog::naming::follows(convention, &event.event), "{} breaks resource.action", event.event);
        let timestamp = event.property("timestamp").and_then(|t| t.as_str()).unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(timestamp).is_ok());
        if event.event != "system.backup_created" {
            assert!(event.property("request_id").is_some_and(|r| r.is_string()), "{} has no request_id", event.event);
        }
        let raw = event.raw.to_string();
        assert!(!raw.contains("ada@example.com"), "an email left the process in {}", event.event);
        assert!(!raw.contains("about the invoice"), "a timer description left the process");
        assert!(!raw.contains("s3cret") && !raw.contains("guess"), "a password left the process");
    }
    let request_ids: std::collections::HashSet<_> = events.iter().filter_map(|e| e.property("request_id")).collect();
    assert_eq!(request_ids.len(), 19, "one request id per request");

    let find = |name: &str| events.iter().find(|e| e.event == name).unwrap_or_else(|| panic!("{name} missing"));
    let login = find("auth.login");
    let user = login.distinct_id.clone();
    assert_eq!(login.property("auth_method"), Some(&json!("local")));
    let failed = find("auth.login_failed");
    assert_eq!(failed.property("reason"), Some(&json!("invalid_password")));
    // The attempted username is on the wire only as its keyed hash (HMAC-SHA256 with the key).
    let hashed = tally::privacy::Pseudonymizer::new(b"tt-test-key").pseudonymize("ada");
    assert_eq!(failed.property("username"), Some(&json!(hashed)));
    assert!(events.iter().all(|e| !e.raw.to_string().contains("\"ada\"")), "the raw username left the process");
    assert_eq!(find("invoice.paid").property("amount"), Some(&json!(1_250.0)));
    assert_eq!(find("client.updated").property("client_id"), Some(&json!("c-7")));
    let created = find("project.created");
    assert_eq!((created.distinct_id.as_str(), created.property("user_id")), (user.as_str(), Some(&json!(user))));
    assert_eq!(created.property("has_client"), Some(&json!(true)));
    assert_eq!(created.property("project_name"), Some(&json!("Apollo (ask [email])")));
    assert_eq!(events.iter().filter(|e| e.event == "project.created").count(), 1, "an Err emits nothing");
    let timer = find("timer.started");
    assert!(timer.property("description").is_none());
    assert_eq!(timer.property("task_id"), Some(&serde_json::Value::Null));
    assert_eq!(find("project.updated").property("fields_changed"), Some(&json!(["name", "budget"])));
    assert_eq!(find("admin.user_role_changed").property("user_id"), Some(&json!("u-9")), "the affected user");
    let error = find("system.error");
    assert_eq!(
        (error.property("endpoint"), error.property("error_type")),
        (Some(&json!("/debug/crash")), Some(&json!("server_error")))
    );
    assert_eq!(find("system.backup_created").property("$process_person_profile"), Some(&json!(false)));
    assert_eq!(counts.redacted, 1);
}
