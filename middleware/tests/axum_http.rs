//! The layer in a real axum app on loopback, called by a real HTTP client, with Auterity's
//! catalog (seed 003) in strict mode: every event must satisfy the catalog.
//!
//! Auterity's `api.request_*` events require `api_key_id` (from the API-key authentication), so
//! the app mounts the layer twice, as an Auterity deployment would: on the public API with the
//! request events, and on the web routes (login, logout) without them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Request};
use axum::http::{HeaderValue, StatusCode, request::Parts};
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use common::{client, one, prop, request_id, serve, set_cookie, tracker};
use serde_json::json;
use tally_middleware::{
    TrackLayer,
    client_ip::ClientIp,
    identity::{AnonymousCookie, FromSession, Resolution, ResolveIdentity, VerifiedSession},
    login::{AuthRoutes, LoginOutcome, LogoutOutcome},
};
use tally_runtime::catalog::model::Role;
use tally_runtime::context::Context;
use tally_runtime::sink::MemorySink;
use tally_runtime::{Event, Identity, Tracker};

/// An API key the app verified (its own authentication).
#[derive(Clone)]
struct ApiKey {
    id: String,
    user: String,
}

/// A web session the app verified.
#[derive(Clone)]
struct WebSession {
    id: String,
    user: String,
}

type Sessions = Arc<Mutex<HashMap<String, String>>>;

/// The app's authentication, outside the tally layer: API keys `key-<n>` belong to user
/// `u-<n>`; `sid` cookies name sessions in the store.
async fn authenticate(Extension(sessions): Extension<Sessions>, mut request: Request, next: Next) -> Response {
    let key =
        request.headers().get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if let Some(n) = key.and_then(|k| k.strip_prefix("key-")) {
        let api_key = ApiKey { id: format!("key-{n}"), user: format!("u-{n}") };
        request.extensions_mut().insert(api_key);
    }
    let sid = request
        .headers()
        .get("cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').find_map(|p| p.trim().strip_prefix("sid=")).map(str::to_owned));
    if let Some(sid) = sid {
        let user = sessions.lock().unwrap().get(&sid).cloned();
        if let Some(user) = user {
            request.extensions_mut().insert(WebSession { id: sid, user });
        }
    }
    next.run(request).await
}

/// Who is acting, for Auterity: the (single) organization of this deployment, the anonymous
/// cookie, the verified web session, the verified API key.
fn resolvers() -> impl ResolveIdentity {
    (
        |_: &Parts, r: &mut Resolution| r.add_group("organization", "org-dealer-1"),
        AnonymousCookie::new(),
        FromSession::<WebSession>::new(|s| Some(VerifiedSession::new(&s.id).with_identity(Identity::user(&s.user)))),
        |parts: &Parts, r: &mut Resolution| {
            if let Some(key) = parts.extensions.get::<ApiKey>() {
                r.add_identity(Identity::user(&key.user));
                r.set_property("api_key_id", key.id.clone());
            }
        },
    )
}

async fn show_project(Path(id): Path<String>) -> String {
    format!("project {id}")
}

async fn unavailable() -> StatusCode {
    StatusCode::SERVICE_UNAVAILABLE
}

async fn panics() -> &'static str {
    panic!("handler bug")
}

async fn use_feature(Path(name): Path<String>) -> String {
    tally_runtime::routing::emit(
        Event::new("user.feature_used")
            .with("feature_name", name)
            .with("feature_category", "creation")
            .with("action_type", "execute")
            .with("duration", 0.5),
    )
    .unwrap();
    Context::current().and_then(|c| c.request_id().map(str::to_owned)).unwrap_or_default()
}

async fn own_request_id() -> impl IntoResponse {
    ([("x-request-id", "set-by-handler")], "ok")
}

async fn login(Extension(sessions): Extension<Sessions>, body: String) -> Response {
    if body == "alice@example.com:correct horse" {
        let sid = "s-1001".to_owned();
        sessions.lock().unwrap().insert(sid.clone(), "u-alice".into());
        let outcome = LoginOutcome::success(Identity::user("u-alice"), "password").with_session_id(&sid);
        ([("set-cookie", format!("sid={sid}; Path=/; HttpOnly"))], Extension(outcome), "welcome").into_response()
    } else {
        let outcome = LoginOutcome::failure("invalid_credentials").with_method("password");
        (StatusCode::UNAUTHORIZED, Extension(outcome)).into_response()
    }
}

async fn logout(Extension(sessions): Extension<Sessions>, Extension(session): Extension<WebSession>) -> Response {
    sessions.lock().unwrap().remove(&session.id);
    (Extension(LogoutOutcome::new()), "bye").into_response()
}

async fn form_login() -> StatusCode {
    StatusCode::UNAUTHORIZED
}

/// The app: the API with every request event, the web routes with the login events only.
fn app(
    tracker: &Tracker,
    api_layer: impl FnOnce(TrackLayer<tally_middleware::classify::ServerErrorsAsFailures>) -> Router,
) -> Router {
    let web = Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/form-login", post(form_login))
        .layer(
            TrackLayer::new_for_http()
                .tracker(tracker.clone())
                .disable(Role::RequestCompleted)
                .disable(Role::RequestFailed)
                .identity(resolvers())
                .login((
                    tally_middleware::login::OutcomeExtensions,
                    AuthRoutes::new().login(axum::http::Method::POST, "/form-login", "password"),
                )),
        );
    let api = api_layer(TrackLayer::new_for_http().tracker(tracker.clone()));
    let sessions: Sessions = Arc::default();
    Router::new().merge(web).merge(api).layer(from_fn(authenticate)).layer(Extension(sessions))
}

fn api_routes() -> Router {
    Router::new()
        .route("/projects/{id}", get(show_project))
        .route("/unavailable", get(unavailable))
        .route("/panic", get(panics))
        .route("/features/{name}", get(use_feature))
        .route("/own-request-id", get(own_request_id))
}

/// The standard app: API requests tracked with the Auterity resolvers.
async fn standard() -> (Tracker, MemorySink, String) {
    let (tracker, sink) = tracker(common::seed("auterity"));
    let router = app(&tracker, |layer| api_routes().layer(layer.identity(resolvers())));
    let addr = serve(router).await;
    (tracker, sink, format!("http://{addr}"))
}

fn assert_valid(tracker: &Tracker, sink: &MemorySink) {
    let counts = tracker.counts();
    assert_eq!(counts.dropped_invalid, 0, "invalid events (strict mode): {counts:?}\n{}", sink.summary());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completed_request_has_route_template_status_duration_size_and_the_api_key_identity() {
    let (tracker, sink, base) = standard().await;
    let response =
        client().get(format!("{base}/projects/42")).header("authorization", "Bearer key-7").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let id = request_id(&response);
    assert!(!id.is_empty(), "a request id is set on the response");
    tracker.flush().await;

    let event = one(&sink, "api.request_completed");
    assert_eq!(event.distinct_id, "u-7");
    assert_eq!(prop(&event, "endpoint"), Some(json!("/projects/{id}")), "the route template, never the raw path");
    assert_eq!(prop(&event, "method"), Some(json!("GET")));
    assert_eq!(prop(&event, "response_status"), Some(json!(200)));
    assert_eq!(prop(&event, "response_size"), Some(json!("project 42".len())));
    assert!(prop(&event, "processing_time").is_some_and(|v| v.is_number()));
    assert_eq!(prop(&event, "organization_id"), Some(json!("org-dealer-1")));
    let key = prop(&event, "api_key_id").and_then(|v| v.as_str().map(str::to_owned)).unwrap();
    assert!(key.len() == 64 && key != "key-7", "the API key id is pseudonymized: {key}");
    assert!(!serde_json::to_string(&event.properties).unwrap().contains("/projects/42"));
    sink.assert_not_emitted("api.request_received");
    sink.assert_not_emitted("system.error_occurred");
    assert_valid(&tracker, &sink);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_error_emits_failed_and_system_error() {
    let (tracker, sink, base) = standard().await;
    let response =
        client().get(format!("{base}/unavailable")).header("authorization", "Bearer key-7").send().await.unwrap();
    assert_eq!(response.status(), 503);
    let id = request_id(&response);
    tracker.flush().await;

    let failed = one(&sink, "api.request_failed");
    assert_eq!(failed.distinct_id, "u-7");
    assert_eq!(prop(&failed, "response_status"), Some(json!(503)));
    assert_eq!(prop(&failed, "error_type"), Some(json!("server_error")));
    assert_eq!(prop(&failed, "endpoint"), Some(json!("/unavailable")));
    let error = one(&sink, "system.error_occurred");
    assert_eq!(error.distinct_id, "u-7");
    assert_eq!(prop(&error, "error_type"), Some(json!("server_error")));
    assert_eq!(prop(&error, "error_message"), Some(json!("HTTP 503 Service Unavailable")));
    assert_eq!(prop(&error, "request_id"), Some(json!(id)));
    assert_eq!(prop(&error, "user_affected"), Some(json!("u-7")));
    sink.assert_not_emitted("api.request_completed");
    assert_valid(&tracker, &sink);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_is_answered_500_reported_and_the_service_keeps_serving() {
    let (tracker, sink, base) = standard().await;
    let client = client();
    let response = client.get(format!("{base}/panic")).header("authorization", "Bearer key-7").send().await.unwrap();
    assert_eq!(response.status(), 500);
    assert!(!request_id(&response).is_empty());
    for _ in 0..3 {
        let ok = client.get(format!("{base}/projects/1")).header("authorization", "Bearer key-7").send().await.unwrap();
        assert_eq!(ok.status(), 200);
    }
    tracker.flush().await;

    let failed = one(&sink, "api.request_failed");
    assert_eq!(prop(&failed, "error_type"), Some(json!("panic")));
    assert_eq!(prop(&failed, "response_status"), Some(json!(500)));
    let error = one(&sink, "system.error_occurred");
    assert_eq!(prop(&error, "error_type"), Some(json!("panic")));
    assert_eq!(prop(&error, "error_message"), Some(json!("the request handler panicked")));
    assert!(!serde_json::to_string(&error.properties).unwrap().contains("handler bug"), "never the panic message");
    assert_eq!(sink.named("api.request_completed").len(), 3);
    assert_valid(&tracker, &sink);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn received_is_opt_in_and_sampling_drops_only_successes() {
    let (tracker, sink) = tracker(common::seed("auterity"));
    let router = app(&tracker, |layer| api_routes().layer(layer.identity(resolvers()).received(true).sample_rate(0.0)));
    let base = format!("http://{}", serve(router).await);
    let client = client();
    for _ in 0..5 {
        client.get(format!("{base}/projects/1")).header("authorization", "Bearer key-7").send().await.unwrap();
    }
    client.get(format!("{base}/unavailable")).header("authorization", "Bearer key-7").send().await.unwrap();
    tracker.flush().await;
    sink.assert_not_emitted("api.request_received");
    sink.assert_not_emitted("api.request_completed");
    one(&sink, "api.request_failed");
    one(&sink, "system.error_occurred");
    assert_valid(&tracker, &sink);

    let (tracker, sink) = common::tracker(common::seed("auterity"));
    let router = app(&tracker, |layer| api_routes().layer(layer.identity(resolvers()).received(true)));
    let base = format!("http://{}", serve(router).await);
    client.get(format!("{base}/projects/1")).header("authorization", "Bearer key-7").send().await.unwrap();
    tracker.flush().await;
    let received = one(&sink, "api.request_received");
    assert_eq!(prop(&received, "endpoint"), Some(json!("/projects/{id}")));
    assert_eq!(prop(&received, "method"), Some(json!("GET")));
    assert_eq!(prop(&received, "ip_address"), Some(json!("127.0.0.0")), "the socket peer, anonymized");
    assert_eq!(received.distinct_id, "u-7");
    one(&sink, "api.request_completed");
    assert_valid(&tracker, &sink);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_events_share_the_identity_request_id_and_tracker() {
    let (tracker, sink, base) = standard().await;
    let response = client()
        .get(format!("{base}/features/workflow_builder"))
        .header("authorization", "Bearer key-9")
        .send()
        .await
        .unwrap();
    let header_id = request_id(&response);
    let seen_by_handler = response.text().await.unwrap();
    assert_eq!(seen_by_handler, header_id, "the handler's context has the request id of the response header");
    tracker.flush().await;
    let feature = one(&sink, "user.feature_used");
    let completed = one(&sink, "api.request_completed");
    assert_eq!(feature.distinct_id, "u-9");
    assert_eq!(completed.distinct_id, feature.distinct_id);
    assert_eq!(prop(&feature, "user_id"), Some(json!("u-9")));
    assert_eq!(prop(&feature, "organization_id"), Some(json!("org-dealer-1")));
    assert_valid(&tracker, &sink);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_reused_when_uuids_generated_otherwise_and_never_overwritten() {
    let (tracker, sink, base) = standard().await;
    let client = client();
    let url = format!("{base}/projects/1");
    let reused = client
        .get(&url)
        .header("authorization", "Bearer key-1")
        .header("x-request-id", "0b8e2a4c-6f1d-4d2e-9c33-5a7e1f0b9d21")
        .send()
        .await
        .unwrap();
    assert_eq!(request_id(&reused), "0b8e2a4c-6f1d-4d2e-9c33-5a7e1f0b9d21");
    let replaced = client
        .get(&url)
        .header("authorization", "Bearer key-1")
        .header("x-request-id", HeaderValue::from_bytes(b"alice@example.com \xff").unwrap())
        .send()
        .await
        .unwrap();
    let generated = request_id(&replaced);
    assert!(generated.len() == 36 && !generated.contains('@'), "{generated}");
    let own =
        client.get(format!("{base}/own-request-id")).header("authorization", "Bearer key-1").send().await.unwrap();
    let values: Vec<_> = own.headers().get_all("x-request-id").iter().collect();
    assert_eq!(values, ["set-by-handler"], "the handler's own id is kept, not overwritten or doubled");
    tracker.flush().await;
    assert_eq!(sink.named("api.request_completed").len(), 3);
    assert!(!sink.summary().contains("alice@example.com"));
    assert_valid(&tracker, &sink);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_ip_comes_from_forwarding_headers_only_behind_trusted_proxies() {
    let (tracker, sink) = tracker(common::seed("auterity"));
    let proxies = ClientIp::socket().trust_proxies(["127.0.0.1".parse().unwrap()]);
    let router =
        app(&tracker, |layer| api_routes().layer(layer.identity(resolvers()).client_ip(proxies).received(true)));
    let trusted = format!("http://{}", serve(router).await);
    let (untrusting, untrusting_sink) = common::tracker(common::seed("auterity"));
    let router = app(&untrusting, |layer| api_routes().layer(layer.identity(resolvers()).received(true)));
    let untrusted = format!("http://{}", serve(router).await);
    for (base, _) in [(&trusted, 0), (&untrusted, 1)] {
        client()
            .get(format!("{base}/projects/1"))
            .header("authorization", "Bearer key-1")
            .header("x-forwarded-for", "6.6.6.6, 198.51.100.23")
            .send()
            .await
            .unwrap();
    }
    tracker.flush().await;
    untrusting.flush().await;
    assert_eq!(prop(&one(&sink, "api.request_received"), "ip_address"), Some(json!("198.51.100.0")));
    assert_eq!(prop(&one(&untrusting_sink, "api.request_received"), "ip_address"), Some(json!("127.0.0.0")));
    assert_valid(&tracker, &sink);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_success_identifies_the_anonymous_id_and_logout_ends_the_session() {
    let (tracker, sink, base) = standard().await;
    let client = client();
    let first = client.post(format!("{base}/login")).body("alice@example.com:correct horse").send().await.unwrap();
    assert_eq!(first.status(), 200);
    let anonymous = set_cookie(&first, "tally_anon").expect("an anonymous id cookie on the first response");
    let sid = set_cookie(&first, "sid").unwrap();
    let cookie_header = first
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("tally_anon="))
        .unwrap();
    assert!(
        cookie_header.contains("HttpOnly")
            && cookie_header.contains("SameSite=Lax")
            && cookie_header.contains("Path=/")
    );

    let cookies = format!("tally_anon={anonymous}; sid={sid}");
    let bye = client.post(format!("{base}/logout")).header("cookie", &cookies).send().await.unwrap();
    assert_eq!(bye.status(), 200);
    let renewed = set_cookie(&bye, "tally_anon").expect("a fresh anonymous id after logout");
    assert_ne!(renewed, anonymous);
    tracker.flush().await;

    let identify = one(&sink, "$identify");
    assert_eq!(identify.distinct_id, "u-alice");
    assert_eq!(prop(&identify, "$anon_distinct_id"), Some(json!(anonymous)));
    let login = one(&sink, "user.login");
    assert_eq!(login.distinct_id, "u-alice");
    assert_eq!(prop(&login, "user_id"), Some(json!("u-alice")));
    assert_eq!(prop(&login, "login_method"), Some(json!("password")));
    assert_eq!(prop(&login, "session_id"), Some(json!("s-1001")));
    assert_eq!(prop(&login, "ip_address"), Some(json!("127.0.0.0")));
    let logout = one(&sink, "user.logout");
    assert_eq!(logout.distinct_id, "u-alice");
    assert_eq!(prop(&logout, "session_id"), Some(json!("s-1001")));
    assert!(!sink.summary().contains("alice@example.com"));
    assert_valid(&tracker, &sink);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_carry_a_reason_and_no_personal_data() {
    let (tracker, sink, base) = standard().await;
    let client = client();
    let response = client
        .post(format!("{base}/login"))
        .header("cookie", "tally_anon=0192f0c1-aaaa-7bbb-8ccc-123456789abc")
        .body("alice@example.com:wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(set_cookie(&response, "tally_anon"), None, "a well-formed anonymous id is reused");
    let by_route = client.post(format!("{base}/form-login")).body("bob@example.com:nope").send().await.unwrap();
    assert_eq!(by_route.status(), 401);
    tracker.flush().await;

    let attempts = sink.named("security.login_attempt");
    assert_eq!(attempts.len(), 2, "{}", sink.summary());
    for attempt in &attempts {
        assert_eq!(prop(attempt, "failure_reason"), Some(json!("invalid_credentials")));
        assert_eq!(prop(attempt, "login_method"), Some(json!("password")));
        assert_eq!(prop(attempt, "user_id"), None);
        assert_eq!(attempt.properties["$process_person_profile"], json!(false), "personless");
    }
    assert_eq!(attempts[0].distinct_id, "0192f0c1-aaaa-7bbb-8ccc-123456789abc");
    sink.assert_not_emitted("user.login");
    sink.assert_not_emitted("$identify");
    let all =
        sink.summary() + &serde_json::to_string(&attempts.iter().map(|e| &e.properties).collect::<Vec<_>>()).unwrap();
    assert!(!all.contains("example.com"), "no attempted user name leaves the process");
    assert_valid(&tracker, &sink);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmatched_paths_report_a_constant_route_never_the_raw_path() {
    let (tracker, sink) = tracker(common::seed("auterity"));
    let router = app(&tracker, |layer| {
        api_routes().fallback(|| async { StatusCode::NOT_FOUND }).layer(layer.identity(resolvers()))
    });
    let base = format!("http://{}", serve(router).await);
    let response = client()
        .get(format!("{base}/users/alice@example.com/export?token=secret"))
        .header("authorization", "Bearer key-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    tracker.flush().await;
    // Auterity's catalog counts 4xx as failed requests (`failed_statuses = ["4xx", "5xx"]`).
    let event = one(&sink, "api.request_failed");
    sink.assert_not_emitted("api.request_completed");
    sink.assert_not_emitted("system.error_occurred");
    assert_eq!(prop(&event, "error_type"), Some(json!("not_found")));
    assert_eq!(prop(&event, "endpoint"), Some(json!("<unmatched>")));
    assert_eq!(prop(&event, "response_status"), Some(json!(404)));
    let text = serde_json::to_string(&event.properties).unwrap();
    assert!(!text.contains("alice") && !text.contains("secret"), "{text}");
    assert_valid(&tracker, &sink);
}
