//! A whole browser session against a real axum app on loopback, delivered through the real
//! PostHog client to a PostHog-compatible receiver on loopback, with TimeTracker's catalog
//! (seed 001) in strict mode:
//!
//! anonymous visit → failed login → login → API call → server error → panic → logout.
//!
//! Every event after the login carries the user's `distinct_id`; the `$identify` links the
//! anonymous id the failed attempt was keyed by; every event carries its request's id.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Request};
use axum::http::StatusCode;
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use common::{client, request_id, serve, set_cookie};
use serde_json::{Value, json};
use tally_middleware::{
    TrackLayer,
    identity::{AnonymousCookie, FromSession, VerifiedSession},
    login::{LoginOutcome, LogoutOutcome},
};
use tally_receiver::{ReceivedEvent, Receiver};
use tally_runtime::{Config, Event, Identity, Tracker, ValidationMode};

const WAIT: Duration = Duration::from_secs(20);

#[derive(Clone)]
struct Session {
    id: String,
    user: String,
}

type Sessions = Arc<Mutex<HashMap<String, String>>>;

/// The app's own session authentication, outside the tally layer.
async fn authenticate(Extension(sessions): Extension<Sessions>, mut request: Request, next: Next) -> Response {
    let sid = request
        .headers()
        .get("cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').find_map(|p| p.trim().strip_prefix("sid=")).map(str::to_owned));
    let user = sid.as_ref().and_then(|sid| sessions.lock().unwrap().get(sid).cloned());
    if let (Some(id), Some(user)) = (sid, user) {
        request.extensions_mut().insert(Session { id, user });
    }
    next.run(request).await
}

async fn home() -> &'static str {
    "welcome, stranger"
}

async fn login(Extension(sessions): Extension<Sessions>, body: String) -> Response {
    if body != "alice:correct horse battery staple" {
        let outcome = LoginOutcome::failure("invalid_credentials").with_method("local");
        return (StatusCode::UNAUTHORIZED, Extension(outcome)).into_response();
    }
    let sid = "sess-77".to_owned();
    sessions.lock().unwrap().insert(sid.clone(), "u-42".into());
    let outcome = LoginOutcome::success(Identity::user("u-42"), "local").with_session_id(&sid);
    ([("set-cookie", format!("sid={sid}; Path=/; HttpOnly"))], Extension(outcome), "hello").into_response()
}

async fn create_project(Extension(_session): Extension<Session>) -> StatusCode {
    tally_runtime::routing::emit(
        Event::new("project.created")
            .with("project_id", "p-1")
            .with("project_name", "Website relaunch")
            .with("has_client", true),
    )
    .unwrap();
    StatusCode::CREATED
}

async fn report(Path(_id): Path<String>) -> StatusCode {
    StatusCode::INTERNAL_SERVER_ERROR
}

async fn export(Path(_id): Path<String>) -> &'static str {
    panic!("export crashed for alice")
}

async fn logout(Extension(sessions): Extension<Sessions>, Extension(session): Extension<Session>) -> Response {
    sessions.lock().unwrap().remove(&session.id);
    (Extension(LogoutOutcome::new()), "bye").into_response()
}

fn app(tracker: &Tracker) -> Router {
    let track = TrackLayer::new_for_http().tracker(tracker.clone()).identity((
        AnonymousCookie::new(),
        FromSession::<Session>::new(|s| Some(VerifiedSession::new(&s.id).with_identity(Identity::user(&s.user)))),
    ));
    Router::new()
        .route("/", get(home))
        .route("/login", post(login))
        .route("/projects", post(create_project))
        .route("/projects/{id}/report", get(report))
        .route("/projects/{id}/export", get(export))
        .route("/logout", post(logout))
        .layer(track)
        .layer(from_fn(authenticate))
        .layer(Extension(Sessions::default()))
}

fn named<'a>(events: &'a [ReceivedEvent], name: &str) -> Vec<&'a ReceivedEvent> {
    events.iter().filter(|e| e.event == name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_login_api_error_logout_session_reaches_posthog_under_one_distinct_id() {
    let receiver = Receiver::builder().api_key("phc_test").start().await.unwrap();
    let config = Config::default()
        .api_key("phc_test")
        .host(receiver.url())
        .validation(ValidationMode::Strict)
        .pseudonymization_key("tally-test-key");
    let tracker = Tracker::builder(common::seed("timetracker")).with_config(config).build().unwrap();
    let base = format!("http://{}", serve(app(&tracker)).await);
    let client = client();

    // Anonymous: the first response sets the anonymous id.
    let visit = client.get(format!("{base}/")).send().await.unwrap();
    let anonymous = set_cookie(&visit, "tally_anon").unwrap();
    let anon_cookie = format!("tally_anon={anonymous}");
    let mut ids: HashMap<&str, String> = HashMap::new();

    let failed =
        client.post(format!("{base}/login")).header("cookie", &anon_cookie).body("alice:hunter2").send().await.unwrap();
    assert_eq!(failed.status(), 401);
    ids.insert("auth.login_failed", request_id(&failed));

    let login = client
        .post(format!("{base}/login"))
        .header("cookie", &anon_cookie)
        .body("alice:correct horse battery staple")
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    ids.insert("auth.login", request_id(&login));
    let sid = set_cookie(&login, "sid").unwrap();
    let cookies = format!("{anon_cookie}; sid={sid}");

    let created = client.post(format!("{base}/projects")).header("cookie", &cookies).send().await.unwrap();
    assert_eq!(created.status(), 201);
    ids.insert("project.created", request_id(&created));

    let error = client.get(format!("{base}/projects/p-1/report")).header("cookie", &cookies).send().await.unwrap();
    assert_eq!(error.status(), 500);
    let error_id = request_id(&error);

    let crash = client.get(format!("{base}/projects/p-1/export")).header("cookie", &cookies).send().await.unwrap();
    assert_eq!(crash.status(), 500);
    let crash_id = request_id(&crash);

    let bye = client.post(format!("{base}/logout")).header("cookie", &cookies).send().await.unwrap();
    assert_eq!(bye.status(), 200);
    ids.insert("auth.logout", request_id(&bye));
    assert_ne!(set_cookie(&bye, "tally_anon").unwrap(), anonymous, "a fresh anonymous id after logout");

    tracker.flush().await;
    let events = receiver.wait_for_events(7, WAIT).await.unwrap();
    let counts = tracker.shutdown(WAIT).await;
    assert_eq!(counts.dropped_invalid, 0, "{counts:?}");
    let names: Vec<_> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(events.len(), 7, "{names:?}");
    assert!(receiver.rejected().is_empty(), "{:?}", receiver.rejected());

    // Before the login: keyed by the anonymous id, without a person profile.
    let attempt = named(&events, "auth.login_failed")[0];
    assert_eq!(attempt.distinct_id, anonymous);
    assert_eq!(attempt.property("reason"), Some(&json!("invalid_credentials")));
    assert_eq!(attempt.property("auth_method"), Some(&json!("local")));
    assert_eq!(attempt.property("$process_person_profile"), Some(&json!(false)));

    // The login links the anonymous id to the person.
    let identify = named(&events, "$identify")[0];
    assert_eq!(identify.distinct_id, "u-42");
    assert_eq!(identify.property("$anon_distinct_id"), Some(&json!(anonymous)));
    let login = named(&events, "auth.login")[0];
    assert_eq!(login.property("auth_method"), Some(&json!("local")));
    assert_eq!(login.property("user_id"), Some(&json!("u-42")));

    // After the login: one distinct_id for the middleware's and the handler's events alike.
    for event in events.iter().filter(|e| e.event != "auth.login_failed") {
        assert_eq!(event.distinct_id, "u-42", "{} keyed by {}", event.event, event.distinct_id);
    }
    assert_eq!(named(&events, "project.created")[0].property("user_id"), Some(&json!("u-42")));
    let errors = named(&events, "system.error");
    assert_eq!(errors.len(), 2);
    let by_request = |id: &str| errors.iter().find(|e| e.property("request_id") == Some(&json!(id))).copied().unwrap();
    let server_error = by_request(&error_id);
    assert_eq!(server_error.property("endpoint"), Some(&json!("/projects/{id}/report")));
    assert_eq!(server_error.property("error_type"), Some(&json!("server_error")));
    assert_eq!(server_error.property("user_id"), Some(&json!("u-42")));
    let panic = by_request(&crash_id);
    assert_eq!(panic.property("endpoint"), Some(&json!("/projects/{id}/export")));
    assert_eq!(panic.property("error_type"), Some(&json!("panic")));

    // Every event carries its own request's id.
    for (name, id) in &ids {
        assert_eq!(named(&events, name)[0].property("request_id"), Some(&json!(id)), "{name}");
    }
    // Nothing personal left the process: no user name, password, raw path or panic message.
    let wire = serde_json::to_string(&events.iter().map(|e| &e.raw).collect::<Vec<&Value>>()).unwrap();
    for secret in ["alice", "hunter2", "horse", "p-1/report"] {
        assert!(!wire.contains(secret), "{secret} reached PostHog");
    }
}
