//! Where events go: the [`Sink`] trait and the sinks tally ships.
//!
//! - [`PostHogSink`] delivers through posthog-rs (feature `posthog`, on by default).
//! - [`JsonLinesSink`] writes one JSON object per line to stdout or a file: the embedded
//!   default when no PostHog key is configured.
//! - [`MemorySink`] keeps events in memory with readable assertions, for your tests.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::value::PropertyValue;

mod jsonl;
mod memory;
#[cfg(feature = "posthog")]
mod posthog;
#[cfg(feature = "posthog")]
mod posthog_event;
mod properties;

pub use jsonl::JsonLinesSink;
pub use memory::{EventMatch, MemorySink};
#[cfg(feature = "posthog")]
pub use posthog::{DEFAULT_HOST, PostHogSink};
pub use properties::{WireName, WireProperties};

/// An event as PostHog receives it: after validation, enrichment, privacy and identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireEvent {
    /// The event id; the same across retries, so PostHog deduplicates.
    pub uuid: Uuid,
    /// The wire name (namespace included).
    pub event: WireName,
    /// The `distinct_id`.
    pub distinct_id: String,
    /// When the event was emitted.
    pub timestamp: DateTime<Utc>,
    /// The properties, wire names, including `$set`, `$set_once`, `$groups`, `$lib`.
    pub properties: WireProperties,
}

impl WireEvent {
    /// A property by wire name.
    pub fn property(&self, name: &str) -> Option<&PropertyValue> {
        self.properties.get(name)
    }
}

/// A boxed future, as sinks return them (the trait stays object safe).
pub type SinkFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A failed delivery: what kind of failure (the worker branches on it), a message, and how
/// long the server asked to wait.
///
/// Its message reaches log lines (the worker's WARN): the constructors pass it through the
/// privacy gate, so that a server's answer or a transport's error quoting what was sent shows
/// placeholders, never the personal data. For the same reason it has no [`source`]: a
/// transport's error would print its own, ungated text wherever a reporter walks the chain;
/// put what matters of it in the message.
///
/// ```
/// use std::time::Duration;
/// use tally_runtime::sink::{SinkError, SinkErrorKind};
///
/// let error = SinkError::retryable("HTTP 503 from collector").with_retry_after(Duration::from_secs(5));
/// assert_eq!(error.kind(), SinkErrorKind::Retryable);
/// assert!(error.is_retryable());
/// assert_eq!(error.retry_after(), Some(Duration::from_secs(5)));
///
/// let refused = SinkError::bad_request("event 3: distinct_id ada@example.com is not allowed");
/// assert_eq!(refused.kind(), SinkErrorKind::BadRequest);
/// assert_eq!(refused.to_string(), "event 3: distinct_id [email] is not allowed");
/// ```
///
/// [`source`]: std::error::Error::source
#[derive(Debug, Clone)]
pub struct SinkError {
    kind: SinkErrorKind,
    message: String,
    retry_after: Option<Duration>,
}

/// What kind of failure a [`SinkError`] is, and so what the worker does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SinkErrorKind {
    /// Trying again may succeed (network errors, timeouts, 5xx, 429): the worker retries the
    /// batch with the same event ids, with backoff, within `Config::retry_horizon`.
    Retryable,
    /// Trying again will fail the same way (a sink that cannot encode or write the batch): the
    /// batch is counted failed.
    Permanent,
    /// The server refused the batch as malformed (400, 413): the worker splits it in halves
    /// and sends them again, so that only the offending events are lost (and counted).
    BadRequest,
    /// The server refused the project key (401, 403): the worker logs it once and keeps the
    /// batch (spooled when a spool is configured), so fixing the key delivers it.
    Unauthorized,
}

impl SinkError {
    fn new(kind: SinkErrorKind, message: String) -> Self {
        Self { kind, message: gated(message), retry_after: None }
    }

    /// A failure worth retrying ([`SinkErrorKind::Retryable`]).
    pub fn retryable(message: impl Into<String>) -> Self {
        Self::new(SinkErrorKind::Retryable, message.into())
    }

    /// A failure that will not go away by retrying ([`SinkErrorKind::Permanent`]).
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::new(SinkErrorKind::Permanent, message.into())
    }

    /// The server refused the batch as malformed (400, 413; [`SinkErrorKind::BadRequest`]).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(SinkErrorKind::BadRequest, message.into())
    }

    /// The server refused the project key (401, 403; [`SinkErrorKind::Unauthorized`]).
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(SinkErrorKind::Unauthorized, message.into())
    }

    /// The server asked to wait this long before the next attempt (`Retry-After`); the
    /// worker waits at least this long.
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> SinkErrorKind {
        self.kind
    }

    /// Whether trying the same batch again may succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind == SinkErrorKind::Retryable
    }

    /// How long the server asked to wait before trying again, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// A message that needs no gate: tally's own words and the configured host (an IP host
    /// must stay readable); any part from elsewhere goes through [`gated`] first.
    #[cfg(feature = "posthog")]
    pub(crate) fn ungated(kind: SinkErrorKind, message: String) -> Self {
        Self { kind, message, retry_after: None }
    }
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SinkError {}

/// A message through the last gate (unchanged, and not copied, when nothing in it is personal).
fn gated(message: String) -> String {
    match crate::gate::text(&message) {
        std::borrow::Cow::Borrowed(_) => message,
        std::borrow::Cow::Owned(scrubbed) => scrubbed,
    }
}

/// A destination for events. Implement it to send events anywhere.
///
/// The tracker's worker calls `send` with batches in order and retries a batch whose error is
/// retryable with the same event ids. It may call `send` for the next batch while the previous
/// one is still being delivered, but polls the returned futures strictly one after the other:
/// work done in `send` itself, before the future is returned (converting the batch to another
/// format, say), overlaps the previous delivery. `send` runs on the worker's own thread and
/// runtime, never on the caller's.
pub trait Sink: Send + Sync + 'static {
    /// Delivers a batch.
    fn send<'a>(&'a self, batch: &'a [WireEvent]) -> SinkFuture<'a, Result<(), SinkError>>;

    /// Flushes and releases resources; called once at shutdown.
    fn shutdown(&self) -> SinkFuture<'_, ()> {
        Box::pin(async {})
    }
}

#[cfg(test)]
mod tests {
    use super::SinkError;

    #[test]
    fn an_error_shows_its_message_through_the_gate() {
        let error = SinkError::bad_request("refused: distinct_id ada@example.com from 203.0.113.7 is invalid");
        let expected = "refused: distinct_id [email] from [ip] is invalid";
        assert_eq!(error.to_string(), expected);
        assert_eq!(SinkError::retryable("timed out").to_string(), "timed out");
    }
}
