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

/// A failed delivery. Its message reaches log lines (the worker's WARN): the constructors
/// pass it through the privacy gate, so that a server's answer or a transport's error quoting
/// what was sent shows placeholders, never the personal data.
#[derive(Debug, Clone)]
pub struct SinkError {
    /// What went wrong.
    pub message: String,
    /// Whether trying again may succeed (network errors, timeouts, 5xx, 429).
    pub retryable: bool,
    /// The server refused the request outright, and why.
    pub refusal: Option<Refusal>,
    /// How long the server asked to wait before trying again (`Retry-After`), when known.
    pub retry_after: Option<Duration>,
}

/// Why a server refused a batch outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// 400 (or 413): something in the batch is malformed. The worker splits the batch in
    /// halves and sends them again, so that only the offending events are lost (and counted).
    BadRequest,
    /// 401 or 403: the project key was refused. The worker logs it once and keeps the batch
    /// (spooled when a spool is configured), so fixing the key delivers it.
    Unauthorized,
}

impl SinkError {
    /// A failure worth retrying.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self { message: gated(message.into()), retryable: true, refusal: None, retry_after: None }
    }

    /// A failure that will not go away by retrying.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self { message: gated(message.into()), retryable: false, refusal: None, retry_after: None }
    }

    /// The server refused the batch as malformed (400, 413).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self { refusal: Some(Refusal::BadRequest), ..Self::permanent(message) }
    }

    /// The server refused the project key (401, 403).
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self { refusal: Some(Refusal::Unauthorized), ..Self::permanent(message) }
    }

    /// The server asked to wait this long before the next attempt (`Retry-After`).
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait);
        self
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
        assert_eq!(SinkError::retryable("timed out").message, "timed out");
    }
}
