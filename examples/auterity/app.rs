//! Auterity's analytics (seed 003): the base envelope on every event (`fill`s in the catalog's
//! `[common]`, `event_type` from the event's category, `organization_id` required),
//! `api.request_*` (4xx and 5xx failed, as the catalog's `failed_statuses` says) and
//! `system.error_occurred` from the middleware, workflow, AI and integration events through the
//! tracing layer, `security.login_attempt` for every login with `success`, `user.login` with the
//! device and browser from the User-Agent, `user.logout` with the session's duration and
//! `user.session_expired` when a request comes with an expired session, the organization as a
//! PostHog group, and invalid events dropped and counted.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::{Path, Request};
use axum::http::{StatusCode, header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};
use tally::middleware::{
    TrackLayer,
    identity::Resolution,
    login::{LoginOutcome, LogoutOutcome},
};
use tally::{Config, Identity, Tracker, context::InContext, routing::WithTracker, tracker::Counts};
use tracing::Instrument;

use crate::support;

/// An API client, as the app's own API-key check found it.
#[derive(Clone)]
struct ApiClient {
    key_id: String,
    user: String,
    organization: String,
}

/// The app's authentication: `Authorization: Bearer <api key>`.
async fn authenticate(mut request: Request, next: Next) -> Response {
    let key = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()?.strip_prefix("Bearer "));
    if key == Some("ak_live_7f3a") {
        let client = ApiClient { key_id: "key_7f3a".into(), user: "u-ada".into(), organization: "org-dealer-9".into() };
        request.extensions_mut().insert(client);
    }
    next.run(request).await
}

/// The web app's tenant header: which organization (dealership group) a browser works in.
const TENANT: &str = "x-auterity-org";

/// A browser session: its user, when it started and when it was last used.
#[derive(Clone)]
struct Session {
    user: String,
    started: SystemTime,
    last_activity: SystemTime,
}

/// Sessions idle longer than this have expired.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The session store, with one session left over from the morning that has since expired.
static SESSIONS: LazyLock<Mutex<HashMap<String, Session>>> = LazyLock::new(|| {
    let now = SystemTime::now();
    let stale = Session {
        user: "u-grace".into(),
        started: now - Duration::from_secs(3 * 3600),
        last_activity: now - Duration::from_secs(2 * 3600),
    };
    Mutex::new(HashMap::from([("s-stale".to_owned(), stale)]))
});

fn session_cookie(parts: &Parts) -> Option<&str> {
    let cookies = parts.headers.get(header::COOKIE)?.to_str().ok()?;
    cookies.split(';').find_map(|c| c.trim().strip_prefix("session="))
}

fn find_session(id: &str) -> Option<Session> {
    SESSIONS.lock().ok()?.get(id).cloned()
}

/// Who the API client or the browser session is, and its organization, for everything emitted
/// during the request.
fn resolve(parts: &Parts, resolution: &mut Resolution) {
    if let Some(client) = parts.extensions.get::<ApiClient>() {
        resolution.add_identity(Identity::user(&client.user));
        resolution.add_group("organization", client.organization.clone());
        resolution.set_property("api_key_id", client.key_id.clone());
        return;
    }
    if let Some(tenant) = parts.headers.get(TENANT).and_then(|v| v.to_str().ok()) {
        resolution.add_group("organization", tenant.to_owned());
    }
    if let Some(id) = session_cookie(parts)
        && let Some(session) = find_session(id)
    {
        resolution.add_identity(Identity::user(&session.user));
        resolution.set_session_id(id.to_owned());
    }
}

#[derive(serde::Deserialize)]
struct LoginForm {
    user: String,
    password: String,
}

/// The middleware emits `security.login_attempt` for both outcomes (`success` filled), and
/// `user.login` for a success.
async fn login(Json(form): Json<LoginForm>) -> Response {
    if form.password != "correct" {
        let outcome = LoginOutcome::failure("invalid_credentials").with_method("password");
        return (StatusCode::UNAUTHORIZED, Extension(outcome)).into_response();
    }
    let id = format!("s-{}", uuid::Uuid::now_v7().simple());
    let now = SystemTime::now();
    if let Ok(mut sessions) = SESSIONS.lock() {
        sessions.insert(id.clone(), Session { user: form.user.clone(), started: now, last_activity: now });
    }
    let outcome = LoginOutcome::success(Identity::user(&form.user), "password").with_session_id(id.clone());
    let cookie = format!("session={id}; HttpOnly; Path=/");
    (StatusCode::OK, [(header::SET_COOKIE, cookie)], Extension(outcome)).into_response()
}

/// `user.logout`, with how long the session lasted.
async fn logout(parts: Parts) -> Response {
    let removed = session_cookie(&parts).and_then(|id| SESSIONS.lock().ok()?.remove(id));
    let Some(session) = removed else { return StatusCode::UNAUTHORIZED.into_response() };
    let outcome = LogoutOutcome::new().with_session_started(session.started);
    (StatusCode::NO_CONTENT, [(header::SET_COOKIE, "session=; Max-Age=0; Path=/")], Extension(outcome)).into_response()
}

/// The signed-in user's profile; a session idle past the timeout has expired, which the app
/// reports (`user.session_expired`) as it answers 401.
async fn me(parts: Parts) -> Response {
    let Some(id) = session_cookie(&parts) else { return StatusCode::UNAUTHORIZED.into_response() };
    let Some(session) = find_session(id) else { return StatusCode::UNAUTHORIZED.into_response() };
    let idle = SystemTime::now().duration_since(session.last_activity).unwrap_or_default();
    if idle > IDLE_TIMEOUT {
        if let Ok(mut sessions) = SESSIONS.lock() {
            sessions.remove(id);
        }
        let outcome =
            LogoutOutcome::expired().with_session_started(session.started).with_last_activity(session.last_activity);
        return (StatusCode::UNAUTHORIZED, Extension(outcome)).into_response();
    }
    Json(json!({"user": session.user})).into_response()
}

#[derive(Debug)]
struct NodeError;

impl std::fmt::Display for NodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("node timed out")
    }
}

/// One AI node: the request and its completion, as tracing events.
fn ai_node(workflow_id: &str, execution_id: &str) {
    tracing::info!(
        tally.event = "ai.model_requested",
        request_id = "air-1",
        workflow_id,
        execution_id,
        model_provider = "anthropic",
        model_name = "claude-3",
        task_type = "analysis",
        input_tokens = 812,
        estimated_cost = 0.012,
        priority_level = "medium",
    );
    tracing::info!(
        tally.event = "ai.model_completed",
        request_id = "air-1",
        workflow_id,
        execution_id,
        model_provider = "anthropic",
        model_name = "claude-3",
        actual_cost = 0.011,
        input_tokens = 812,
        output_tokens = 240,
        processing_time = 930.0,
    );
    tracing::info!(
        tally.event = "ai.cost_incurred",
        model_provider = "anthropic",
        model_name = "claude-3",
        cost_amount = 0.011,
        tokens_used = 1_052,
        cost_per_token = 0.000_010_5,
        billing_period = "2025-11",
        workflow_category = "service",
    );
}

/// A workflow execution: `workflow.execution_completed` when its span closes, or
/// `workflow.execution_failed` when it returns an error (`#[instrument(err)]`).
#[tracing::instrument(
    skip_all,
    fields(
        tally.event = "workflow.execution_completed",
        tally.on_err = "workflow.execution_failed",
        workflow_id = %workflow_id, execution_id = %execution_id,
        actual_duration = tracing::field::Empty, nodes_executed = tracing::field::Empty,
        data_processed = 48_213, cost_incurred = 0.011, output_data_size = 2_048,
        failure_reason = tracing::field::Empty, error_message = tracing::field::Empty,
        execution_duration = tracing::field::Empty, retry_attempt = 0,
    ),
    err
)]
async fn execute(workflow_id: String, execution_id: String, fail: bool) -> Result<(), NodeError> {
    let started = Instant::now();
    tracing::info!(
        tally.event = "workflow.execution_started",
        workflow_id = %workflow_id, execution_id = %execution_id,
        triggered_by = "api", trigger_type = "api", input_data_size = 1_024,
        estimated_duration = 3.5, priority_level = "high", execution_environment = "production",
    );
    ai_node(&workflow_id, &execution_id);
    let span = tracing::Span::current();
    let seconds = started.elapsed().as_secs_f64();
    if fail {
        span.record("failure_reason", "node_error");
        span.record("error_message", "the AI node timed out");
        span.record("execution_duration", seconds);
        return Err(NodeError);
    }
    span.record("actual_duration", seconds);
    span.record("nodes_executed", 3);
    Ok(())
}

async fn run_workflow(Path(workflow): Path<String>, body: Option<Json<Value>>) -> StatusCode {
    let fail = body.is_some_and(|Json(b)| b["simulate_failure"] == json!(true));
    let execution = format!("exec-{}", uuid::Uuid::now_v7().simple());
    match execute(workflow, execution, fail).await {
        Ok(()) => StatusCode::ACCEPTED,
        Err(_) => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// An integration sync runs in the background; the request context and routing travel with it.
async fn sync_integration(Path(integration): Path<String>) -> StatusCode {
    let work = async move {
        tracing::info!(
            tally.event = "integration.sync_started",
            integration_id = %integration, integration_type = "crm", provider = "salesforce",
            sync_type = "incremental", estimated_records = 120, trigger_type = "manual",
        );
        tracing::info!(
            tally.event = "integration.sync_completed",
            integration_id = %integration, integration_type = "crm", provider = "salesforce",
            records_processed = 118, records_created = 4, records_updated = 110, records_failed = 4,
            sync_duration = 2.4, data_volume = 96_000,
        );
        // A bug: `cron` is not one of the catalog's trigger types. Dropped and counted.
        tracing::info!(
            tally.event = "integration.sync_started",
            integration_id = %integration, integration_type = "crm", provider = "salesforce",
            sync_type = "incremental", estimated_records = 0, trigger_type = "cron",
        );
    };
    // The request's context, its span and the tracker it routes to (the layer's).
    let _ = tokio::spawn(work.in_current_context().in_current_span().with_current_tracker()).await;
    StatusCode::ACCEPTED
}

async fn broken() -> StatusCode {
    tracing::info!(
        tally.event = "system.performance_metric",
        metric_name = "response_time",
        metric_value = 5_012.0,
        metric_unit = "milliseconds",
        service_name = "api",
        threshold_breached = true,
        severity_level = "high",
    );
    StatusCode::INTERNAL_SERVER_ERROR
}

/// The service, its events going to `tracker`.
pub(crate) fn app(tracker: Tracker) -> Router {
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/api/me", get(me))
        .route("/api/workflows/{id}/executions", post(run_workflow))
        .route("/api/integrations/{id}/sync", post(sync_integration))
        .route("/api/reports/broken", get(broken))
        .layer(TrackLayer::new_for_http().tracker(tracker).identity(resolve).received(true))
        .layer(axum::middleware::from_fn(authenticate))
}

/// The tracing subscriber: logs on stderr, and the tally layer.
pub(crate) fn init_tracing() {
    use tracing_subscriber::prelude::*;
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(tracing_subscriber::filter::LevelFilter::WARN),
        )
        .with(tally::tracing_layer())
        .try_init();
}

/// Runs the service and the scripted session; returns the final counters.
pub(crate) async fn run(config: Config) -> Counts {
    init_tracing();
    // The service's own defaults, where the environment named none.
    let mut config = config;
    if config.service_name().is_none() {
        config = config.service("auterity-api");
    }
    if config.environment_name().is_none() {
        config = config.environment("development");
    }
    let tracker = support::tracker(Tracker::builder(support::catalog("auterity")).with_config(config));
    support::drive(&tracker, app(tracker.clone()), session).await
}

/// The browser of the scripted session.
pub(crate) const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

async fn session(server: &support::Server) -> Result<(), reqwest::Error> {
    let browser = support::client();
    let web = |method: reqwest::Method, path: &str| {
        browser.request(method, server.url(path)).header(header::USER_AGENT, FIREFOX).header(TENANT, "org-dealer-9")
    };
    let form = |password: &str| json!({"user": "u-ada", "password": password});
    web(reqwest::Method::POST, "/login").json(&form("wrong")).send().await?;
    let signed_in = web(reqwest::Method::POST, "/login").json(&form("correct")).send().await?;
    let cookie = signed_in.headers().get(header::SET_COOKIE).and_then(|c| c.to_str().ok()?.split(';').next());
    let cookie = cookie.unwrap_or_default().to_owned();
    web(reqwest::Method::GET, "/api/me").header(header::COOKIE, &cookie).send().await?;
    web(reqwest::Method::POST, "/logout").header(header::COOKIE, &cookie).send().await?;
    // Grace's tab from this morning: her session expired while she was away.
    web(reqwest::Method::GET, "/api/me").header(header::COOKIE, "session=s-stale").send().await?;
    let api = support::client();
    let key = "ak_live_7f3a";
    api.post(server.url("/api/workflows/wf-service-1/executions")).bearer_auth(key).send().await?;
    api.post(server.url("/api/workflows/wf-service-2/executions"))
        .bearer_auth(key)
        .json(&json!({"simulate_failure": true}))
        .send()
        .await?;
    api.post(server.url("/api/integrations/int-sf/sync")).bearer_auth(key).send().await?;
    api.get(server.url("/api/reports/broken")).bearer_auth(key).send().await?;
    Ok(())
}
