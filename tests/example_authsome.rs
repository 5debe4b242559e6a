//! `examples/authsome` against a PostHog-compatible receiver on loopback: the rules of seed
//! 002's issue #428 on the wire.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

#[path = "../examples/authsome/app.rs"]
mod app;
#[path = "../examples/support/mod.rs"]
mod support;

use std::time::Duration;

use serde_json::json;
use tally::Config;
use tally_receiver::Receiver;

fn authsome_env(env: &'static str, key: Option<&'static str>, do_not_track: &'static str) -> Config {
    let mut vars = vec![("AUTHSOME_ENV", env), ("AUTHSOME_DO_NOT_TRACK", do_not_track)];
    if let Some(key) = key {
        vars.push(("AUTHSOME_POSTHOG_API_KEY", key));
    }
    Config::from_vars("AUTHSOME", vars)
}

#[test]
fn telemetry_is_on_only_in_prod_with_a_key_and_without_do_not_track() {
    assert_eq!(app::telemetry(&authsome_env("prod", Some("phc_x"), "0")), app::Telemetry::Enabled);
    assert_eq!(app::telemetry(&authsome_env("dev", Some("phc_x"), "0")), app::Telemetry::DryRun);
    assert_eq!(app::telemetry(&authsome_env("prod", None, "0")), app::Telemetry::DryRun);
    assert_eq!(app::telemetry(&authsome_env("prod", Some("phc_x"), "1")), app::Telemetry::OptedOut);
    assert!(!app::config_for(authsome_env("dev", Some("phc_x"), "0")).has_api_key(), "a dry run never sends");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn principals_key_account_events_handles_key_agent_events_and_identify_links_the_visitor() {
    let receiver = Receiver::builder().api_key("phc_authsome").start().await.unwrap();
    let counts = app::run(authsome_env("prod", Some("phc_authsome"), "0").host(receiver.url())).await;
    assert_eq!((counts.delivered, counts.dropped()), (16, 0), "{counts}");
    let events = receiver.wait_for_events(16, Duration::from_secs(20)).await.unwrap();

    for event in &events {
        assert!(event.event.starts_with('$') || tally::catalog::naming::is_snake_case(&event.event), "{}", event.event);
        if !event.event.starts_with('$') {
            // Set once at start-up (`Config::surface`), on every event of the process.
            assert_eq!(event.property("surface"), Some(&json!("server")), "{}", event.event);
        }
        assert!(!event.raw.to_string().contains("ada@example.com"), "the email left the process: {}", event.event);
    }
    let named = |name: &'static str| events.iter().filter(move |e| e.event == name);
    let registered = named("account_registered").next().unwrap();
    let principal = registered.distinct_id.clone();
    assert!(principal.starts_with("pr_"), "{principal}");
    assert_eq!(registered.property("principal_id"), Some(&json!(principal)));
    for account_event in [
        "principal_registered",
        "account_logged_in",
        "identity_claimed",
        "identity_claim_rejected",
        "connection_made_global",
        "account_logged_out",
    ] {
        assert!(named(account_event).all(|e| e.distinct_id == principal), "{account_event} is keyed by the principal");
    }
    for agent_event in [
        "identity_registered",
        "provider_registered",
        "auth_session_completed",
        "auth_session_failed",
        "credentials_resolved",
    ] {
        let event = named(agent_event).next().unwrap_or_else(|| panic!("{agent_event} missing"));
        assert_eq!(event.distinct_id, "ada-ci-bot", "{agent_event} is keyed by the handle");
        assert_eq!(event.property("identity_handle"), Some(&json!("ada-ci-bot")));
        assert_eq!(event.property("$set").unwrap()["principal_distinct_id"], json!(principal), "cross-linked");
    }
    let rejected = named("identity_claim_rejected").next().expect("identity_claim_rejected missing");
    assert_eq!(
        (rejected.property("identity_handle"), rejected.property("reason")),
        (Some(&json!("ada-ci-bot")), Some(&json!("already_registered")))
    );
    let failed = named("account_login_failed").next().unwrap();
    let identify = named("$identify").next().unwrap();
    assert_eq!(identify.distinct_id, principal);
    assert_eq!(identify.property("$anon_distinct_id"), Some(&json!(failed.distinct_id)), "the visitor before login");
    assert_eq!(named("account_logged_in").count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn do_not_track_records_nothing() {
    let receiver = Receiver::builder().api_key("phc_authsome").start().await.unwrap();
    let counts = app::run(authsome_env("prod", Some("phc_authsome"), "1").host(receiver.url())).await;
    assert_eq!(receiver.requests(), 0);
    assert_eq!(counts.emitted, 0, "{counts}");
    assert!(counts.dropped_opted_out > 0, "the handlers' emits are counted as opted out: {counts}");
}
