//! Teleport's cluster, as far as its analytics go (seed 000): logins with and without SSO
//! connectors, SSO connector and resource creation, sessions of each type, and `tp.ui.*`
//! events posted by the web UI through tally's client-events endpoint (`ClientEvents`), as a
//! plain `fetch` or as posthog-js pointed at the cluster. The PostHog person is the account
//! from the license; without a valid license no event is generated at all.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde_json::{Value, json};
use tally::middleware::{TrackLayer, client_events::ClientEvents, identity::FromExtension, login::LoginOutcome};
use tally::{
    Context, Event, Identity, Tracker,
    tracker::{Counts, EmitError},
};

use crate::support;

/// The license's account: `account_id`, else the license name.
#[derive(Debug, serde::Deserialize)]
struct License {
    name: Option<String>,
    account_id: Option<String>,
}

/// Reads the account id from a license file; `None` when there is no valid license.
pub(crate) fn account_from_license(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let license: License = toml::from_str(&text).ok()?;
    license.account_id.or(license.name).filter(|id| !id.trim().is_empty())
}

/// The signed-in Teleport user, put in the request by the app's own authentication.
#[derive(Clone)]
struct User(String);

#[derive(Clone, Default)]
struct AppState {
    sessions: Arc<Mutex<HashMap<String, String>>>,
}

/// The app's authentication: a `session` cookie issued by `/login`.
async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .find_map(|cookie| cookie.trim().strip_prefix("session=").map(str::to_owned));
    let user = token.and_then(|token| state.sessions.lock().ok()?.get(&token).cloned());
    if let Some(user) = user {
        request.extensions_mut().insert(User(user));
    }
    next.run(request).await
}

#[derive(serde::Deserialize)]
struct LoginForm {
    user: String,
    password: String,
    connector: Option<String>,
}

async fn login(State(state): State<AppState>, Json(form): Json<LoginForm>) -> Response {
    if form.password != "correct horse" {
        // The middleware emits `tp.user.login_failed` with this reason; no user name is sent raw.
        return (StatusCode::UNAUTHORIZED, Extension(LoginOutcome::failure("invalid_credentials"))).into_response();
    }
    let mut login = Event::new("user.login");
    if let Some(connector) = &form.connector {
        login.insert("connector_type", connector);
    }
    // The user is not in the request context yet: this login is what identifies them.
    Context::new()
        .with_identity(Identity::new().with("user", &form.user))
        .sync_scope(|| tally::routing::emit(login).ok());
    let token = uuid::Uuid::now_v7().to_string();
    if let Ok(mut sessions) = state.sessions.lock() {
        sessions.insert(token.clone(), form.user);
    }
    ([(axum::http::header::SET_COOKIE, format!("session={token}; HttpOnly; Path=/"))], StatusCode::OK).into_response()
}

#[derive(serde::Deserialize)]
struct Kind {
    r#type: String,
}

/// Emits a server event with one property; answers 401 without a session.
fn emit_for(user: Option<Extension<User>>, event: Event) -> StatusCode {
    if user.is_none() {
        return StatusCode::UNAUTHORIZED;
    }
    match tally::routing::emit(event) {
        Ok(()) => StatusCode::CREATED,
        Err(EmitError::Invalid(violations)) => {
            eprintln!("{violations}");
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(_) => StatusCode::CREATED, // counted by the tracker; the request itself succeeded
    }
}

async fn create_connector(user: Option<Extension<User>>, Json(kind): Json<Kind>) -> StatusCode {
    emit_for(user, Event::new("sso.create").with("connector_type", kind.r#type))
}

async fn create_resource(user: Option<Extension<User>>, Json(kind): Json<Kind>) -> StatusCode {
    emit_for(user, Event::new("resource.create").with("resource_type", kind.r#type))
}

async fn start_session(user: Option<Extension<User>>, Json(kind): Json<Kind>) -> StatusCode {
    emit_for(user, Event::new("session.start").with("session_type", kind.r#type))
}

/// The service, its events going to `tracker`.
pub(crate) fn app(tracker: Tracker) -> Router {
    let state = AppState::default();
    Router::new()
        .route("/login", post(login))
        .route("/connectors", post(create_connector))
        .route("/resources", post(create_resource))
        .route("/sessions", post(start_session))
        // The web UI's `tp.ui.*` events: only the catalog's client events get through, keyed by
        // the request's context (the account), never by what the browser sends.
        .route_service("/ui-events", ClientEvents::new())
        .route_service("/e/", ClientEvents::new())
        .layer(
            TrackLayer::new_for_http()
                .tracker(tracker)
                .identity(FromExtension::<User>::new(|user| Identity::new().with("user", &user.0))),
        )
        .layer(axum::middleware::from_fn_with_state(state.clone(), authenticate))
        .with_state(state)
}

/// Runs the service, drives the scripted session over HTTP, and returns the final counters.
pub(crate) async fn run(config: tally::Config, license: &Path) -> Counts {
    let mut builder = Tracker::builder(support::catalog("teleport")).with_config(config);
    match account_from_license(license) {
        Some(account) => {
            eprintln!("license: account `{account}` (distinct_id tp.{account})");
            builder = builder.with_process_identity("account", account);
        }
        None => eprintln!("no valid license at {}: no event will be generated", license.display()),
    }
    let tracker = support::tracker(builder);
    support::drive(&tracker, app(tracker.clone()), session).await
}

/// What a few users do in a day.
async fn session(server: &support::Server) -> Result<(), reqwest::Error> {
    let browser = support::client();
    let post = |path: &str, body: Value| browser.post(server.url(path)).json(&body).send();
    post("/ui-events", json!({"event": "tp.ui.onboard.getStarted.click"})).await?;
    post("/login", json!({"user": "alice", "password": "guess"})).await?;
    post("/login", json!({"user": "alice", "password": "correct horse"})).await?;
    post("/connectors", json!({"type": "saml"})).await?;
    post("/resources", json!({"type": "kube"})).await?;
    post("/resources", json!({"type": "db"})).await?;
    for kind in ["ssh", "kube", "db"] {
        post("/sessions", json!({"type": kind})).await?;
    }
    post("/ui-events", json!({"event": "tp.ui.banner.click", "properties": {"tp.alert": "upgrade-to-paid-plan"}}))
        .await?;
    post("/ui-events", json!({"event": "tp.user.login"})).await?; // refused: not a client event
    post("/ui-events", json!({"event": "tp.ui.onboard.addFirstResource.click"})).await?;
    // The web UI's posthog-js (`api_host` = the cluster, `disable_compression: true`) batches its
    // events to `/e/`, with its own anonymous distinct_id and automatic `$` properties.
    let posthog_js = |event: &str| {
        json!({
            "uuid": uuid::Uuid::now_v7().to_string(),
            "event": event,
            "properties": {"distinct_id": "0193a1b2-anonymous", "$current_url": "https://teleport.example/web/discover",
                           "$browser": "Firefox", "$lib": "web", "token": "phc_teleport_web"},
            "timestamp": "2026-12-07T15:00:00.000Z",
        })
    };
    post(
        "/e/?ip=0&ver=1.200.0",
        json!([posthog_js("tp.ui.onboard.domainNameTC.submit"), posthog_js("tp.ui.onboard.goToDashboard.click")]),
    )
    .await?;

    let bob = support::client();
    bob.post(server.url("/login"))
        .json(&json!({"user": "bob", "password": "correct horse", "connector": "github"}))
        .send()
        .await?;
    bob.post(server.url("/sessions")).json(&json!({"type": "app"})).send().await?;
    Ok(())
}
