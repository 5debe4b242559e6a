//! Where events go: the [`Sink`] trait and the sinks tally ships.
//!
//! - [`PostHogSink`] delivers through posthog-rs (feature `posthog`, on by default).
//! - [`JsonLinesSink`] writes one JSON object per line to stdout or a file: the embedded
//!   default when no PostHog key is configured.
//! - [`MemorySink`] keeps events in memory with readable assertions, for your tests.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

mod jsonl;
mod memory;
#[cfg(feature = "posthog")]
mod posthog;
#[cfg(feature = "posthog")]
mod posthog_event;

pub use jsonl::JsonLinesSink;
pub use memory::{EventMatch, MemorySink};
#[cfg(feature = "posthog")]
pub use posthog::{DEFAULT_HOST, PostHogSink};

/// An event as PostHog receives it: after validation, enrichment, privacy and identity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WireEvent {
    /// The event id; the same across retries, so PostHog deduplicates.
    pub uuid: Uuid,
    /// The wire name (namespace included).
    pub event: String,
    /// The `distinct_id`.
    pub distinct_id: String,
    /// When the event was emitted.
    pub timestamp: DateTime<Utc>,
    /// The properties, wire names, including `$set`, `$set_once`, `$groups`, `$lib`.
    pub properties: Map<String, Value>,
}

impl WireEvent {
    /// A property by wire name.
    pub fn property(&self, name: &str) -> Option<&Value> {
        self.properties.get(name)
    }
}

/// A boxed future, as sinks return them (the trait stays object safe).
pub type SinkFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A failed delivery.
#[derive(Debug, Clone)]
pub struct SinkError {
    /// What went wrong.
    pub message: String,
    /// Whether trying again may succeed (network errors, 5xx, 429).
    pub retryable: bool,
}

impl SinkError {
    /// A failure worth retrying.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self { message: message.into(), retryable: true }
    }

    /// A failure that will not go away by retrying.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self { message: message.into(), retryable: false }
    }
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SinkError {}

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
