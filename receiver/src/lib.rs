//! A PostHog-compatible capture receiver on loopback, for tests.
//!
//! [`Receiver`] is a small HTTP server that speaks PostHog's capture API well
//! enough to stand in for PostHog in tests — yours and tally's own. Like
//! Snowplow Micro, it keeps what it receives in memory: the *good* events
//! ([`Receiver::events`]), the *bad* requests and events
//! ([`Receiver::rejected`]), a request count, and a [`reset`](Receiver::reset).
//! Point any PostHog client at [`Receiver::url`] (tally's PostHog sink,
//! `posthog-rs`, or plain HTTP) and assert on what arrived.
//!
//! Add it as a dev-dependency (`tally-receiver`), as tower-test sits beside tower. The server binds
//! `127.0.0.1` on a free port and runs as a task on the current Tokio runtime
//! until the [`Receiver`] is dropped or [shut down](Receiver::shutdown).
//!
//! # What it accepts
//!
//! | endpoint | body |
//! | --- | --- |
//! | `POST /batch/` | `{api_key, historical_migration?, sent_at?, batch: [event, …]}` (what `posthog-rs` sends) |
//! | `POST /capture/`, `/e/`, `/track/`, `/i/v0/e/` | one event `{api_key, event, distinct_id, properties?, timestamp?, uuid?}`, an array of events, or a batch envelope |
//!
//! Trailing slashes are optional. Bodies may be plain JSON or gzip
//! (`Content-Encoding: gzip`, PostHog's `?compression=gzip` / `?compression=gzip-js`
//! query parameter, or simply gzip magic bytes).
//!
//! # How it answers — like PostHog's capture
//!
//! | situation | answer | stored |
//! | --- | --- | --- |
//! | accepted | `200 {"status":1}` | every event in [`events`](Receiver::events) |
//! | body is not JSON, or not an event / array / batch | `400` | a [`Rejection`] |
//! | no API key (envelope `api_key`/`token`, or per event), or not the one set with [`ReceiverBuilder::api_key`] | `401 {"type":"authentication_error","code":"invalid_api_key",…}` | a [`Rejection`] |
//! | an event with a missing or empty `event`, a missing or empty `distinct_id`, a malformed `uuid`, `timestamp` or `properties` | `400` for the **whole** request | a [`Rejection`], no event |
//! | body over [`MAX_BODY_BYTES`] (20 MiB, compressed or not) | `413` | a [`Rejection`] |
//! | one event over [`MAX_EVENT_BYTES`] (1 MiB) | `200`, that event is dropped | the others as events, the big one as a [`Rejection`] |
//! | `distinct_id` longer than [`MAX_DISTINCT_ID_CHARS`] (200) | `200` | the event, with the id truncated |
//! | a failure injected with [`Receiver::fail_next`] | the injected status | nothing (counted in [`requests`](Receiver::requests) only) |
//! | a failure injected with [`Receiver::fail_next_after_storing`] (a lost response) | the injected status | what an accepted request stores |
//! | a batch holding an event whose `distinct_id` was refused with [`Receiver::refuse_distinct_id`] (a stricter collector) | `400` for the **whole** request | a [`Rejection`], no event |
//! | any request while [`Receiver::hang`] is on | nothing until it is turned off (then `503`) | nothing |
//! | any request while [stopped](Receiver::stop) | the connection is refused | nothing |
//! | a capture endpoint with another method than `POST` | `405` | a [`Rejection`] |
//! | any other path | `404` | a [`Rejection`] (a wrong host path shows up here) |
//!
//! # Example
//!
//! Send an event with `posthog-rs` and assert it arrived:
//!
//! ```
//! use std::time::Duration;
//! use tally_receiver::Receiver;
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let receiver = Receiver::start().await?;
//!
//! let options = posthog_rs::ClientOptionsBuilder::default()
//!     .api_key("phc_test".to_string())
//!     .host(receiver.url())
//!     .build()?;
//! let client = posthog_rs::client(options).await;
//! let mut event = posthog_rs::Event::new("signup completed", "user-1");
//! event.insert_prop("plan", "pro")?;
//! client.capture(event);
//! client.shutdown().await; // flushes
//!
//! let events = receiver.wait_for_events(1, Duration::from_secs(10)).await?;
//! assert_eq!(events[0].event, "signup completed");
//! assert_eq!(events[0].distinct_id, "user-1");
//! assert_eq!(events[0].property("plan"), Some(&serde_json::json!("pro")));
//! assert_eq!(events[0].api_key, "phc_test");
//! # Ok(())
//! # }
//! ```

mod capture;
mod server;
mod wire;

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// HTTP status codes, re-exported so [`Receiver::fail_next`] needs no extra dependency.
///
/// ```
/// use tally_receiver::StatusCode;
/// assert_eq!(StatusCode::SERVICE_UNAVAILABLE.as_u16(), 503);
/// ```
pub use axum::http::StatusCode;

/// HTTP headers, re-exported for [`capture`].
pub use axum::http::HeaderMap;

pub use capture::{Captured, Refused, capture};

/// Largest request body accepted by default, in bytes (20 MiB, PostHog's limit), before and
/// after decompression. Larger bodies are answered `413 Payload Too Large`.
///
/// ```
/// assert_eq!(tally_receiver::MAX_BODY_BYTES, 20 * 1024 * 1024);
/// ```
pub const MAX_BODY_BYTES: usize = 20 * 1024 * 1024;

/// Largest single event accepted by default, in bytes of its JSON (1 MiB, PostHog's limit).
/// A larger event is dropped and recorded as a [`Rejection`]; the rest of its batch is kept.
///
/// ```
/// assert_eq!(tally_receiver::MAX_EVENT_BYTES, 1024 * 1024);
/// ```
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// Length, in characters, at which a `distinct_id` is truncated (as PostHog does).
///
/// ```
/// assert_eq!(tally_receiver::MAX_DISTINCT_ID_CHARS, 200);
/// ```
pub const MAX_DISTINCT_ID_CHARS: usize = 200;

/// One event the receiver accepted and stored.
///
/// Fields mirror PostHog's wire event; [`property`](Self::property) reads one property.
///
/// ```
/// # use std::time::Duration;
/// # use tally_receiver::Receiver;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let receiver = Receiver::start().await?;
/// reqwest::Client::new()
///     .post(format!("{}/capture/", receiver.url()))
///     .json(&serde_json::json!({
///         "api_key": "phc_test",
///         "event": "file uploaded",
///         "distinct_id": "user-7",
///         "properties": {"bytes": 512}
///     }))
///     .send()
///     .await?
///     .error_for_status()?;
///
/// let events = receiver.events();
/// let upload = events.iter().find(|e| e.event == "file uploaded").ok_or("missing")?;
/// assert_eq!(upload.distinct_id, "user-7");
/// assert_eq!(upload.property("bytes"), Some(&serde_json::json!(512)));
/// assert_eq!(upload.path, "/capture/");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReceivedEvent {
    /// The event's `uuid`, when the sender set one (posthog-rs always does).
    pub uuid: Option<String>,
    /// The event name.
    pub event: String,
    /// The `distinct_id` (from the event, or from `properties.distinct_id`), a number rendered as
    /// text, truncated at [`MAX_DISTINCT_ID_CHARS`] characters.
    pub distinct_id: String,
    /// The event's `timestamp` as sent (RFC 3339 text), if any.
    pub timestamp: Option<String>,
    /// The event's `properties`: always a JSON object (empty when none were sent).
    pub properties: Value,
    /// The project API key the event was sent with (the envelope's key wins over the event's).
    pub api_key: String,
    /// The event's position in its request's batch (0 for a single event).
    pub batch_index: usize,
    /// The request's sequence number, counting from 1 since start or the last
    /// [`reset`](Receiver::reset), the same count as [`Receiver::requests`].
    pub request: usize,
    /// The request path the event came in on, e.g. `/batch/`.
    pub path: String,
    /// The batch envelope's `sent_at`, if any.
    pub sent_at: Option<String>,
    /// The batch envelope's `historical_migration` flag (`false` when absent).
    pub historical_migration: bool,
    /// The event object exactly as it arrived (top-level `$set` / `$set_once` included; the
    /// `distinct_id` here is not truncated).
    pub raw: Value,
}

impl ReceivedEvent {
    /// One property of the event, or `None` when it was not sent.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use tally_receiver::Receiver;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let receiver = Receiver::start().await?;
    /// # reqwest::Client::new()
    /// #     .post(format!("{}/batch/", receiver.url()))
    /// #     .json(&serde_json::json!({"api_key": "phc_test", "batch": [
    /// #         {"event": "login", "distinct_id": "u1", "properties": {"method": "sso"}}
    /// #     ]}))
    /// #     .send()
    /// #     .await?;
    /// let login = &receiver.events_named("login")[0];
    /// assert_eq!(login.property("method").and_then(|v| v.as_str()), Some("sso"));
    /// assert_eq!(login.property("password"), None);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn property(&self, name: &str) -> Option<&Value> {
        self.properties.get(name)
    }
}

/// A request, or one event of a request, that the receiver refused: the "bad" events.
///
/// ```
/// # use tally_receiver::{Receiver, StatusCode};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let receiver = Receiver::start().await?;
/// let response = reqwest::Client::new()
///     .post(format!("{}/batch/", receiver.url()))
///     .json(&serde_json::json!({"api_key": "phc_test", "batch": [{"event": "", "distinct_id": "u1"}]}))
///     .send()
///     .await?;
/// assert_eq!(response.status().as_u16(), 400);
///
/// let rejected = receiver.rejected();
/// assert_eq!(rejected[0].status, StatusCode::BAD_REQUEST);
/// assert_eq!(rejected[0].batch_index, Some(0));
/// assert!(rejected[0].reason.contains("event name"), "{}", rejected[0].reason);
/// assert!(receiver.events().is_empty());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rejection {
    /// The status the request was answered with: `4xx` when the whole request was refused,
    /// `200` when only this event was dropped (an oversized event).
    pub status: StatusCode,
    /// Why, in words (e.g. `one or more events is missing a distinct_id (batch index 2)`).
    pub reason: String,
    /// The request path, e.g. `/batch/`.
    pub path: String,
    /// The request's sequence number (see [`ReceivedEvent::request`]).
    pub request: usize,
    /// The offending event's name, when one event is to blame and it has a name.
    pub event: Option<String>,
    /// The offending event's position in the batch, when one event is to blame.
    pub batch_index: Option<usize>,
    /// The start of the (decompressed) body, or of the offending event's JSON, at most
    /// about 1 KiB, for error messages.
    pub body_excerpt: String,
}

/// The error of [`Receiver::wait_for_events`]: fewer events than expected arrived in time.
///
/// Its message lists what did arrive and what was rejected, so a failing test says why.
///
/// ```
/// # use std::time::Duration;
/// # use tally_receiver::Receiver;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let receiver = Receiver::start().await?;
/// let Err(timeout) = receiver.wait_for_events(1, Duration::from_millis(10)).await else {
///     panic!("nothing was sent");
/// };
/// assert_eq!(timeout.expected, 1);
/// assert!(timeout.received.is_empty());
/// assert!(timeout.to_string().contains("expected 1 event"), "{timeout}");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeout {
    /// How many events were awaited.
    pub expected: usize,
    /// How long the wait lasted.
    pub waited: Duration,
    /// The names of the events that did arrive, in arrival order.
    pub received: Vec<String>,
    /// The reasons of the rejections recorded so far, in order.
    pub rejected: Vec<String>,
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.expected == 1 { "" } else { "s" };
        write!(
            f,
            "timed out after {:?}: expected {} event{plural}, {} arrived {:?}",
            self.waited,
            self.expected,
            self.received.len(),
            self.received
        )?;
        if !self.rejected.is_empty() {
            write!(f, "; {} rejected: {:?}", self.rejected.len(), self.rejected)?;
        }
        Ok(())
    }
}

impl std::error::Error for Timeout {}

/// Configuration of a [`Receiver`] before it starts; made by [`Receiver::builder`].
///
/// ```
/// # use tally_receiver::Receiver;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let receiver = Receiver::builder().api_key("phc_test").max_event_bytes(64 * 1024).start().await?;
/// assert!(receiver.url().starts_with("http://127.0.0.1:"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until `.start().await`"]
pub struct ReceiverBuilder {
    config: Config,
}

#[derive(Debug, Clone)]
struct Config {
    api_key: Option<String>,
    max_body_bytes: usize,
    max_event_bytes: usize,
    keep_events: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self { api_key: None, max_body_bytes: MAX_BODY_BYTES, max_event_bytes: MAX_EVENT_BYTES, keep_events: true }
    }
}

impl ReceiverBuilder {
    /// Require this project API key: a request without it, or with another key, is answered
    /// `401`. Without this call any non-empty key is accepted (and a missing one is `401`).
    ///
    /// ```
    /// # use tally_receiver::Receiver;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let receiver = Receiver::builder().api_key("phc_right").start().await?;
    /// let response = reqwest::Client::new()
    ///     .post(format!("{}/capture/", receiver.url()))
    ///     .json(&serde_json::json!({"api_key": "phc_wrong", "event": "x", "distinct_id": "u"}))
    ///     .send()
    ///     .await?;
    /// assert_eq!(response.status().as_u16(), 401);
    /// # Ok(())
    /// # }
    /// ```
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.config.api_key = Some(key.into());
        self
    }

    /// Change the request body limit (default [`MAX_BODY_BYTES`]), e.g. to test `413`
    /// handling without sending 20 MiB.
    ///
    /// ```
    /// # use tally_receiver::Receiver;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let receiver = Receiver::builder().max_body_bytes(1024).start().await?;
    /// # drop(receiver);
    /// # Ok(())
    /// # }
    /// ```
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.config.max_body_bytes = bytes;
        self
    }

    /// Change the single-event limit (default [`MAX_EVENT_BYTES`]).
    ///
    /// ```
    /// # use tally_receiver::Receiver;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let receiver = Receiver::builder().max_event_bytes(4096).start().await?;
    /// # drop(receiver);
    /// # Ok(())
    /// # }
    /// ```
    pub fn max_event_bytes(mut self, bytes: usize) -> Self {
        self.config.max_event_bytes = bytes;
        self
    }

    /// Whether good events are kept for [`events`](Receiver::events) (the default) or only
    /// counted. Counting checks every request exactly as before and answers the same; it only
    /// skips copying the events into storage, for load tests whose sender would otherwise be
    /// measured together with the receiver's memory. [`Receiver::accepted`] and
    /// [`wait_for_count`](Receiver::wait_for_count) see counted events; `events` stays empty.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use tally_receiver::Receiver;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let receiver = Receiver::builder().keep_events(false).start().await?;
    /// let send = |body: serde_json::Value| {
    ///     reqwest::Client::new().post(format!("{}/batch/", receiver.url())).json(&body).send()
    /// };
    /// let good = serde_json::json!({"api_key": "k", "batch": [{"event": "x", "distinct_id": "u"}]});
    /// assert_eq!(send(good).await?.status().as_u16(), 200);
    /// let bad = serde_json::json!({"api_key": "k", "batch": [{"event": "", "distinct_id": "u"}]});
    /// assert_eq!(send(bad).await?.status().as_u16(), 400);
    /// assert_eq!(receiver.wait_for_count(1, Duration::from_secs(10)).await?, 1);
    /// assert!(receiver.events().is_empty());
    /// assert_eq!(receiver.rejected().len(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn keep_events(mut self, keep: bool) -> Self {
        self.config.keep_events = keep;
        self
    }

    /// Bind `127.0.0.1` on a free port and start serving in a background task.
    ///
    /// # Errors
    ///
    /// The bind error, or an [`io::ErrorKind::Other`] error when called outside a Tokio
    /// runtime.
    ///
    /// ```
    /// # use tally_receiver::Receiver;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let receiver = Receiver::builder().start().await?;
    /// assert_eq!(receiver.requests(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start(self) -> io::Result<Receiver> {
        let runtime = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(self.config));
        let (shutdown, task) = serve(&runtime, listener, &shared);
        Ok(Receiver { shared, addr, shutdown: Some(shutdown), task: Some(task) })
    }
}

/// Serves on `listener` until the returned sender fires (or drops).
fn serve(
    runtime: &tokio::runtime::Handle,
    listener: tokio::net::TcpListener,
    shared: &Arc<Shared>,
) -> (oneshot::Sender<()>, JoinHandle<()>) {
    let (shutdown, signal) = oneshot::channel::<()>();
    let router = server::router(Arc::clone(shared));
    let task = runtime.spawn(async move {
        let serving = axum::serve(listener, router).with_graceful_shutdown(async move {
            // Either an explicit signal or the sender dropped: both mean stop.
            let _ = signal.await;
        });
        // `axum::serve` only returns once shut down; there is nobody to report an error to.
        let _ = serving.await;
    });
    (shutdown, task)
}

/// A PostHog-compatible capture server on loopback; see the [module docs](self).
///
/// Dropping it stops the server gracefully in the background (never blocking);
/// [`shutdown`](Self::shutdown) does the same and waits for it.
pub struct Receiver {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.shared.lock();
        f.debug_struct("Receiver")
            .field("url", &self.url())
            .field("requests", &self.requests())
            .field("events", &inner.events.len())
            .field("rejected", &inner.rejected.len())
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// Start a receiver with the defaults: any non-empty API key, PostHog's limits.
    ///
    /// # Errors
    ///
    /// As [`ReceiverBuilder::start`].
    ///
    /// ```
    /// # use tally_receiver::Receiver;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let receiver = Receiver::start().await?;
    /// // configure POSTHOG_HOST / the sink's host with:
    /// let host = receiver.url();
    /// # assert!(host.starts_with("http://127.0.0.1:"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start() -> io::Result<Self> {
        Self::builder().start().await
    }

    /// A builder for a receiver that requires an API key or has other limits.
    ///
    /// ```
    /// # use tally_receiver::Receiver;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let receiver = Receiver::builder().api_key("phc_test").start().await?;
    /// # drop(receiver);
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder() -> ReceiverBuilder {
        ReceiverBuilder::default()
    }

    /// The base URL, `http://127.0.0.1:PORT` (no trailing slash): the PostHog host to configure.
    ///
    /// ```
    /// # use tally_receiver::Receiver;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let receiver = Receiver::start().await?;
    /// assert_eq!(receiver.url(), format!("http://{}", receiver.addr()));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address the receiver listens on.
    ///
    /// ```
    /// # use tally_receiver::Receiver;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let receiver = Receiver::start().await?;
    /// assert!(receiver.addr().ip().is_loopback());
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The good events, in arrival order.
    ///
    /// ```
    /// # use tally_receiver::Receiver;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let receiver = Receiver::start().await?;
    /// reqwest::Client::new()
    ///     .post(format!("{}/batch/", receiver.url()))
    ///     .json(&serde_json::json!({"api_key": "phc_test", "batch": [
    ///         {"event": "a", "distinct_id": "u1"},
    ///         {"event": "b", "distinct_id": "u1"}
    ///     ]}))
    ///     .send()
    ///     .await?;
    /// let names: Vec<_> = receiver.events().into_iter().map(|e| e.event).collect();
    /// assert_eq!(names, ["a", "b"]);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn events(&self) -> Vec<ReceivedEvent> {
        self.shared.lock().events.clone()
    }

    /// The good events with this name, in arrival order.
    ///
    /// ```
    /// # use tally_receiver::Receiver;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let receiver = Receiver::start().await?;
    /// reqwest::Client::new()
    ///     .post(format!("{}/batch/", receiver.url()))
    ///     .json(&serde_json::json!({"api_key": "phc_test", "batch": [
    ///         {"event": "a", "distinct_id": "u1"},
    ///         {"event": "b", "distinct_id": "u2"}
    ///     ]}))
    ///     .send()
    ///     .await?;
    /// assert_eq!(receiver.events_named("b")[0].distinct_id, "u2");
    /// assert!(receiver.events_named("c").is_empty());
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn events_named(&self, name: &str) -> Vec<ReceivedEvent> {
        self.shared.lock().events.iter().filter(|e| e.event == name).cloned().collect()
    }

    /// The bad requests and dropped events, in arrival order.
    ///
    /// ```
    /// # use tally_receiver::{Receiver, StatusCode};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let receiver = Receiver::start().await?;
    /// reqwest::Client::new().post(format!("{}/batch/", receiver.url())).body("not json").send().await?;
    /// assert_eq!(receiver.rejected()[0].status, StatusCode::BAD_REQUEST);
    /// assert_eq!(receiver.rejected()[0].body_excerpt, "not json");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn rejected(&self) -> Vec<Rejection> {
        self.shared.lock().rejected.clone()
    }

    /// How many good events arrived since start or the last [`reset`](Self::reset), whether
    /// they were kept or only counted ([`ReceiverBuilder::keep_events`]).
    ///
    /// ```
    /// # use tally_receiver::Receiver;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let receiver = Receiver::start().await?;
    /// reqwest::Client::new()
    ///     .post(format!("{}/capture/", receiver.url()))
    ///     .json(&serde_json::json!({"api_key": "k", "event": "x", "distinct_id": "u"}))
    ///     .send()
    ///     .await?;
    /// assert_eq!(receiver.accepted(), 1);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn accepted(&self) -> usize {
        self.shared.lock().accepted
    }

    /// How many HTTP requests arrived (any path, any outcome, injected failures included)
    /// since start or the last [`reset`](Self::reset).
    ///
    /// ```
    /// # use tally_receiver::Receiver;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let receiver = Receiver::start().await?;
    /// reqwest::Client::new().post(format!("{}/nowhere", receiver.url())).send().await?;
    /// assert_eq!(receiver.requests(), 1);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Forget everything: events, rejections, the request count and pending injected failures.
    ///
    /// ```
    /// # use tally_receiver::{Receiver, StatusCode};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let receiver = Receiver::start().await?;
    /// receiver.fail_next(1, StatusCode::SERVICE_UNAVAILABLE);
    /// reqwest::Client::new().post(format!("{}/batch/", receiver.url())).body("{}").send().await?;
    /// receiver.reset();
    /// assert_eq!(receiver.requests(), 0);
    /// assert!(receiver.events().is_empty() && receiver.rejected().is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn reset(&self) {
        let mut inner = self.shared.lock();
        inner.accepted = 0;
        inner.events.clear();
        inner.rejected.clear();
        inner.fail = None;
        self.shared.requests.store(0, Ordering::SeqCst);
        self.shared.stored.send_replace(0);
    }

    /// Answer the next `count` requests with `status` (e.g. `503`) without looking at them or
    /// storing anything, to test a sender's retries. Replaces any failures still pending;
    /// `count == 0` cancels them.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use tally_receiver::{Receiver, StatusCode};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let receiver = Receiver::start().await?;
    /// receiver.fail_next(1, StatusCode::SERVICE_UNAVAILABLE);
    /// let send = || {
    ///     reqwest::Client::new()
    ///         .post(format!("{}/capture/", receiver.url()))
    ///         .json(&serde_json::json!({"api_key": "k", "event": "x", "distinct_id": "u"}))
    ///         .send()
    /// };
    /// assert_eq!(send().await?.status().as_u16(), 503);
    /// assert_eq!(send().await?.status().as_u16(), 200);
    /// assert_eq!(receiver.events().len(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn fail_next(&self, count: usize, status: StatusCode) {
        self.inject(count, status, false);
    }

    /// Answer the next `count` requests with `status` *after* storing their events: a response
    /// lost on its way back, as when a client gives up waiting after PostHog has ingested the
    /// batch. A client that retries sends those events again, and PostHog keeps one per `uuid`;
    /// here both copies are stored, so a test can check that a retry carries the same event
    /// ids. Replaces any failures still pending; `count == 0` cancels them.
    ///
    /// ```
    /// # use tally_receiver::{Receiver, StatusCode};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let receiver = Receiver::start().await?;
    /// receiver.fail_next_after_storing(1, StatusCode::GATEWAY_TIMEOUT);
    /// let event = serde_json::json!({"api_key": "k", "event": "x", "distinct_id": "u"});
    /// let response = reqwest::Client::new().post(format!("{}/capture/", receiver.url())).json(&event).send().await?;
    /// assert_eq!(response.status().as_u16(), 504);
    /// assert_eq!(receiver.events().len(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn fail_next_after_storing(&self, count: usize, status: StatusCode) {
        self.inject(count, status, true);
    }

    fn inject(&self, count: usize, status: StatusCode, after_storing: bool) {
        self.shared.lock().fail = (count > 0).then_some(Failure { left: count, status, after_storing });
    }

    /// Wait until at least `count` good events are stored, and return them all; without
    /// polling or sleeping (it wakes on each store). Needs a Tokio runtime with time enabled;
    /// under paused time (`start_paused`) the timeout elapses as soon as the runtime is idle,
    /// even while an OS thread (posthog-rs's transport) is still sending: use real time there.
    ///
    /// # Errors
    ///
    /// [`Timeout`] when fewer than `count` events arrived within `timeout`; it names the
    /// events that did arrive and the rejections.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use tally_receiver::Receiver;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let receiver = Receiver::start().await?;
    /// let url = format!("{}/capture/", receiver.url());
    /// tokio::spawn(async move {
    ///     reqwest::Client::new()
    ///         .post(url)
    ///         .json(&serde_json::json!({"api_key": "k", "event": "later", "distinct_id": "u"}))
    ///         .send()
    ///         .await
    /// });
    /// let events = receiver.wait_for_events(1, Duration::from_secs(10)).await?;
    /// assert_eq!(events[0].event, "later");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait_for_events(&self, count: usize, timeout: Duration) -> Result<Vec<ReceivedEvent>, Timeout> {
        self.wait_until_stored(count, timeout).await.map(|inner| inner.events.clone())
    }

    /// Like [`wait_for_events`](Self::wait_for_events), returning only how many events are
    /// stored, without copying them: for load tests, where the copy would cost more than the
    /// delivery being measured.
    ///
    /// # Errors
    ///
    /// [`Timeout`] when fewer than `count` events arrived within `timeout`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use tally_receiver::Receiver;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let receiver = Receiver::start().await?;
    /// reqwest::Client::new()
    ///     .post(format!("{}/capture/", receiver.url()))
    ///     .json(&serde_json::json!({"api_key": "k", "event": "x", "distinct_id": "u"}))
    ///     .send()
    ///     .await?;
    /// assert_eq!(receiver.wait_for_count(1, Duration::from_secs(10)).await?, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait_for_count(&self, count: usize, timeout: Duration) -> Result<usize, Timeout> {
        self.wait_until_stored(count, timeout).await.map(|inner| inner.accepted)
    }

    /// Waits until `count` events are stored and returns the locked store, or the timeout.
    async fn wait_until_stored(&self, count: usize, timeout: Duration) -> Result<MutexGuard<'_, Inner>, Timeout> {
        let mut stored = self.shared.stored.subscribe();
        // `wait_for` checks the current value first, so events stored before this call count.
        // The borrow it returns is released inside the block, before `lock()` below (`record`
        // takes the two locks in the other order). The outcome is not needed: the count below
        // decides, and stays right if a `reset` happened meanwhile.
        let _ = tokio::time::timeout(timeout, async { stored.wait_for(|&n| n >= count).await.map(|_| ()) }).await;
        let inner = self.shared.lock();
        if inner.accepted >= count {
            Ok(inner)
        } else {
            Err(Timeout {
                expected: count,
                waited: timeout,
                received: inner.events.iter().map(|e| e.event.clone()).collect(),
                rejected: inner.rejected.iter().map(|r| r.reason.clone()).collect(),
            })
        }
    }

    /// Stops listening, as a server that went down: connections are refused until
    /// [`restart`](Self::restart). What was stored is kept. Requests held by [`hang`](Self::hang)
    /// are answered `503` first.
    pub async fn stop(&mut self) {
        self.hang(false);
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Listens again on the same address after [`stop`](Self::stop), with what was stored so
    /// far (a server back from an outage). Does nothing when already listening.
    pub async fn restart(&mut self) -> io::Result<()> {
        if self.task.is_some() {
            return Ok(());
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
        let listener = tokio::net::TcpListener::bind(self.addr).await?;
        let (shutdown, task) = serve(&runtime, listener, &self.shared);
        self.shutdown = Some(shutdown);
        self.task = Some(task);
        Ok(())
    }

    /// While on, every request is read and then left unanswered (a server that accepts and
    /// never answers); turning it off answers the held requests `503`, storing nothing.
    pub fn hang(&self, on: bool) {
        self.shared.hang.send_replace(on);
    }

    /// Requests held unanswered by [`hang`](Self::hang) so far.
    #[must_use]
    pub fn hung(&self) -> usize {
        self.shared.hung.load(Ordering::SeqCst)
    }

    /// Refuses with `400`, for the whole request, any batch holding an event with this
    /// `distinct_id` (as a collector stricter than PostHog's capture may do with an illegal id).
    pub fn refuse_distinct_id(&self, distinct_id: impl Into<String>) {
        self.shared.lock().refused_ids.push(distinct_id.into());
    }

    /// Stop the server and wait for it to finish: in-flight requests are answered, idle
    /// connections closed. Dropping the receiver does the same without waiting.
    ///
    /// ```
    /// # use tally_receiver::Receiver;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let receiver = Receiver::start().await?;
    /// let url = receiver.url();
    /// receiver.shutdown().await;
    /// assert!(reqwest::Client::new().post(format!("{url}/batch/")).send().await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn shutdown(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            // A panicked or cancelled server task has nothing left to stop.
            let _ = task.await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            // The task may already be gone (runtime shut down): then there is nothing to stop.
            let _ = shutdown.send(());
        }
    }
}

/// State shared between the [`Receiver`] handle and the server task.
struct Shared {
    config: Config,
    inner: Mutex<Inner>,
    /// How many good events were accepted (`Inner::accepted`); the waits wait on it.
    stored: watch::Sender<usize>,
    requests: AtomicUsize,
    /// Whether requests are held unanswered ([`Receiver::hang`]).
    hang: watch::Sender<bool>,
    hung: AtomicUsize,
}

#[derive(Default)]
struct Inner {
    /// Good events since start or the last reset, kept or not.
    accepted: usize,
    events: Vec<ReceivedEvent>,
    rejected: Vec<Rejection>,
    /// Pending injected failures.
    fail: Option<Failure>,
    /// `distinct_id`s whose batches are refused ([`Receiver::refuse_distinct_id`]).
    refused_ids: Vec<String>,
}

/// Injected failures still to answer.
#[derive(Clone, Copy)]
pub(crate) struct Failure {
    left: usize,
    pub(crate) status: StatusCode,
    /// Answered after the request's events are stored (a lost response), not instead.
    pub(crate) after_storing: bool,
}

impl Shared {
    fn new(config: Config) -> Self {
        Self {
            config,
            inner: Mutex::default(),
            stored: watch::Sender::new(0),
            requests: AtomicUsize::new(0),
            hang: watch::Sender::new(false),
            hung: AtomicUsize::new(0),
        }
    }

    /// The state, even if a panic elsewhere poisoned the lock: it holds plain data.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Count a request and return its sequence number.
    fn next_request(&self) -> usize {
        self.requests.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Consume one injected failure, if any is pending.
    /// Holds the request while hanging is on; `true` if it was held (answer `503`).
    async fn hold_if_hanging(&self) -> bool {
        if !*self.hang.borrow() {
            return false;
        }
        self.hung.fetch_add(1, Ordering::SeqCst);
        let mut hang = self.hang.subscribe();
        let _ = hang.wait_for(|on| !on).await;
        true
    }

    /// The index of the first event whose `distinct_id` is refused.
    fn refused_at(&self, events: &[ReceivedEvent]) -> Option<usize> {
        let inner = self.lock();
        events.iter().position(|event| inner.refused_ids.contains(&event.distinct_id))
    }

    fn take_failure(&self) -> Option<Failure> {
        let mut inner = self.lock();
        let failure = inner.fail?;
        inner.fail = (failure.left > 1).then_some(Failure { left: failure.left - 1, ..failure });
        Some(failure)
    }

    /// Store a request's outcome at once, so its events and rejections stay together.
    /// `accepted` counts the good events, which `events` holds when they are kept.
    fn record(&self, accepted: usize, events: Vec<ReceivedEvent>, rejected: Vec<Rejection>) {
        let mut inner = self.lock();
        inner.rejected.extend(rejected);
        if accepted > 0 {
            inner.accepted += accepted;
            inner.events.extend(events);
            self.stored.send_replace(inner.accepted);
        }
    }
}
