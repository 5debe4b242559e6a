//! End to end: tracker → worker → posthog-rs → a PostHog-compatible receiver on loopback.
//! Each test checks the exact wire JSON a seed catalog's rules call for.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

use std::time::Duration;

use serde_json::{Value, json};
use tally_receiver::{ReceivedEvent, Receiver, StatusCode};
use tally_runtime::catalog::Catalog;
use tally_runtime::context::{Context, RequestInfo};
use tally_runtime::{Config, EmitError, Event, Fact, Identity, Tracker, ValidationMode, Violation};

mod common;
use common::seed_catalog as catalog;

const WAIT: Duration = Duration::from_secs(20);
const SHUTDOWN: Duration = Duration::from_secs(20);

async fn receiver_and_tracker(
    name: &str,
    config: Config,
    build: impl FnOnce(tally_runtime::TrackerBuilder) -> tally_runtime::TrackerBuilder,
) -> (Receiver, Tracker) {
    let receiver = common::receiver().await;
    let config = common::delivering_to(&receiver, config);
    let tracker = build(Tracker::builder(catalog(name)).with_config(config)).build().unwrap();
    (receiver, tracker)
}

fn single(events: &[ReceivedEvent], name: &str) -> ReceivedEvent {
    let found: Vec<_> = events.iter().filter(|e| e.event == name).collect();
    assert_eq!(found.len(), 1, "expected one `{name}`, got {:?}", events.iter().map(|e| &e.event).collect::<Vec<_>>());
    found[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teleport_login_is_keyed_by_account_with_hmac_user_name_and_set_once() {
    // RFC 4231 test case 2: HMAC-SHA256(key = "Jefe", "what do ya want for nothing?").
    let config = Config::default().pseudonymization_key("Jefe");
    let (receiver, tracker) =
        receiver_and_tracker("teleport", config, |b| b.with_process_identity("account", "acme-corp")).await;
    Context::new()
        .with_identity(Identity::new().with("user", "what do ya want for nothing?"))
        .scope(async {
            tracker.emit(Event::new("user.login").with("connector_type", "github")).unwrap();
            tracker.emit(Event::new("user.login")).unwrap();
        })
        .await;
    tracker.shutdown(SHUTDOWN).await;
    let events = receiver.wait_for_events(2, WAIT).await.unwrap();

    let sso = &events[0];
    assert_eq!(sso.event, "tp.user.login");
    assert_eq!(sso.distinct_id, "tp.acme-corp");
    assert_eq!(
        sso.property("tp.user_name"),
        Some(&json!("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"))
    );
    assert_eq!(sso.property("tp.connector_type"), Some(&json!("github")));
    let set_once = sso.property("$set_once").unwrap();
    let timestamp = set_once["tp.first_login"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(timestamp).is_ok(), "{timestamp}");
    assert_eq!(set_once["tp.first_sso_login"], set_once["tp.first_login"]);
    assert_eq!(sso.property("$lib"), Some(&json!("tally")));
    assert_eq!(sso.property("$lib_version"), Some(&json!(env!("CARGO_PKG_VERSION"))));
    // tally's version in every part, not posthog-rs's.
    let part = |digits: &str| json!(digits.parse::<u64>().unwrap());
    assert_eq!(sso.property("$lib_version__major"), Some(&part(env!("CARGO_PKG_VERSION_MAJOR"))));
    assert_eq!(sso.property("$lib_version__minor"), Some(&part(env!("CARGO_PKG_VERSION_MINOR"))));
    assert_eq!(sso.property("$lib_version__patch"), Some(&part(env!("CARGO_PKG_VERSION_PATCH"))));
    assert_eq!(sso.property("$geoip_disable"), Some(&json!(true)));
    assert!(!sso.raw.to_string().contains("what do ya want"), "raw user name left the process");

    let local = &events[1];
    assert!(local.property("$set_once").unwrap().get("tp.first_sso_login").is_none(), "no SSO, no first_sso_login");
    assert!(local.property("tp.connector_type").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teleport_without_a_license_generates_no_event_and_counts_why() {
    let config = Config::default().pseudonymization_key("k");
    let (receiver, tracker) = receiver_and_tracker("teleport", config, |b| b).await;
    Context::new()
        .with_identity(Identity::new().with("user", "alice"))
        .scope(async {
            tracker.emit(Event::new("resource.create").with("resource_type", "kube")).unwrap();
        })
        .await;
    let counts = tracker.shutdown(SHUTDOWN).await;
    assert_eq!(counts.dropped_no_identity, 1);
    assert_eq!(counts.delivered, 0);
    assert_eq!(receiver.requests(), 0, "nothing may reach PostHog without an account");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pseudonymizing_catalog_without_a_key_is_a_startup_error() {
    let error = Tracker::builder(catalog("teleport")).build().unwrap_err();
    let message = error.to_string();
    assert!(message.contains("identity kind `user`") || message.contains("user_name"), "{message}");
    assert!(message.contains("no key"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_then_identified_links_with_identify() {
    let (receiver, tracker) = receiver_and_tracker("authsome", Config::default(), |b| b).await;
    let anonymous = "anon-3f2a";
    Context::new()
        .with_identity(Identity::new().with_anonymous(anonymous))
        .scope(async {
            tracker.emit(Event::new("account_login_failed").with_fact(Fact::FailureReason, "bad_password")).unwrap();
        })
        .await;
    tracker.identify(anonymous, Identity::principal("pr_42")).unwrap();
    Context::new()
        .with_identity(Identity::principal("pr_42").with_anonymous(anonymous))
        .scope(async {
            tracker.emit(Event::new("account_logged_in")).unwrap();
        })
        .await;
    tracker.shutdown(SHUTDOWN).await;
    let events = receiver.wait_for_events(3, WAIT).await.unwrap();
    assert_eq!(single(&events, "account_login_failed").distinct_id, anonymous);
    let identify = single(&events, "$identify");
    assert_eq!(identify.distinct_id, "pr_42");
    assert_eq!(identify.property("$anon_distinct_id"), Some(&json!(anonymous)));
    let login = single(&events, "account_logged_in");
    assert_eq!(login.distinct_id, "pr_42");
    assert_eq!(login.property("principal_id"), Some(&json!("pr_42")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authsome_agent_events_are_keyed_by_handle_and_linked_to_the_principal() {
    let (receiver, tracker) = receiver_and_tracker("authsome", Config::default(), |b| b).await;
    let agent_event = tracker
        .catalog()
        .events()
        .find(|(_, def)| {
            def.category() == Some("agent") && def.properties().all(|(_, p)| !p.required() || p.fill().is_some())
        })
        .map(|(name, _)| name.to_owned())
        .expect("an agent event without hand-given required properties");
    Context::new()
        .with_identity(Identity::principal("pr_42").with("agent", "bot-7"))
        .scope(async {
            tracker.emit(Event::new(agent_event.clone())).unwrap();
        })
        .await;
    tracker.shutdown(SHUTDOWN).await;
    let events = receiver.wait_for_events(1, WAIT).await.unwrap();
    let event = single(&events, &agent_event);
    assert_eq!(event.distinct_id, "bot-7");
    assert_eq!(event.property("$set").unwrap()["principal_distinct_id"], json!("pr_42"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auterity_envelope_groups_and_ip_anonymization() {
    let config = Config::default().environment("production").service("api").pseudonymization_key("k");
    let (receiver, tracker) = receiver_and_tracker("auterity", config, |b| b).await;
    let request = RequestInfo { client_ip: "203.0.113.77".parse().ok(), ..RequestInfo::default() };
    let context = Context::new()
        .with_identity(Identity::user("u-1"))
        .with_group("organization", "org-9")
        .with_request_info(request);
    context
        .scope(async {
            let login = Event::new("user.login")
                .with("device_type", "desktop")
                .with("browser", "Firefox 130")
                .with("ip_address", "198.51.100.23")
                .with("session_id", "s-1")
                .with_fact(Fact::LoginMethod, "password");
            tracker.emit(login).unwrap();
            tracker
                .emit(
                    Event::new("user.page_view")
                        .with("page_path", "/workflows")
                        .with("page_title", "Workflows")
                        .with("referrer", "/")
                        .with("time_on_page", 12)
                        .with("viewport_size", "desktop"),
                )
                .unwrap();
        })
        .await;
    let counts = tracker.shutdown(SHUTDOWN).await;
    let events = receiver.wait_for_events(3, WAIT).await.unwrap_or_else(|e| panic!("{e}; counts: {counts}"));
    let login = single(&events, "user.login");
    assert_eq!(login.distinct_id, "u-1");
    assert_eq!(login.property("event_id"), Some(&json!(login.uuid.clone().unwrap())));
    assert_eq!(login.property("event_name"), Some(&json!("user.login")));
    assert_eq!(login.property("organization_id"), Some(&json!("org-9")));
    assert_eq!(login.property("environment"), Some(&json!("production")));
    assert_eq!(login.property("source"), Some(&json!("api")));
    assert_eq!(login.property("version"), Some(&json!(tracker.catalog().version())));
    assert_eq!(login.property("ip_address"), Some(&json!("198.51.100.0")));
    assert_eq!(login.property("$groups"), Some(&json!({"organization": "org-9"})));
    let group = single(&events, "$groupidentify");
    assert_eq!(group.property("$group_type"), Some(&json!("organization")));
    assert_eq!(group.property("$group_key"), Some(&json!("org-9")));
    assert!(single(&events, "user.page_view").property("$groups").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timetracker_personless_system_event_request_id_and_privacy_rules() {
    let (receiver, tracker) =
        receiver_and_tracker("timetracker", Config::default().pseudonymization_key("k"), |b| b).await;
    tracker.emit(common::backup(1024)).unwrap();
    Context::new()
        .with_identity(Identity::user("u-5"))
        .with_request_id("req-77")
        .scope(async {
            let timer = Event::new("timer.started")
                .with("project_id", "p-1")
                .with("task_id", Value::Null)
                .with("description", "call ada@example.com about the invoice");
            tracker.emit(timer).unwrap();
            tracker
                .emit(
                    Event::new("project.created")
                        .with("project_id", "p-2")
                        .with("project_name", "Mail ada@example.com")
                        .with("has_client", false),
                )
                .unwrap();
        })
        .await;
    let counts = tracker.shutdown(SHUTDOWN).await;
    let events = receiver.wait_for_events(3, WAIT).await.unwrap();

    let backup = single(&events, "system.backup_created");
    assert_eq!(backup.property("$process_person_profile"), Some(&json!(false)));
    assert!(chrono::DateTime::parse_from_rfc3339(backup.property("timestamp").unwrap().as_str().unwrap()).is_ok());

    let timer = single(&events, "timer.started");
    assert_eq!(timer.distinct_id, "u-5");
    assert_eq!(timer.property("user_id"), Some(&json!("u-5")));
    assert_eq!(timer.property("request_id"), Some(&json!("req-77")));
    assert_eq!(timer.property("task_id"), Some(&Value::Null));
    assert!(timer.property("description").is_none(), "descriptions never leave");
    assert!(!timer.raw.to_string().contains("ada@example.com"));

    let project = single(&events, "project.created");
    assert_eq!(project.property("project_name"), Some(&json!("Mail [email]")));
    assert_eq!(counts.redacted, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn do_not_track_sends_nothing() {
    let config = Config::from_vars("", [("DO_NOT_TRACK", "1")]).pseudonymization_key("k");
    let (receiver, tracker) = receiver_and_tracker("timetracker", config, |b| b).await;
    assert!(!tracker.is_enabled());
    tracker.emit(common::backup(1)).unwrap();
    let counts = tracker.shutdown(SHUTDOWN).await;
    assert_eq!(counts.dropped_opted_out, 1);
    assert_eq!(counts.emitted, 0);
    assert_eq!(receiver.requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authsome_tracks_only_in_prod_with_a_key_and_without_do_not_track() {
    let vars = |env: &'static str, dnt: &'static str| {
        Config::from_vars(
            "AUTHSOME",
            [("AUTHSOME_ENV", env), ("AUTHSOME_DO_NOT_TRACK", dnt), ("AUTHSOME_POSTHOG_API_KEY", "phc_x")],
        )
        .require_environment("prod")
    };
    assert!(vars("prod", "0").is_enabled());
    assert!(!vars("dev", "0").is_enabled());
    assert!(!vars("prod", "1").is_enabled());
    assert!(vars("prod", "0").has_api_key(), "the prefixed key is read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_mode_reports_violations_to_the_caller() {
    let config = Config::default().validation(ValidationMode::Strict).pseudonymization_key("k");
    let (receiver, tracker) = receiver_and_tracker("timetracker", config, |b| b).await;
    let context = Context::new().with_identity(Identity::user("u-1"));
    let violations = |event: Event| match tracker.emit(event.with_context(context.clone().nested())) {
        Err(EmitError::Invalid(v)) => v.violations,
        other => panic!("expected a violation, got {other:?}"),
    };
    assert_eq!(
        violations(Event::new("project.craeted")),
        vec![Violation::UnknownEvent { event: "project.craeted".into(), suggestion: Some("project.created".into()) }]
    );
    let got =
        violations(Event::new("project.created").with("project_id", 7).with("has_client", false).with("colour", "red"));
    assert!(got.contains(&Violation::UnknownProperty("colour".into())), "{got:?}");
    assert!(got.contains(&Violation::MissingProperty("project_name".into())), "{got:?}");
    assert!(
        got.iter().any(|v| matches!(v, Violation::WrongType { property, .. } if property == "project_id")),
        "{got:?}"
    );
    let got = violations(Event::new("system.backup_created").with("backup_type", "weekly").with("size_bytes", 1));
    assert_eq!(got, vec![Violation::NotInEnum { property: "backup_type".into() }]);
    let counts = tracker.shutdown(SHUTDOWN).await;
    assert_eq!(counts.dropped_invalid, 3);
    assert_eq!(receiver.requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_mode_counts_and_flag_mode_delivers_with_violations() {
    let (receiver, tracker) =
        receiver_and_tracker("timetracker", Config::default().pseudonymization_key("k"), |b| b).await;
    tracker.emit(Event::new("no.such_event")).unwrap();
    let counts = tracker.shutdown(SHUTDOWN).await;
    assert_eq!((counts.emitted, counts.dropped_invalid, counts.violations), (1, 1, 1));
    assert_eq!(receiver.requests(), 0);

    let config = Config::default().validation(ValidationMode::Flag).pseudonymization_key("k");
    let (receiver, tracker) = receiver_and_tracker("timetracker", config, |b| b).await;
    let event = Event::new("system.backup_created").with("backup_type", "weekly").with("size_bytes", 1);
    tracker.emit(event.with("note", "asked by ana@example.com")).unwrap();
    let counts = tracker.shutdown(SHUTDOWN).await;
    let events = receiver.wait_for_events(1, WAIT).await.unwrap();
    assert_eq!(
        events[0].property("$tally_violations"),
        Some(&json!(["property `backup_type` is not one of its allowed values", "unknown property `note`"]))
    );
    // Flag mode sends the event without the invalid value, and the violation never repeats it.
    assert_eq!(events[0].property("backup_type"), None);
    assert!(!events[0].property("$tally_violations").unwrap().to_string().contains("weekly"));
    // A property the catalog does not know is reported, never delivered, not even in flag mode.
    assert_eq!(events[0].property("note"), None);
    assert_eq!(counts.violations, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_deliveries_are_retried_and_counted() {
    let (receiver, tracker) =
        receiver_and_tracker("timetracker", Config::default().pseudonymization_key("k"), |b| b).await;
    receiver.fail_next(1, StatusCode::BAD_REQUEST);
    tracker.emit(common::backup(1)).unwrap();
    tracker.flush().await;
    let counts = tracker.counts();
    assert_eq!(
        (counts.dropped_refused, counts.failed, counts.delivered),
        (1, 0, 0),
        "a 400 for one event: refused, counted"
    );

    receiver.fail_next(2, StatusCode::SERVICE_UNAVAILABLE);
    tracker.emit(common::backup(2)).unwrap();
    let counts = tracker.shutdown(SHUTDOWN).await;
    assert_eq!((counts.dropped_refused, counts.delivered, counts.retried), (1, 1, 2), "{counts}");
    let events = receiver.wait_for_events(1, WAIT).await.unwrap();
    assert_eq!(events[0].property("size_bytes"), Some(&json!(2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_lost_response_carries_the_same_event_id() {
    let (receiver, tracker) =
        receiver_and_tracker("timetracker", Config::default().pseudonymization_key("k"), |b| b).await;
    // PostHog ingests the batch but the answer is lost: the batch is sent again, and PostHog
    // keeps one event per uuid only if the retry carries the same ids.
    receiver.fail_next_after_storing(1, StatusCode::GATEWAY_TIMEOUT);
    tracker.emit(common::backup(1)).unwrap();
    let counts = tracker.shutdown(SHUTDOWN).await;
    assert_eq!((counts.retried, counts.delivered, counts.failed), (1, 1, 0), "{counts}");
    let copies = receiver.events();
    assert_eq!(copies.len(), 2, "stored once per attempt");
    assert_eq!(copies[0].uuid, copies[1].uuid);
    assert!(copies[0].uuid.is_some());
    assert_eq!(copies[0].raw, copies[1].raw, "the retry resends the event as it was");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_100k_is_delivered_before_shutdown_returns() {
    let (receiver, tracker) =
        receiver_and_tracker("timetracker", Config::default().pseudonymization_key("k"), |b| b).await;
    const BURST: u64 = 100_000;
    for i in 0..BURST {
        tracker.emit(common::backup(i)).unwrap();
    }
    let counts = tracker.shutdown(Duration::from_secs(300)).await;
    assert_eq!(counts.emitted, BURST);
    assert_eq!(counts.dropped(), 0, "the default queue holds a 100k burst");
    assert_eq!(counts.delivered + counts.failed + counts.dropped(), counts.emitted, "{counts}");
    assert_eq!(counts.delivered, BURST, "{counts}");
    assert_eq!(receiver.events().len() as u64, BURST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_drops_and_counts() {
    let config = Config::default().queue_capacity(1).pseudonymization_key("k");
    let (receiver, tracker) = receiver_and_tracker("timetracker", config, |b| b).await;
    let mut refused = 0u64;
    for i in 0..10_000 {
        if let Err(EmitError::QueueFull) = tracker.emit(common::backup(i)) {
            refused += 1;
        }
    }
    let counts = tracker.shutdown(SHUTDOWN).await;
    assert!(refused > 0, "a queue of one must overflow under a tight loop");
    assert_eq!(counts.dropped_queue_full, refused);
    assert_eq!(counts.delivered + counts.dropped(), counts.emitted, "{counts}");
    assert_eq!(receiver.events().len() as u64, counts.delivered);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn front_end_events_are_accepted_only_for_client_origin_and_validated() {
    let config = Config::default().pseudonymization_key("k");
    let (receiver, tracker) =
        receiver_and_tracker("teleport", config, |b| b.with_process_identity("account", "acme")).await;
    let props = |value: Value| value.as_object().cloned().unwrap();
    tracker.emit_client("tp.ui.banner.click", props(json!({"tp.alert": "upgrade-to-paid-plan"}))).unwrap();
    tracker.emit_client("ui.onboard.getStarted.click", props(json!({}))).unwrap();
    let refused = |name: &str, body: Value| match tracker.emit_client(name, props(body)) {
        Err(EmitError::Invalid(v)) => v.violations,
        other => panic!("expected a refusal for {name}, got {other:?}"),
    };
    assert_eq!(refused("tp.user.login", json!({})), vec![Violation::NotAClientEvent("tp.user.login".into())]);
    assert_eq!(refused("tp.ui.nope", json!({})), vec![Violation::NotAClientEvent("tp.ui.nope".into())]);
    assert_eq!(refused("tp.ui.banner.click", json!({"tp.alert": ""})), vec![Violation::Empty("alert".into())]);
    assert_eq!(refused("tp.ui.banner.click", json!({"alert": 3})).len(), 1);
    // A client-sent name is client data: the refusal names it only through the gate.
    let error = tracker.emit_client("tp.ui.ada@example.com", props(json!({}))).unwrap_err().to_string();
    assert!(!error.contains("ada@example.com") && error.contains("is not an event a client may send"), "{error}");
    let counts = tracker.shutdown(SHUTDOWN).await;
    assert_eq!((counts.delivered, counts.dropped_invalid, counts.violations), (2, 5, 5), "{counts}");
    assert!(counts.balanced(), "{counts}");
    let events = receiver.wait_for_events(2, WAIT).await.unwrap();
    assert_eq!(events[0].event, "tp.ui.banner.click");
    assert_eq!(events[0].distinct_id, "tp.acme");
    assert_eq!(events[0].property("tp.alert"), Some(&json!("upgrade-to-paid-plan")));
    assert_eq!(events[1].event, "tp.ui.onboard.getStarted.click");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pseudonymized_identity_stays_pseudonymized_when_a_property_copies_it() {
    let catalog = Catalog::parse(
        "inline.toml",
        r#"
        [catalog]
        name = "inline"
        version = "1.0.0"
        [identity]
        person = "member"
        kinds.member = { description = "A member's login.", personal = true, pseudonymize = true }
        [events."page.viewed"]
        description = "A page was viewed."
        trigger = "On each page view."
        properties.member = { type = "string", fill = "identity.member", description = "Who viewed it.", allow = { personal-data-unclassified = "hashed by its identity kind" } }
        "#,
    )
    .unwrap();
    let receiver = common::receiver().await;
    let config = common::delivering_to(&receiver, Config::default().pseudonymization_key("Jefe"));
    let tracker = Tracker::builder(catalog).with_config(config).build().unwrap();
    Context::new()
        .with_identity(Identity::new().with("member", "what do ya want for nothing?"))
        .scope(async { tracker.emit(Event::new("page.viewed")).unwrap() })
        .await;
    tracker.shutdown(SHUTDOWN).await;
    let events = receiver.wait_for_events(1, WAIT).await.unwrap();
    let hmac = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
    assert_eq!(events[0].distinct_id, hmac);
    assert_eq!(events[0].property("member"), Some(&json!(hmac)), "hashed once, never raw");
}

/// An instant on the wire: RFC 3339, or the offset-less form posthog-rs writes for UTC.
fn instant(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .or_else(|_| text.parse::<chrono::NaiveDateTime>().map(|t| t.and_utc()))
        .unwrap_or_else(|e| panic!("`{text}`: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_carry_their_emit_time_in_order_on_the_wire_and_in_their_ids() {
    let (receiver, tracker) =
        receiver_and_tracker("timetracker", Config::default().pseudonymization_key("k"), |b| b).await;
    // Once it has answered a flush, the worker is idle: it takes the next events on its
    // 100 ms timer or at the shutdown below, well after they were emitted.
    tracker.flush().await;
    let before = chrono::Utc::now();
    for size in 0..3 {
        tracker.emit(common::backup(size)).unwrap();
    }
    let after = chrono::Utc::now();
    // The interval under test, not a synchronization: the worker dates events after this, and
    // must date them when they were emitted, not when it processes them.
    tokio::time::sleep(Duration::from_millis(50)).await;
    tracker.shutdown(SHUTDOWN).await;
    let events = receiver.wait_for_events(3, WAIT).await.unwrap();

    let slack = chrono::Duration::milliseconds(1);
    let mut previous = None;
    for event in &events {
        let sent = instant(event.timestamp.as_deref().unwrap());
        assert!(sent >= before - slack && sent <= after + slack, "{sent} not within [{before}, {after}]");
        let property = instant(event.property("timestamp").unwrap().as_str().unwrap());
        assert!((property - sent).abs() < chrono::Duration::microseconds(1), "{property} != {sent}");
        let (secs, nanos) =
            uuid::Uuid::parse_str(event.uuid.as_deref().unwrap()).unwrap().get_timestamp().unwrap().to_unix();
        let id_time = chrono::DateTime::from_timestamp(secs as i64, nanos).unwrap();
        assert!((id_time - sent).abs() < slack, "the v7 id says {id_time}, the event {sent}");
        assert!(previous.is_none_or(|p| p <= sent), "emit order: {previous:?} then {sent}");
        previous = Some(sent);
    }
    let sizes: Vec<_> = events.iter().map(|e| e.property("size_bytes").cloned().unwrap()).collect();
    assert_eq!(sizes, [json!(0), json!(1), json!(2)]);
}
