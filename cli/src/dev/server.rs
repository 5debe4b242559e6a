//! The routes of `tally dev`: PostHog's capture endpoints, the REST API, the live stream and
//! the page.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use futures_util::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::check::Checker;
use super::page;
use super::store::{self, Change, DevEvent, Refusal, Store};

/// What the routes share.
pub(crate) struct Dev {
    pub(crate) store: Store,
    pub(crate) checker: Checker,
}

/// The endpoints PostHog's SDKs send events to, each also with a trailing slash.
const CAPTURE: [&str; 5] = ["/batch", "/capture", "/e", "/track", "/i/v0/e"];

/// The endpoints posthog-js asks for feature flags on start: answered with none, so a web app
/// pointed at `tally dev` starts cleanly.
const FLAGS: [&str; 2] = ["/flags", "/decide"];

pub(crate) fn router(dev: Arc<Dev>) -> Router {
    let mut router = Router::new()
        .route("/", get(page::index))
        .route("/app.js", get(page::script))
        .route("/style.css", get(page::style))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/api/events", get(events))
        .route("/api/violations", get(violations))
        .route("/api/persons/{distinct_id}", get(person))
        .route("/api/counts", get(counts))
        .route("/api/reset", post(reset))
        .route("/api/stream", get(live));
    for endpoint in CAPTURE {
        router = router.route(endpoint, any(capture)).route(&format!("{endpoint}/"), any(capture));
    }
    for endpoint in FLAGS {
        router = router.route(endpoint, any(flags)).route(&format!("{endpoint}/"), any(flags));
    }
    router.fallback(not_found).with_state(dev)
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// One capture request: decoded and checked with tally-receiver's wire rules (PostHog's), then
/// every event checked against the catalog and kept.
async fn capture(State(dev): State<Arc<Dev>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    if parts.method == Method::OPTIONS {
        return cors(StatusCode::NO_CONTENT.into_response());
    }
    let number = usize::try_from(dev.store.count_request()).unwrap_or(usize::MAX);
    let received_at = now();
    if parts.method != Method::POST {
        let detail = format!("{path} accepts POST, not {}", parts.method);
        return refuse(&dev, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", detail, &path, &received_at);
    }
    let body = match axum::body::to_bytes(body, tally_receiver::MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(error) => {
            let (status, code) = if is_too_large(&error) {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
            } else {
                (StatusCode::BAD_REQUEST, "invalid_payload")
            };
            let detail = format!("could not read the body: {error}");
            return refuse(&dev, status, code, detail, &path, &received_at);
        }
    };
    let response = match tally_receiver::capture(number, &path, parts.uri.query(), &parts.headers, &body) {
        Ok(captured) => {
            for dropped in &captured.dropped {
                dev.store.push_refusal(Refusal::from_rejection(dropped, &received_at));
            }
            for received in captured.events {
                let (catalog_event, violations) = dev.checker.check(&received);
                dev.store.push_event(store::dev_event(received, catalog_event, violations, &received_at));
            }
            (StatusCode::OK, Json(json!({"status": 1}))).into_response()
        }
        Err(refused) => {
            dev.store.push_refusal(Refusal::from_rejection(&refused.rejection, &received_at));
            (refused.rejection.status, Json(refused.body)).into_response()
        }
    };
    cors(response)
}

fn is_too_large(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if current.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = current.source();
    }
    false
}

/// A refused request, kept and answered in PostHog's error shape.
fn refuse(dev: &Dev, status: StatusCode, code: &str, detail: String, path: &str, received_at: &str) -> Response {
    dev.store.push_refusal(Refusal {
        seq: 0,
        received_at: received_at.to_owned(),
        path: path.to_owned(),
        status: status.as_u16(),
        reason: detail.clone(),
        event: None,
        batch_index: None,
        body_excerpt: String::new(),
    });
    let kind = if status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED {
        "invalid_request"
    } else {
        "validation_error"
    };
    cors((status, Json(json!({"type": kind, "code": code, "detail": detail, "attr": null}))).into_response())
}

/// Browsers send posthog-js's requests cross-origin (the app's origin is not tally dev's).
fn cors(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST, GET, OPTIONS"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("content-type, content-encoding"));
    response
}

async fn flags(method: Method) -> Response {
    if method == Method::OPTIONS {
        return cors(StatusCode::NO_CONTENT.into_response());
    }
    let body = json!({
        "featureFlags": {},
        "featureFlagPayloads": {},
        "errorsWhileComputingFlags": false,
        "sessionRecording": false,
        "supportedCompression": ["gzip", "gzip-js"],
    });
    cors(Json(body).into_response())
}

/// Any other path: a `404`; a `POST` there is kept as refused (a wrong host path shows up).
async fn not_found(State(dev): State<Arc<Dev>>, method: Method, request: Request<Body>) -> Response {
    let path = request.uri().path().to_owned();
    let detail = format!("no endpoint at {method} {path}");
    if method == Method::POST {
        return refuse(&dev, StatusCode::NOT_FOUND, "not_found", detail, &path, &now());
    }
    (StatusCode::NOT_FOUND, Json(json!({"type": "invalid_request", "code": "not_found", "detail": detail})))
        .into_response()
}

/// The filters of `GET /api/events`.
#[derive(Debug, Deserialize)]
struct Filter {
    /// The event name as sent, or its catalog name.
    event: Option<String>,
    distinct_id: Option<String>,
}

impl Filter {
    fn matches(&self, event: &DevEvent) -> bool {
        let name = self
            .event
            .as_deref()
            .is_none_or(|name| event.event == name || event.catalog_event.as_deref() == Some(name));
        name && self.distinct_id.as_deref().is_none_or(|id| event.distinct_id == id)
    }
}

async fn events(State(dev): State<Arc<Dev>>, Query(filter): Query<Filter>) -> Json<Value> {
    let events = dev.store.events(|event| filter.matches(event));
    Json(json!({"events": events, "counts": dev.store.counts()}))
}

async fn violations(State(dev): State<Arc<Dev>>) -> Json<Value> {
    let events = dev.store.events(|event| !event.violations.is_empty());
    Json(json!({"events": events, "rejected": dev.store.refused(), "counts": dev.store.counts()}))
}

/// One person: every id merged into it and their events, newest first.
async fn person(State(dev): State<Arc<Dev>>, Path(distinct_id): Path<String>) -> Json<Value> {
    let ids = dev.store.person_ids(&distinct_id);
    let events = dev.store.events(|event| ids.contains(&event.distinct_id));
    Json(json!({"distinct_id": distinct_id, "ids": ids, "events": events}))
}

async fn counts(State(dev): State<Arc<Dev>>) -> Json<Value> {
    Json(json!(dev.store.counts()))
}

async fn reset(State(dev): State<Arc<Dev>>) -> Json<Value> {
    Json(json!({"counts": dev.store.reset()}))
}

/// The live stream: a `snapshot` of what is kept, then one message per change. A page that
/// falls too far behind is disconnected; its `EventSource` reconnects to a fresh snapshot.
async fn live(State(dev): State<Arc<Dev>>) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let snapshot = dev.store.snapshot();
    let mut events = snapshot.events;
    events.reverse();
    let mut rejected = snapshot.refused;
    rejected.reverse();
    let first = message("snapshot", &json!({"events": events, "rejected": rejected, "counts": snapshot.counts}));
    let changes = stream::unfold(snapshot.changes, |mut changes| async move {
        match changes.recv().await {
            Ok(change) => {
                let sse = match change {
                    Change::Event(event, counts) => message("event", &json!({"event": event, "counts": counts})),
                    Change::Refused(refusal, counts) => {
                        message("rejected", &json!({"rejected": refusal, "counts": counts}))
                    }
                    Change::Reset(counts) => message("reset", &json!({"counts": counts})),
                };
                Some((Ok(sse), changes))
            }
            Err(RecvError::Lagged(_) | RecvError::Closed) => None,
        }
    });
    Sse::new(stream::once(async move { Ok(first) }).chain(changes)).keep_alive(KeepAlive::default())
}

fn message(kind: &str, data: &Value) -> SseEvent {
    SseEvent::default().event(kind).data(data.to_string())
}
