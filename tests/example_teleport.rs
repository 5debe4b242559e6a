//! `examples/teleport` against a PostHog-compatible receiver on loopback: seed 000's rules on
//! the wire.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

#[path = "../examples/teleport/app.rs"]
mod app;
#[path = "../examples/support/mod.rs"]
mod support;

use std::time::Duration;

use serde_json::json;
use tally::privacy::Pseudonymizer;
use tally_receiver::Receiver;

const KEY: &str = "teleport-test-key";

async fn run(license: &std::path::Path) -> (Receiver, tally::tracker::Counts) {
    let receiver = Receiver::builder().api_key("phc_teleport").start().await.unwrap();
    let config = tally::Config::default().api_key("phc_teleport").host(receiver.url()).pseudonymization_key(KEY);
    let counts = app::run(config, license).await;
    (receiver, counts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_is_keyed_by_the_license_account_and_user_names_are_hmacs() {
    let (receiver, counts) = run(&support::example_dir("teleport").join("license.toml")).await;
    let events = receiver.wait_for_events(counts.delivered as usize, Duration::from_secs(20)).await.unwrap();
    assert_eq!(counts.delivered, 15, "{counts}");
    assert_eq!(counts.dropped_invalid, 1, "the server event posted by the UI is refused: {counts}");
    assert_eq!(counts.client_refused, 0, "{counts}");

    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    for expected in ["tp.user.login", "tp.user.login_failed", "tp.sso.create", "tp.resource.create", "tp.session.start"]
    {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    // The web UI's events, through the client-events endpoint: plain posts, then posthog-js's batch.
    let ui: Vec<&str> = names.iter().copied().filter(|name| name.starts_with("tp.ui.")).collect();
    assert_eq!(
        ui,
        [
            "tp.ui.onboard.getStarted.click",
            "tp.ui.banner.click",
            "tp.ui.onboard.addFirstResource.click",
            "tp.ui.onboard.domainNameTC.submit",
            "tp.ui.onboard.goToDashboard.click",
        ]
    );
    let banner = events.iter().find(|e| e.event == "tp.ui.banner.click").unwrap();
    assert_eq!(banner.property("tp.alert"), Some(&json!("upgrade-to-paid-plan")));
    // posthog-js's own distinct_id, token and `$` properties stay in the browser's request.
    assert_eq!(counts.ignored_fields, 6, "posthog-js's `$current_url`, `$browser`, `$lib` twice: {counts}");
    for event in events.iter().filter(|e| e.event.starts_with("tp.ui.")) {
        let raw = event.raw.to_string();
        for forged in ["0193a1b2-anonymous", "phc_teleport_web", "$current_url", "Firefox"] {
            assert!(!raw.contains(forged), "{forged} came from the browser's body: {raw}");
        }
    }
    assert!(events.iter().all(|e| e.distinct_id == "tp.acme-corp"), "the person is the account");
    assert!(events.iter().all(|e| e.event.starts_with("tp.")));
    for event in &events {
        for key in event.properties.as_object().unwrap().keys() {
            assert!(key.starts_with("tp.") || key.starts_with('$'), "{key} is not namespaced in {}", event.event);
        }
        let raw = event.raw.to_string();
        assert!(!raw.contains("alice") && !raw.contains("bob"), "a raw user name left the process: {raw}");
    }

    let hmac = Pseudonymizer::new(KEY.as_bytes());
    let logins: Vec<_> = events.iter().filter(|e| e.event == "tp.user.login").collect();
    assert_eq!(logins.len(), 2);
    let (local, sso) = (&logins[0], &logins[1]);
    assert_eq!(local.property("tp.user_name"), Some(&json!(hmac.pseudonymize("alice"))));
    assert_eq!(sso.property("tp.user_name"), Some(&json!(hmac.pseudonymize("bob"))));
    assert!(local.property("$set_once").unwrap().get("tp.first_sso_login").is_none());
    assert!(sso.property("$set_once").unwrap().get("tp.first_sso_login").is_some());
    assert_eq!(sso.property("tp.connector_type"), Some(&json!("github")));

    let sessions: Vec<_> = events.iter().filter(|e| e.event == "tp.session.start").collect();
    let types: Vec<_> = sessions.iter().filter_map(|e| e.property("tp.session_type")).collect();
    assert_eq!(types, [&json!("ssh"), &json!("kube"), &json!("db"), &json!("app")]);
    assert!(sessions.iter().all(|e| e.property("$set_once").unwrap().get("tp.first_session").is_some()));

    let failed = events.iter().find(|e| e.event == "tp.user.login_failed").unwrap();
    assert_eq!(failed.property("tp.reason"), Some(&json!("invalid_credentials")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_valid_license_no_event_is_generated_and_the_counters_say_why() {
    let (receiver, counts) = run(std::path::Path::new("/nonexistent/license.toml")).await;
    assert_eq!(receiver.requests(), 0, "nothing may reach PostHog without a license");
    assert_eq!(counts.delivered, 0);
    assert!(counts.dropped_no_identity >= 12, "{counts}");
    assert_eq!(counts.emitted, counts.dropped(), "every event is accounted for: {counts}");
}
