//! `examples/quickstart` against a PostHog-compatible receiver on loopback: the middleware's
//! events and the handler's event under one distinct_id after the login.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

#[path = "../examples/quickstart/app.rs"]
mod app;
#[path = "../examples/support/mod.rs"]
mod support;

use std::time::Duration;

use serde_json::json;
use tally::{Config, ValidationMode};
use tally_runtime::receiver::Receiver;

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
