//! The quickstart service: the app's own session authentication, tally's layer inside it, and
//! handlers that emit their own events into the request context the layer opened.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use tally::middleware::{
    TrackLayer,
    identity::{AnonymousCookie, FromExtension},
    login::{LoginOutcome, LogoutOutcome},
};
use tally::{Config, Identity, Tracker, tracker::Counts};

use crate::support;

/// The signed-in user, as the app's authentication puts it in the request extensions.
#[derive(Clone)]
struct User(String);

/// Session id → user id.
#[derive(Clone, Default)]
struct Sessions(Arc<Mutex<HashMap<String, String>>>);

/// The app's own authentication: the `session` cookie names a session in the store.
async fn authenticate(State(sessions): State<Sessions>, mut request: Request, next: Next) -> Response {
    let session = request
        .headers()
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|cookies| cookies.split(';').find_map(|c| c.trim().strip_prefix("session=")))
        .and_then(|id| sessions.0.lock().ok()?.get(id).cloned());
    if let Some(user) = session {
        request.extensions_mut().insert(User(user));
    }
    next.run(request).await
}

async fn login(State(sessions): State<Sessions>, body: String) -> Response {
    let Some(("ada", "correct horse")) = body.split_once(':') else {
        // The layer emits `user.login_failed` with this reason: a code, never the user name.
        return (StatusCode::UNAUTHORIZED, Extension(LoginOutcome::failure("invalid_credentials"))).into_response();
    };
    let session = uuid::Uuid::now_v7().to_string();
    if let Ok(mut store) = sessions.0.lock() {
        store.insert(session.clone(), "u-ada".into());
    }
    // The layer sends `$identify` (the visitor's anonymous id joins the user) and `user.login`.
    let outcome = LoginOutcome::success(Identity::user("u-ada"), "password");
    ([(header::SET_COOKIE, format!("session={session}; Path=/; HttpOnly; SameSite=Lax"))], Extension(outcome), "hi")
        .into_response()
}

/// `todo.created` is checked against `examples/quickstart/catalog.toml` at compile time and
/// keyed by the same user as the layer's events: the layer opened the request context.
#[tally::track_event("todo.created", title_length = title.chars().count() as i64, when = user.is_some())]
async fn create_todo(user: Option<Extension<User>>, title: String) -> StatusCode {
    if user.is_none() {
        return StatusCode::UNAUTHORIZED;
    }
    StatusCode::CREATED
}

async fn show_todo(Path(id): Path<u64>) -> Result<String, StatusCode> {
    if id == 1 { Ok("buy milk".into()) } else { Err(StatusCode::NOT_FOUND) }
}

async fn share_todo(Path(_id): Path<u64>) -> StatusCode {
    // A bug: the layer reports `api.request_failed` and `app.error`.
    StatusCode::INTERNAL_SERVER_ERROR
}

async fn logout(State(sessions): State<Sessions>, user: Option<Extension<User>>) -> Response {
    if let (Some(Extension(User(user))), Ok(mut store)) = (user, sessions.0.lock()) {
        store.retain(|_, owner| *owner != user);
    }
    (Extension(LogoutOutcome::new()), "bye").into_response()
}

/// The service, its events going to `tracker`.
pub(crate) fn app(tracker: Tracker) -> Router {
    let sessions = Sessions::default();
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/todos", post(create_todo))
        .route("/todos/{id}", get(show_todo))
        .route("/todos/{id}/share", post(share_todo))
        // tally's layer: route templates from axum, identities from the session and an
        // anonymous-id cookie, request ids, login/logout from the handlers' outcomes.
        .layer(
            TrackLayer::new_for_http()
                .tracker(tracker)
                .identity((AnonymousCookie::new(), FromExtension::<User>::new(|user| Identity::user(&user.0)))),
        )
        // The app's authentication runs first (outside), so the layer sees its `User`.
        .layer(axum::middleware::from_fn_with_state(sessions.clone(), authenticate))
        .with_state(sessions)
}

/// Runs the service and the scripted session; returns the final counters.
pub(crate) async fn run(config: Config) -> Counts {
    let catalog = support::load(&support::example_dir("quickstart").join("catalog.toml"));
    let tracker = support::tracker(Tracker::builder(catalog).with_config(config));
    support::drive(&tracker, app(tracker.clone()), session).await
}

async fn session(server: &support::Server) -> Result<(), reqwest::Error> {
    let browser = support::client();
    browser.post(server.url("/login")).body("ada:wrong").send().await?;
    browser.post(server.url("/login")).body("ada:correct horse").send().await?;
    browser.post(server.url("/todos")).body("buy milk").send().await?;
    browser.get(server.url("/todos/1")).send().await?;
    browser.post(server.url("/todos/1/share")).send().await?;
    browser.post(server.url("/logout")).send().await?;
    Ok(())
}
