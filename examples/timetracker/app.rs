//! TimeTracker (seed 001) with annotated handlers: `resource.action` events checked against
//! the catalog at compile time (the crate's `[package.metadata.tally] catalog` is
//! `examples/catalogs/timetracker.toml`), `request_id` and `timestamp` on every event, logins
//! and errors from the middleware, and the privacy rules enforced: a timer's description and
//! an email never leave.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};
use tally::middleware::{
    TrackLayer,
    identity::FromExtension,
    login::{LoginOutcome, LogoutOutcome},
};
use tally::{Config, Identity, Tracker, tracker::Counts};

use crate::support;

#[derive(Clone)]
struct User(String);

#[derive(Clone, Default)]
struct Store {
    sessions: Arc<Mutex<HashMap<String, String>>>,
}

async fn authenticate(State(store): State<Store>, mut request: Request, next: Next) -> Response {
    let session = request
        .headers()
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|cookies| cookies.split(';').find_map(|c| c.trim().strip_prefix("session=")))
        .and_then(|id| store.sessions.lock().ok()?.get(id).cloned());
    if let Some(user) = session {
        request.extensions_mut().insert(User(user));
    }
    next.run(request).await
}

#[derive(serde::Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

/// Logins are the middleware's: it emits `auth.login` (after `$identify`) or
/// `auth.login_failed` from this outcome.
async fn login(State(store): State<Store>, Json(form): Json<LoginForm>) -> Response {
    if form.password != "s3cret" {
        // The attempted name goes to `fill = "username"`, which the catalog pseudonymizes.
        let outcome = LoginOutcome::failure("invalid_password").with_method("local").with_username(form.username);
        return (StatusCode::UNAUTHORIZED, Extension(outcome)).into_response();
    }
    let session = uuid::Uuid::now_v7().simple().to_string();
    let user = format!("u-{}", form.username.len()); // the internal id, never the username
    if let Ok(mut sessions) = store.sessions.lock() {
        sessions.insert(session.clone(), user.clone());
    }
    let cookie = format!("session={session}; HttpOnly; Path=/");
    ([(header::SET_COOKIE, cookie)], Extension(LoginOutcome::success(Identity::user(user), "local"))).into_response()
}

async fn logout(user: Option<Extension<User>>) -> Response {
    let outcome = LogoutOutcome::new().with_identity(Identity::user(user.map(|u| u.0.0.clone()).unwrap_or_default()));
    ([(header::SET_COOKIE, "session=; Max-Age=0; Path=/")], Extension(outcome)).into_response()
}

#[derive(serde::Deserialize)]
struct NewProject {
    name: String,
    client_id: Option<String>,
}

#[derive(serde::Serialize)]
struct Project {
    id: String,
    name: String,
}

#[tally::track_event("project.created", project_id = ret.0.id, project_name = ret.0.name, has_client = req.client_id.is_some())]
async fn create_project(Json(req): Json<NewProject>) -> Result<Json<Project>, StatusCode> {
    if req.name.trim().is_empty() {
        return Err(StatusCode::UNPROCESSABLE_ENTITY); // an `Err` without `on_err` emits nothing
    }
    Ok(Json(Project { id: format!("p-{}", req.name.len()), name: req.name }))
}

#[derive(serde::Deserialize)]
struct ProjectUpdate {
    fields: Vec<String>,
}

#[tally::track_event("project.updated", project_id = id, fields_changed = update.fields.clone())]
async fn update_project(Path(id): Path<String>, Json(update): Json<ProjectUpdate>) -> StatusCode {
    let _ = (id, update);
    StatusCode::NO_CONTENT
}

#[tally::track_event("project.archived", project_id = id)]
async fn archive_project(Path(id): Path<String>) -> StatusCode {
    let _ = id;
    StatusCode::NO_CONTENT
}

#[derive(serde::Deserialize)]
struct NewTimer {
    project_id: String,
    task_id: Option<String>,
    description: String,
}

/// The description is declared `privacy = "drop"`: given, validated, never sent.
#[tally::track_event("timer.started", project_id = timer.project_id, task_id = timer.task_id, description = timer.description)]
async fn start_timer(Json(timer): Json<NewTimer>) -> StatusCode {
    let _ = timer;
    StatusCode::CREATED
}

#[tally::track_event(
    "timer.stopped",
    time_entry_id = ret.0["time_entry_id"].as_str().unwrap_or_default(),
    project_id = project,
    task_id = None::<String>,
    duration_seconds = 5_400,
)]
async fn stop_timer(Path(project): Path<String>) -> Json<Value> {
    Json(json!({"time_entry_id": format!("te-{project}")}))
}

#[derive(serde::Deserialize)]
struct NewTask {
    project_id: String,
    priority: String,
    due: Option<String>,
}

#[tally::track_event("task.created", task_id = ret.0, project_id = task.project_id, priority = task.priority, has_due_date = task.due.is_some())]
async fn create_task(Json(task): Json<NewTask>) -> Json<String> {
    Json(format!("t-{}", task.priority.len()))
}

#[tally::track_event("task.status_changed", task_id = id, old_status = "todo", new_status = "in_progress")]
async fn start_task(Path(id): Path<String>) -> StatusCode {
    let _ = id;
    StatusCode::NO_CONTENT
}

#[tally::track_event("report.generated", report_type = "summary", date_range_days = 30, format = "pdf", num_entries = ret.0)]
async fn generate_report() -> Json<i64> {
    Json(42)
}

#[tally::track_event("export.csv", export_type = "time_entries", num_rows = ret.len() as i64)]
async fn export_csv() -> String {
    "date,project,hours\n2025-10-20,p-1,1.5\n".to_owned()
}

#[tally::track_event("client.created", client_id = ret.0, has_billing_info = true)]
async fn create_client() -> Json<String> {
    Json("c-7".to_owned())
}

#[tally::track_event("invoice.created", invoice_id = ret.0, client_id = "c-7", total_amount = 1_250.0, num_line_items = 3)]
async fn create_invoice() -> Json<String> {
    Json("inv-1".to_owned())
}

#[tally::track_event("invoice.sent", invoice_id = id)]
async fn send_invoice(Path(id): Path<String>) -> StatusCode {
    let _ = id;
    StatusCode::NO_CONTENT
}

#[tally::track_event("invoice.paid", invoice_id = id, amount = 1_250.0)]
async fn pay_invoice(Path(id): Path<String>) -> StatusCode {
    let _ = id;
    StatusCode::NO_CONTENT
}

#[tally::track_event("client.updated", client_id = id)]
async fn update_client(Path(id): Path<String>) -> StatusCode {
    let _ = id;
    StatusCode::NO_CONTENT
}

#[tally::track_event("admin.user_role_changed", user_id = user, old_role = "member", new_role = "admin")]
async fn change_role(Path(user): Path<String>) -> StatusCode {
    let _ = user;
    StatusCode::NO_CONTENT
}

/// A bug: the middleware answers nothing special, but the 500 becomes `system.error`.
async fn crash() -> StatusCode {
    StatusCode::INTERNAL_SERVER_ERROR
}

/// A scheduled backup: no request, no user, so the event is personless.
#[tally::track_event("system.backup_created", backup_type = "scheduled", size_bytes = ret)]
fn run_backup() -> i64 {
    1_048_576
}

/// The service, its events going to `tracker`.
pub(crate) fn app(tracker: Tracker) -> Router {
    let store = Store::default();
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/projects", post(create_project))
        .route("/projects/{id}", post(update_project))
        .route("/projects/{id}/archive", post(archive_project))
        .route("/timers", post(start_timer))
        .route("/timers/{project}/stop", post(stop_timer))
        .route("/tasks", post(create_task))
        .route("/tasks/{id}/start", post(start_task))
        .route("/reports", post(generate_report))
        .route("/exports/csv", get(export_csv))
        .route("/clients", post(create_client))
        .route("/clients/{id}", post(update_client))
        .route("/invoices", post(create_invoice))
        .route("/invoices/{id}/sent", post(send_invoice))
        .route("/invoices/{id}/paid", post(pay_invoice))
        .route("/admin/users/{user}/role", post(change_role))
        .route("/debug/crash", get(crash))
        .layer(
            TrackLayer::new_for_http().tracker(tracker).identity(FromExtension::<User>::new(|u| Identity::user(&u.0))),
        )
        .layer(axum::middleware::from_fn_with_state(store.clone(), authenticate))
        .with_state(store)
}

/// Runs the service and the scripted session; returns the final counters.
pub(crate) async fn run(config: Config) -> Counts {
    let tracker = support::tracker(Tracker::builder(support::catalog("timetracker")).with_config(config));
    let server = support::serve(app(tracker.clone())).await;
    if let Err(error) = session(&server).await {
        eprintln!("the scripted session failed: {error}");
    }
    // The nightly backup job, outside any request.
    tracker.sync_scope(run_backup);
    server.finish().await;
    support::finish(&tracker).await
}

async fn session(server: &support::Server) -> Result<(), reqwest::Error> {
    let browser = support::client();
    let post = |path: &str, body: Value| browser.post(server.url(path)).json(&body).send();
    post("/login", json!({"username": "ada", "password": "guess"})).await?;
    post("/login", json!({"username": "ada", "password": "s3cret"})).await?;
    post("/projects", json!({"name": "Apollo (ask ada@example.com)", "client_id": "c-7"})).await?;
    post("/projects", json!({"name": "  "})).await?; // invalid: no event
    post("/projects/p-28", json!({"fields": ["name", "budget"]})).await?;
    post("/timers", json!({"project_id": "p-28", "description": "call ada@example.com about the invoice"})).await?;
    post("/timers/p-28/stop", json!({})).await?;
    post("/tasks", json!({"project_id": "p-28", "priority": "high", "due": "2025-11-01"})).await?;
    post("/tasks/t-4/start", json!({})).await?;
    post("/reports", json!({})).await?;
    browser.get(server.url("/exports/csv")).send().await?;
    post("/clients", json!({})).await?;
    post("/clients/c-7", json!({})).await?;
    post("/invoices", json!({})).await?;
    post("/invoices/inv-1/sent", json!({})).await?;
    post("/invoices/inv-1/paid", json!({})).await?;
    post("/admin/users/u-9/role", json!({})).await?;
    post("/projects/p-28/archive", json!({})).await?;
    browser.get(server.url("/debug/crash")).send().await?;
    post("/logout", json!({})).await?;
    Ok(())
}
