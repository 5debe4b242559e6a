//! `#[tally::track_event]` on axum handlers, served on loopback and called over HTTP: each
//! request emits exactly the catalog events it should, keyed by the identity of the request
//! context. The catalog is TimeTracker's (`[package.metadata.tally]` in Cargo.toml).
//!
//! The request context comes from a small `from_fn` middleware written here (an `x-user-id`
//! header becomes the user identity, `x-request-id` the request id), so that these tests
//! depend on nothing but the macro and the runtime.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Json, Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tally::{Context, Identity, Tracker, sink::MemorySink};

// --- the application --------------------------------------------------------------------------

#[derive(Clone, Default)]
struct Projects {
    by_id: Arc<Mutex<BTreeMap<String, Project>>>,
}

#[derive(Clone, Serialize, Deserialize)]
struct Project {
    id: String,
    name: String,
}

#[derive(Deserialize)]
struct NewProject {
    name: String,
    client_id: Option<String>,
}

#[derive(Debug)]
enum ApiError {
    Invalid(&'static str),
    NotFound,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Invalid(why) => (StatusCode::UNPROCESSABLE_ENTITY, why).into_response(),
            ApiError::NotFound => StatusCode::NOT_FOUND.into_response(),
        }
    }
}

#[tally::track_event(
    "project.created",
    project_id = ret.0.id,
    project_name = body.name,
    has_client = body.client_id.is_some(),
)]
async fn create_project(
    State(projects): State<Projects>,
    Json(body): Json<NewProject>,
) -> Result<Json<Project>, ApiError> {
    if body.name.trim().is_empty() {
        return Err(ApiError::Invalid("a project needs a name"));
    }
    let project = projects.insert(&body.name);
    Ok(Json(project))
}

#[tally::track_event("project.deleted", project_id = id, had_time_entries = false)]
async fn delete_project(State(projects): State<Projects>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    projects.remove(&id)?;
    Ok(StatusCode::NO_CONTENT)
}

impl Projects {
    fn insert(&self, name: &str) -> Project {
        let mut by_id = self.by_id.lock().unwrap();
        let project = Project { id: format!("p-{}", by_id.len() + 1), name: name.to_owned() };
        by_id.insert(project.id.clone(), project.clone());
        project
    }

    /// A sync method, annotated too: it runs inside the handler's request context.
    #[tally::track_event("project.archived", project_id = id)]
    fn remove(&self, id: &str) -> Result<Project, ApiError> {
        self.by_id.lock().unwrap().remove(id).ok_or(ApiError::NotFound)
    }
}

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

#[derive(Serialize)]
struct Session {
    user_id: String,
}

#[derive(Debug)]
enum AuthError {
    UnknownUser,
    BadPassword,
}

impl AuthError {
    fn kind(&self) -> &'static str {
        match self {
            AuthError::UnknownUser => "unknown_user",
            AuthError::BadPassword => "bad_password",
        }
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        (StatusCode::UNAUTHORIZED, self.kind()).into_response()
    }
}

/// Nobody is signed in yet: the successful login is keyed by the user it signs in, and the
/// failure carries the attempted user name (pseudonymized by the catalog's privacy class).
#[tally::track_event(
    "auth.login",
    user_id = ret.0.user_id,
    auth_method = "local",
    distinct_id = ret.0.user_id,
    on_err("auth.login_failed", username = form.username, auth_method = "local", reason = err.kind()),
)]
async fn login(Form(form): Form<Login>) -> Result<Json<Session>, AuthError> {
    match (form.username.as_str(), form.password.as_str()) {
        ("ada", "correct horse") => Ok(Json(Session { user_id: "u-ada".to_owned() })),
        ("ada", _) => Err(AuthError::BadPassword),
        _ => Err(AuthError::UnknownUser),
    }
}

/// `track!` from inside a body, only when there is something to export.
async fn export(State(projects): State<Projects>) -> Json<Vec<Project>> {
    let rows: Vec<Project> = projects.by_id.lock().unwrap().values().cloned().collect();
    tally::track!("export.csv", export_type = "projects", num_rows = rows.len(), when = !rows.is_empty());
    Json(rows)
}

/// The request context, as the real middleware would set it: identity and request id from
/// headers, and the tracker under test.
async fn context(State(tracker): State<Tracker>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_owned);
    let mut context = Context::new();
    if let Some(user) = header("x-user-id") {
        context = context.with_identity(Identity::user(user));
    }
    if let Some(request_id) = header("x-request-id") {
        context = context.with_request_id(request_id);
    }
    tracker.scope(context.scope(next.run(request))).await
}

fn app(tracker: Tracker) -> Router {
    Router::new()
        .route("/projects", post(create_project))
        .route("/projects/{id}", delete(delete_project))
        .route("/login", post(login))
        .route("/export", get(export))
        .with_state(Projects::default())
        .layer(middleware::from_fn_with_state(tracker, context))
}

// --- the harness ------------------------------------------------------------------------------

struct Server {
    base: String,
    client: reqwest::Client,
    tracker: Tracker,
    sink: MemorySink,
}

impl Server {
    async fn start() -> Server {
        let catalog = tally::catalog::Catalog::from_path(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/catalogs/timetracker.toml"
        ))
        .unwrap();
        let sink = MemorySink::new();
        let tracker = Tracker::for_tests(catalog, sink.clone()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = app(tracker.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Server { base, client: reqwest::Client::new(), tracker, sink }
    }

    fn request(&self, method: reqwest::Method, path: &str, user: Option<&str>) -> reqwest::RequestBuilder {
        let request = self.client.request(method, format!("{}{path}", self.base)).header("x-request-id", "req-1");
        match user {
            Some(user) => request.header("x-user-id", user),
            None => request,
        }
    }

    /// Every event delivered so far, once the tracker has processed everything emitted.
    async fn events(&self) -> Vec<tally::sink::WireEvent> {
        self.tracker.flush().await;
        assert_eq!(self.tracker.counts().dropped(), 0, "{:?}\n{}", self.tracker.counts(), self.sink.summary());
        self.sink.events()
    }
}

fn names(events: &[tally::sink::WireEvent]) -> Vec<&str> {
    events.iter().map(|event| event.event.as_str()).collect()
}

// --- the tests --------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_a_project_emits_project_created_for_the_signed_in_user() {
    let server = Server::start().await;
    let response = server
        .request(reqwest::Method::POST, "/projects", Some("u-7"))
        .json(&json!({ "name": "Apollo", "client_id": "c-1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let project: Project = response.json().await.unwrap();

    let events = server.events().await;
    assert_eq!(names(&events), ["project.created"]);
    server
        .sink
        .assert_emitted("project.created")
        .for_distinct_id("u-7")
        .with_property("project_id", project.id.as_str())
        .with_property("project_name", "Apollo")
        .with_property("has_client", true)
        .with_property("user_id", "u-7")
        .with_property("request_id", "req-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_fails_without_on_err_emits_nothing() {
    let server = Server::start().await;
    let response = server
        .request(reqwest::Method::POST, "/projects", Some("u-7"))
        .json(&json!({ "name": " " }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let missing = server.request(reqwest::Method::DELETE, "/projects/p-404", Some("u-7")).send().await.unwrap();
    assert_eq!(missing.status(), 404);

    assert_eq!(names(&server.events().await), Vec::<&str>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_annotated_calls_each_emit_in_the_same_request_context() {
    let server = Server::start().await;
    let created = server
        .request(reqwest::Method::POST, "/projects", Some("u-7"))
        .json(&json!({ "name": "Apollo" }))
        .send()
        .await
        .unwrap();
    let project: Project = created.json().await.unwrap();
    let deleted = server
        .request(reqwest::Method::DELETE, &format!("/projects/{}", project.id), Some("u-8"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);

    let events = server.events().await;
    // `remove` returns inside `delete_project`, so its event comes first.
    assert_eq!(names(&events), ["project.created", "project.archived", "project.deleted"]);
    for name in ["project.archived", "project.deleted"] {
        server.sink.assert_emitted(name).for_distinct_id("u-8").with_property("project_id", project.id.as_str());
    }
    server.sink.assert_emitted("project.created").with_property("has_client", false).for_distinct_id("u-7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_emits_the_success_or_the_on_err_event() {
    let server = Server::start().await;
    let form = |username: &str, password: &str| [("username", username.to_owned()), ("password", password.to_owned())];
    let ok = server.request(reqwest::Method::POST, "/login", None).form(&form("ada", "correct horse")).send().await;
    assert_eq!(ok.unwrap().status(), 200);
    let bad = server.request(reqwest::Method::POST, "/login", None).form(&form("ada", "guess")).send().await;
    assert_eq!(bad.unwrap().status(), 401);
    let unknown = server.request(reqwest::Method::POST, "/login", None).form(&form("bob", "x")).send().await;
    assert_eq!(unknown.unwrap().status(), 401);

    let events = server.events().await;
    assert_eq!(names(&events), ["auth.login", "auth.login_failed", "auth.login_failed"]);
    server
        .sink
        .assert_emitted("auth.login")
        .for_distinct_id("u-ada")
        .with_property("user_id", "u-ada")
        .with_property("auth_method", "local");
    let failed = server.sink.assert_emitted("auth.login_failed").with_property("reason", "bad_password");
    let username = failed.event().property("username").and_then(|value| value.as_str()).unwrap();
    assert_ne!(username, "ada", "the attempted user name is pseudonymized");
    // Nobody is signed in and the catalog sends such events personless.
    assert_eq!(failed.event().properties["$process_person_profile"], json!(false));
    server.sink.assert_emitted("auth.login_failed").with_property("reason", "unknown_user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn track_in_a_body_emits_only_when_its_condition_holds() {
    let server = Server::start().await;
    let empty = server.request(reqwest::Method::GET, "/export", Some("u-7")).send().await.unwrap();
    assert_eq!(empty.status(), 200);
    assert_eq!(names(&server.events().await), Vec::<&str>::new());

    let created = server
        .request(reqwest::Method::POST, "/projects", Some("u-7"))
        .json(&json!({ "name": "Apollo" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    server.request(reqwest::Method::GET, "/export", Some("u-9")).send().await.unwrap();

    let events = server.events().await;
    assert_eq!(names(&events), ["project.created", "export.csv"]);
    server
        .sink
        .assert_emitted("export.csv")
        .for_distinct_id("u-9")
        .with_property("export_type", "projects")
        .with_property("num_rows", 1);
}
