//! [`ClientEvents`]: the endpoint front ends post their events to, so that a web app's clicks
//! reach the same pipeline as its server's events, validated by the same catalog.
//!
//! It is a tower [`Service`]; in axum, mount it with `route_service` under the
//! [`TrackLayer`](crate::TrackLayer), whose request context (the app's session, through its
//! [`ResolveIdentity`](crate::identity::ResolveIdentity) strategy) keys every event it accepts:
//!
//! ```
//! use axum::Router;
//! use tally_middleware::{TrackLayer, client_events::ClientEvents, identity::FromExtension};
//! use tally_runtime::Identity;
//!
//! #[derive(Clone)]
//! struct User(String); // put in the request by the app's own authentication
//!
//! let events = ClientEvents::new();
//! let app: Router = Router::new()
//!     // posthog-js with `api_host` = the app's origin posts to `/e/`; server SDKs to `/batch/`
//!     .route_service("/e/", events.clone())
//!     .route_service("/batch/", events)
//!     .layer(TrackLayer::new_for_http().identity(FromExtension::<User>::new(|u| Identity::user(&u.0))));
//! ```
//!
//! # What it reads
//!
//! A `POST` body of posthog-js's capture payloads, uncompressed (configure posthog-js with
//! `disable_compression: true`): one event (`/e/` without batching, or a plain
//! `{"event": "...", "properties": {...}}`), an array of events (`/e/` with posthog-js's
//! default request batching), or `{"batch": [...]}` (the `/batch/` shape). JSON, or form data
//! whose `data` field holds the JSON or its base64 (posthog-js's `base64` compression, and
//! older posthog-js versions). The path does not matter; the shape is read from the body.
//!
//! # What passes
//!
//! Only events the catalog marks `origin = "client"` ([`Tracker::emit_client`]: named as on
//! the wire or in the catalog), with properties the catalog declares. Then the pipeline treats
//! them as any event: validated, filled, scrubbed by the privacy gate, keyed by the request's
//! identity.
//!
//! **The identity never comes from the body.** The events' `distinct_id`, `$set`,
//! `$set_once`, `$groups`, `$anon_distinct_id`, `token`, `uuid` and `timestamp` are not read;
//! PostHog `$` properties the event does not declare (posthog-js adds `$current_url`,
//! `$browser`, … to every event) are ignored and counted in `Counts::ignored_fields`.
//!
//! # Limits and answers
//!
//! | refusal | status | counted in |
//! | --- | --- | --- |
//! | a method other than `POST` | `405` | `Counts::client_refused` |
//! | a body over [`ClientEvents::max_body_bytes`] (default 256 KiB) | `413` | `client_refused` |
//! | more events than [`ClientEvents::max_events`] (default 100) | `413` | `client_refused` |
//! | a gzip body | `415` | `client_refused` |
//! | not JSON, or no event shape, an event without a name | `400` | `client_refused` |
//! | an event with a property over [`ClientEvents::max_property_bytes`] (default 4 KiB, as JSON; `$` properties excepted²) | `413` | `client_refused` (per event) |
//! | an event the catalog does not mark as a client event, or unknown | `422` | `dropped_invalid` |
//! | an event that breaks the catalog (wrong type, unknown property)¹ | `422` | `dropped_invalid` |
//! | an event over `Config::max_event_bytes` | `413` | `dropped_too_large` |
//! | the tracker's queue full or closed | `503` | `dropped_queue_full`, … |
//!
//! ¹ Under the `strict` and `drop` validation modes (`drop` is the default). Under `flag`, such
//! an event is sent without its invalid values and with `$tally_violations`, as any event.
//!
//! ² PostHog `$` properties are ignored unless the event declares them; declared ones are
//! bounded by the catalog's `max_length` and `Config::max_event_bytes`, as any event's.
//!
//! A request is refused whole (the first five rows) or read event by event: the events that
//! pass are accepted even when others in the same request are refused. The answer is `200`
//! with `{"status": 1, "accepted": n}` when nothing was refused (PostHog's own answer, with
//! the count); otherwise the body lists each refused event (`{"index", "status", "reason"}`,
//! reasons name the rule and the property, never a value) and the status is `413` if any
//! event was too large, else `422` if any broke the catalog, else `503` when none was
//! accepted (posthog-js retries a `5xx`; a partial success is answered `200`, so that the
//! accepted events are not sent twice). An event the catalog drops for lack of an identity
//! (`on_missing = "drop"`) is accepted: the catalog's rule, counted in `dropped_no_identity`.
//!
//! The endpoint expects same-origin requests (the session cookie goes along); for a front end
//! on another origin, put a CORS layer (tower-http's `CorsLayer`) in front of it, as for any
//! route: a preflight `OPTIONS` reaching the endpoint is answered `405`.
//!
//! Which tracker: the one given to [`ClientEvents::tracker`], else the one of the request's
//! context (the `TrackLayer`'s) or the installed default. With none, the answer is `503` and
//! nothing can be counted. Nothing a client sends makes it panic.

mod payload;

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body::Body;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use serde_json::{Value, json};
use tally_runtime::{EmitError, Tracker};
use tower_service::Service;

use self::payload::{Malformed, PostedEvent};

/// The default cap on a request's body: 256 KiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;
/// The default cap on the events of one request: 100.
pub const DEFAULT_MAX_EVENTS: usize = 100;
/// The default cap on one property's value, as JSON text: 4 KiB.
pub const DEFAULT_MAX_PROPERTY_BYTES: usize = 4 * 1024;

/// The client-events endpoint: a tower [`Service`] that accepts front ends' events (see the
/// [module docs](self) for the payloads, limits and answers).
#[derive(Clone, Default)]
#[must_use]
pub struct ClientEvents {
    tracker: Option<Tracker>,
    limits: Limits,
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    body_bytes: usize,
    events: usize,
    property_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_bytes: DEFAULT_MAX_BODY_BYTES,
            events: DEFAULT_MAX_EVENTS,
            property_bytes: DEFAULT_MAX_PROPERTY_BYTES,
        }
    }
}

impl fmt::Debug for ClientEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientEvents").field("limits", &self.limits).finish_non_exhaustive()
    }
}

impl ClientEvents {
    /// The endpoint with the default limits, emitting to the request's tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Emits to `tracker` instead of the current one ([`tally_runtime::routing::current`]).
    pub fn tracker(mut self, tracker: Tracker) -> Self {
        self.tracker = Some(tracker);
        self
    }

    /// Caps a request's body ([`DEFAULT_MAX_BODY_BYTES`]); a larger one is answered `413`.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.limits.body_bytes = bytes;
        self
    }

    /// Caps the events of one request ([`DEFAULT_MAX_EVENTS`]); more are answered `413`.
    pub fn max_events(mut self, events: usize) -> Self {
        self.limits.events = events;
        self
    }

    /// Caps one property's value, measured as JSON text ([`DEFAULT_MAX_PROPERTY_BYTES`]); an
    /// event with a larger one is refused (`413`). PostHog `$` properties are not measured
    /// (see the [module docs](self)).
    pub fn max_property_bytes(mut self, bytes: usize) -> Self {
        self.limits.property_bytes = bytes;
        self
    }
}

impl<B> Service<Request<B>> for ClientEvents
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let endpoint = self.clone();
        Box::pin(async move { Ok(endpoint.handle(request).await) })
    }
}

/// A request refused whole.
#[derive(Debug)]
enum Refused {
    Method,
    BodyTooLarge,
    TooManyEvents,
    Unreadable,
    Malformed(Malformed),
}

impl Refused {
    fn status(&self) -> StatusCode {
        match self {
            Refused::Method => StatusCode::METHOD_NOT_ALLOWED,
            Refused::BodyTooLarge | Refused::TooManyEvents => StatusCode::PAYLOAD_TOO_LARGE,
            Refused::Malformed(Malformed::Compressed) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Refused::Unreadable | Refused::Malformed(_) => StatusCode::BAD_REQUEST,
        }
    }

    fn reason(&self, limits: &Limits) -> String {
        match self {
            Refused::Method => "the client-events endpoint takes POST only".to_owned(),
            Refused::BodyTooLarge => format!("the body is over the cap of {} bytes", limits.body_bytes),
            Refused::TooManyEvents => format!("the request has more than {} events", limits.events),
            Refused::Unreadable => "the body could not be read".to_owned(),
            Refused::Malformed(malformed) => malformed.reason().to_owned(),
        }
    }
}

/// One event refused, by its index in the request.
struct EventRefusal {
    index: usize,
    status: StatusCode,
    reason: String,
}

impl ClientEvents {
    async fn handle<B>(self, request: Request<B>) -> Response<Full<Bytes>>
    where
        B: Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        // Looked up here, in the response future, which the TrackLayer runs in the request's
        // context.
        let Some(tracker) = self.tracker.clone().or_else(tally_runtime::routing::current) else {
            // Once: a misconfiguration, not news on every request.
            static WARNED: AtomicBool = AtomicBool::new(false);
            if !WARNED.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    target: "tally::client_events",
                    "no tracker: client events are answered 503; give ClientEvents::tracker, mount it under a \
                     TrackLayer with .tracker(…), or install a default tracker"
                );
            }
            return answer(StatusCode::SERVICE_UNAVAILABLE, json!({"status": 0, "error": "analytics are not set up"}));
        };
        match self.read(request).await {
            Ok(events) => self.emit(&tracker, events),
            Err(refused) => {
                tracker.count_client_refusal();
                tracing::debug!(target: "tally::client_events", ?refused, "client events refused");
                let mut response =
                    answer(refused.status(), json!({"status": 0, "error": refused.reason(&self.limits)}));
                if matches!(refused, Refused::Method) {
                    response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
                }
                response
            }
        }
    }

    /// The request's events, or why the whole request is refused.
    async fn read<B>(&self, request: Request<B>) -> Result<Vec<Value>, Refused>
    where
        B: Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        if request.method() != Method::POST {
            return Err(Refused::Method);
        }
        let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|length| length > self.limits.body_bytes as u64) {
            return Err(Refused::BodyTooLarge);
        }
        let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = match Limited::new(request.into_body(), self.limits.body_bytes).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) if error.is::<LengthLimitError>() => return Err(Refused::BodyTooLarge),
            Err(_) => return Err(Refused::Unreadable),
        };
        let events = payload::events(content_type.as_deref(), &body).map_err(Refused::Malformed)?;
        if events.len() > self.limits.events {
            return Err(Refused::TooManyEvents);
        }
        Ok(events)
    }

    /// Checks each event, hands those that pass to the tracker, and answers for all of them.
    fn emit(&self, tracker: &Tracker, events: Vec<Value>) -> Response<Full<Bytes>> {
        // PostHog refuses a whole batch with one malformed event: so does this endpoint, before
        // any event of it is emitted.
        let posted = match events.into_iter().map(payload::event).collect::<Result<Vec<PostedEvent>, _>>() {
            Ok(posted) => posted,
            Err(malformed) => {
                tracker.count_client_refusal();
                let refused = Refused::Malformed(malformed);
                return answer(refused.status(), json!({"status": 0, "error": refused.reason(&self.limits)}));
            }
        };
        let mut accepted = 0usize;
        let mut refusals = Vec::new();
        for (index, event) in posted.into_iter().enumerate() {
            match self.emit_one(tracker, event) {
                Ok(()) => accepted += 1,
                Err((status, reason)) => refusals.push(EventRefusal { index, status, reason }),
            }
        }
        if refusals.is_empty() {
            return answer(StatusCode::OK, json!({"status": 1, "accepted": accepted}));
        }
        tracing::debug!(target: "tally::client_events", accepted, refused = refusals.len(), "client events refused");
        let has = |status: StatusCode| refusals.iter().any(|r| r.status == status);
        let status = if has(StatusCode::PAYLOAD_TOO_LARGE) {
            StatusCode::PAYLOAD_TOO_LARGE
        } else if has(StatusCode::UNPROCESSABLE_ENTITY) {
            StatusCode::UNPROCESSABLE_ENTITY
        } else if accepted == 0 {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::OK
        };
        let refused: Vec<Value> = refusals
            .into_iter()
            .map(|r| json!({"index": r.index, "status": r.status.as_u16(), "reason": r.reason}))
            .collect();
        answer(status, json!({"status": i32::from(accepted > 0), "accepted": accepted, "refused": refused}))
    }

    /// One event: its properties within the cap, then the runtime's client-event check.
    fn emit_one(&self, tracker: &Tracker, event: PostedEvent) -> Result<(), (StatusCode, String)> {
        let cap = self.limits.property_bytes;
        // PostHog's `$` properties are not measured: the tracker ignores those the event does
        // not declare (posthog-js's `$current_url` can be long), and bounds the others by the
        // catalog (`max_length`) and `Config::max_event_bytes`, as it bounds every event.
        let oversized =
            event.properties.iter().any(|(key, value)| !key.starts_with('$') && payload::json_size(value) > cap);
        if oversized {
            tracker.count_client_refusal();
            return Err((StatusCode::PAYLOAD_TOO_LARGE, format!("a property's value is over the cap of {cap} bytes")));
        }
        match tracker.emit_client(&event.name, event.properties) {
            // No identity under `on_missing = "drop"`: the catalog's rule, counted by the tracker.
            Ok(()) | Err(EmitError::NoIdentity) => Ok(()),
            Err(EmitError::Invalid(violations)) => {
                let reasons: Vec<String> = violations
                    .violations
                    .iter()
                    .map(|violation| match violation {
                        // Its text would echo the posted name back.
                        tally_runtime::Violation::NotAClientEvent(_) => {
                            "not a client event of the catalog (unknown, or not `origin = \"client\"`)".to_owned()
                        }
                        other => other.to_string(),
                    })
                    .collect();
                Err((StatusCode::UNPROCESSABLE_ENTITY, reasons.join("; ")))
            }
            Err(error @ EmitError::TooLarge { .. }) => Err((StatusCode::PAYLOAD_TOO_LARGE, error.to_string())),
            Err(error) => Err((StatusCode::SERVICE_UNAVAILABLE, error.to_string())),
        }
    }
}

/// A JSON answer.
fn answer(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
