//! Authsome after its telemetry audit (seed 002, issue #428): one naming convention, the
//! principal id keys account events and the identity handle keys agent events (cross-linked
//! to the principal), `$identify` merges the pre-login visitor into the principal, the email
//! never leaves, and telemetry is on only with `AUTHSOME_ENV=prod`, `AUTHSOME_POSTHOG_API_KEY`
//! and `AUTHSOME_DO_NOT_TRACK` off.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};
use tally::middleware::{
    TrackLayer,
    identity::{AnonymousCookie, FromExtension},
    login::{LoginOutcome, LogoutOutcome},
};
use tally::{Config, Context, Event, Identity, Tracker, tracker::Counts};

use crate::support;

/// What Authsome's settings decide (`settings.analytics_enabled`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Telemetry {
    /// prod + key + not opted out: deliver to PostHog.
    Enabled,
    /// `AUTHSOME_DO_NOT_TRACK` set: nothing at all.
    OptedOut,
    /// Not prod, or no key: a local dry run that prints what would be sent.
    DryRun,
}

/// The decision from `AUTHSOME_*` variables.
pub(crate) fn telemetry(config: &Config) -> Telemetry {
    if config.is_opted_out() {
        Telemetry::OptedOut
    } else if config.environment_name() == Some("prod") && config.has_api_key() {
        Telemetry::Enabled
    } else {
        Telemetry::DryRun
    }
}

/// The tracker configuration for that decision.
pub(crate) fn config_for(config: Config) -> Config {
    // Every event of this process says it came from the server (`fill = "surface"`).
    let config = config.surface("server");
    match telemetry(&config) {
        Telemetry::Enabled | Telemetry::OptedOut => config.require_environment("prod"),
        Telemetry::DryRun => config.without_api_key(),
    }
}

#[derive(Clone)]
struct Principal(String);

#[derive(Clone)]
struct Agent {
    handle: String,
    principal: String,
}

#[derive(Clone, Default)]
struct Registry {
    /// email → principal id; the email stays here.
    principals: Arc<Mutex<HashMap<String, String>>>,
    /// session cookie → principal id.
    sessions: Arc<Mutex<HashMap<String, String>>>,
    /// agent token → agent.
    tokens: Arc<Mutex<HashMap<String, Agent>>>,
}

fn cookie(request: &Request, name: &str) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .find_map(|c| c.trim().strip_prefix(name).and_then(|rest| rest.strip_prefix('=')).map(str::to_owned))
}

/// The app's own authentication: a session cookie for people, a bearer token for agents.
async fn authenticate(State(registry): State<Registry>, mut request: Request, next: Next) -> Response {
    if let Some(principal) = cookie(&request, "session").and_then(|s| registry.sessions.lock().ok()?.get(&s).cloned()) {
        request.extensions_mut().insert(Principal(principal));
    }
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok()?.strip_prefix("Bearer ").map(str::to_owned));
    if let Some(agent) = bearer.and_then(|token| registry.tokens.lock().ok()?.get(&token).cloned()) {
        request.extensions_mut().insert(agent);
    }
    next.run(request).await
}

fn session_cookie(registry: &Registry, principal: &str) -> String {
    let token = uuid::Uuid::now_v7().simple().to_string();
    if let Ok(mut sessions) = registry.sessions.lock() {
        sessions.insert(token.clone(), principal.to_owned());
    }
    format!("session={token}; HttpOnly; Path=/; SameSite=Lax")
}

#[derive(serde::Deserialize)]
struct Credentials {
    email: String,
    password: String,
}

async fn register(State(registry): State<Registry>, Json(form): Json<Credentials>) -> Response {
    let principal = format!("pr_{}", uuid::Uuid::now_v7().simple());
    if let Ok(mut principals) = registry.principals.lock() {
        principals.insert(form.email, principal.clone());
    }
    // The new principal identifies this request from here on; the email does not leave.
    Context::new().with_identity(Identity::principal(&principal)).sync_scope(|| {
        let _ = tally::routing::emit(Event::new("account_registered"));
        let _ = tally::routing::emit(
            Event::new("principal_registered").with("did", format!("did:web:authsome.dev:{principal}")),
        );
    });
    let cookie = session_cookie(&registry, &principal);
    // Registration also logs in: the middleware merges the visitor into the principal.
    let outcome = LoginOutcome::success(Identity::principal(&principal), "password");
    ([(header::SET_COOKIE, cookie)], Extension(outcome), StatusCode::CREATED).into_response()
}

async fn login(State(registry): State<Registry>, Json(form): Json<Credentials>) -> Response {
    let principal = registry.principals.lock().ok().and_then(|p| p.get(&form.email).cloned());
    match principal {
        Some(principal) if form.password == "hunter2" => {
            let cookie = session_cookie(&registry, &principal);
            let outcome = LoginOutcome::success(Identity::principal(&principal), "password");
            ([(header::SET_COOKIE, cookie)], Extension(outcome), StatusCode::OK).into_response()
        }
        _ => (StatusCode::UNAUTHORIZED, Extension(LoginOutcome::failure("invalid_credentials"))).into_response(),
    }
}

async fn logout(principal: Option<Extension<Principal>>) -> Response {
    let outcome =
        LogoutOutcome::new().with_identity(Identity::principal(principal.map(|p| p.0.0.clone()).unwrap_or_default()));
    ([(header::SET_COOKIE, "session=; Max-Age=0; Path=/")], Extension(outcome), StatusCode::OK).into_response()
}

#[derive(serde::Deserialize)]
struct Handle {
    handle: String,
}

async fn claim_identity(principal: Option<Extension<Principal>>, Json(body): Json<Handle>) -> StatusCode {
    if principal.is_none() {
        return StatusCode::UNAUTHORIZED;
    }
    if body.handle == "ada-ci-bot" {
        // Registered as an agent already: a claim is refused (issue #428: claim rejection).
        let _ = tally::routing::emit(
            Event::new("identity_claim_rejected")
                .with("identity_handle", body.handle)
                .with("reason", "already_registered"),
        );
        return StatusCode::CONFLICT;
    }
    let _ = tally::routing::emit(
        Event::new("identity_claimed")
            .with("did", format!("did:web:authsome.dev:{}", body.handle))
            .with("identity_handle", body.handle),
    );
    StatusCode::OK
}

/// A principal registers an agent identity and gets its token.
async fn register_identity(
    State(registry): State<Registry>,
    principal: Option<Extension<Principal>>,
    Json(body): Json<Handle>,
) -> Response {
    let Some(Extension(Principal(principal))) = principal else { return StatusCode::UNAUTHORIZED.into_response() };
    let token = uuid::Uuid::now_v7().simple().to_string();
    let agent = Agent { handle: body.handle.clone(), principal: principal.clone() };
    if let Ok(mut tokens) = registry.tokens.lock() {
        tokens.insert(token.clone(), agent);
    }
    Context::new().with_identity(Identity::agent(&body.handle)).sync_scope(|| {
        let _ = tally::routing::emit(Event::new("identity_registered"));
    });
    (StatusCode::CREATED, Json(json!({"token": token}))).into_response()
}

#[derive(serde::Deserialize)]
struct Provider {
    provider: String,
    #[serde(default = "yes")]
    ok: bool,
}

fn yes() -> bool {
    true
}

async fn auth_session(agent: Option<Extension<Agent>>, Json(body): Json<Provider>) -> StatusCode {
    if agent.is_none() {
        return StatusCode::UNAUTHORIZED;
    }
    let event = if body.ok {
        Event::new("auth_session_completed")
    } else {
        Event::new("auth_session_failed").with("reason", "consent_denied")
    };
    let _ = tally::routing::emit(event.with("provider", body.provider));
    StatusCode::OK
}

async fn register_provider(agent: Option<Extension<Agent>>, Json(body): Json<Provider>) -> StatusCode {
    if agent.is_none() {
        return StatusCode::UNAUTHORIZED;
    }
    let _ = tally::routing::emit(Event::new("provider_registered").with("provider", body.provider));
    StatusCode::CREATED
}

async fn resolve_credentials(agent: Option<Extension<Agent>>) -> StatusCode {
    if agent.is_none() {
        return StatusCode::UNAUTHORIZED;
    }
    let _ = tally::routing::emit(Event::new("credentials_resolved").with("provider", "github"));
    StatusCode::OK
}

async fn make_global(principal: Option<Extension<Principal>>, Json(body): Json<Provider>) -> StatusCode {
    if principal.is_none() {
        return StatusCode::UNAUTHORIZED;
    }
    let _ = tally::routing::emit(Event::new("connection_made_global").with("provider", body.provider));
    StatusCode::OK
}

/// The service, its events going to `tracker`.
pub(crate) fn app(tracker: Tracker) -> Router {
    let registry = Registry::default();
    Router::new()
        .route("/register", post(register))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/identities/claim", post(claim_identity))
        .route("/identities", post(register_identity))
        .route("/auth/sessions", post(auth_session))
        .route("/providers", post(register_provider))
        .route("/proxy/credentials", get(resolve_credentials))
        .route("/connections/global", post(make_global))
        .layer(TrackLayer::new_for_http().tracker(tracker).identity((
            AnonymousCookie::new(),
            FromExtension::<Principal>::new(|p| Identity::principal(&p.0)),
            FromExtension::<Agent>::new(|a| Identity::agent(&a.handle).with("principal", &a.principal)),
        )))
        .layer(axum::middleware::from_fn_with_state(registry.clone(), authenticate))
        .with_state(registry)
}

/// Runs the service and the scripted session; returns the final counters.
pub(crate) async fn run(config: Config) -> Counts {
    let decision = telemetry(&config);
    eprintln!("telemetry: {decision:?}");
    let tracker = support::tracker(Tracker::builder(support::catalog("authsome")).with_config(config_for(config)));
    support::drive(&tracker, app(tracker.clone()), session).await
}

async fn session(server: &support::Server) -> Result<(), reqwest::Error> {
    let browser = support::client();
    let post = |path: &str, body: Value| browser.post(server.url(path)).json(&body).send();
    post("/login", json!({"email": "ada@example.com", "password": "nope"})).await?; // anonymous, fails
    post("/register", json!({"email": "ada@example.com", "password": "hunter2"})).await?;
    post("/identities/claim", json!({"handle": "ada-laptop"})).await?;
    let created: Value = post("/identities", json!({"handle": "ada-ci-bot"})).await?.json().await?;
    let token = created["token"].as_str().unwrap_or_default().to_owned();
    post("/identities/claim", json!({"handle": "ada-ci-bot"})).await?; // already an agent: refused
    post("/connections/global", json!({"provider": "github"})).await?;
    post("/logout", json!({})).await?;
    post("/login", json!({"email": "ada@example.com", "password": "hunter2"})).await?;

    let agent = support::client();
    let as_agent = |path: &str, body: Value| agent.post(server.url(path)).bearer_auth(&token).json(&body).send();
    as_agent("/providers", json!({"provider": "github"})).await?;
    as_agent("/auth/sessions", json!({"provider": "github"})).await?;
    as_agent("/auth/sessions", json!({"provider": "google", "ok": false})).await?;
    agent.get(server.url("/proxy/credentials")).bearer_auth(&token).send().await?;
    Ok(())
}
