use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use super::{Sink, SinkError, SinkFuture, WireEvent};

/// Keeps delivered events in memory, for tests of your instrumentation.
///
/// Clone it before handing it to the tracker; every clone sees the same events. Call
/// `tracker.flush().await` before asserting: delivery happens on the worker.
///
/// ```
/// use tally_runtime::{Event, Tracker, sink::MemorySink};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let catalog = tally_catalog::Catalog::parse("catalog.toml", r#"
///     [catalog]
///     name = "shop"
///     version = "1.0.0"
///     [events."order.placed"]
///     description = "An order was placed."
///     trigger = "After commit."
///     properties.total_cents = { type = "integer" }
/// "#).unwrap();
/// let sink = MemorySink::new();
/// let tracker = Tracker::for_tests(catalog, sink.clone()).unwrap();
/// tracker.emit(Event::new("order.placed").with("total_cents", 1250)).unwrap();
/// tracker.flush().await;
/// sink.assert_emitted("order.placed").with_property("total_cents", 1250);
/// sink.assert_not_emitted("order.cancelled");
/// # });
/// ```
#[derive(Clone, Default)]
pub struct MemorySink {
    events: Arc<Mutex<Vec<WireEvent>>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<WireEvent>> {
        // A test that panicked while holding the lock must not hide the events from the next.
        crate::lock(&self.events)
    }

    /// Every event delivered so far, in order.
    pub fn events(&self) -> Vec<WireEvent> {
        self.lock().clone()
    }

    /// The events with this wire name.
    pub fn named(&self, event: &str) -> Vec<WireEvent> {
        self.lock().iter().filter(|e| e.event == event).cloned().collect()
    }

    /// Forgets every event.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The delivered events, one line each, for failure messages.
    pub fn summary(&self) -> String {
        let events = self.lock();
        if events.is_empty() {
            return "  (no events)".into();
        }
        let mut out = String::new();
        for event in events.iter() {
            let _ = writeln!(out, "  {} distinct_id={} {}", event.event, event.distinct_id, event.properties);
        }
        out
    }

    /// Asserts that an event with this wire name was delivered; returns a matcher over the
    /// events with that name to check properties and the distinct id.
    ///
    /// # Panics
    /// When none was, listing what was delivered instead.
    #[track_caller]
    pub fn assert_emitted(&self, event: &str) -> EventMatch {
        let candidates = self.named(event);
        assert!(!candidates.is_empty(), "expected `{event}` to be emitted; delivered:\n{}", self.summary());
        EventMatch { event: event.to_owned(), candidates, sink: self.clone() }
    }

    /// Asserts that no event with this wire name was delivered.
    ///
    /// # Panics
    /// When one was, showing it.
    #[track_caller]
    pub fn assert_not_emitted(&self, event: &str) {
        let found = self.named(event);
        assert!(found.is_empty(), "expected `{event}` not to be emitted; delivered:\n{}", self.summary());
    }
}

/// The delivered events of one name, narrowed by each assertion.
#[derive(Clone)]
pub struct EventMatch {
    event: String,
    candidates: Vec<WireEvent>,
    sink: MemorySink,
}

impl EventMatch {
    /// Keeps the events whose property `name` equals `value`.
    ///
    /// # Panics
    /// When none has it, showing what was delivered.
    #[track_caller]
    pub fn with_property(mut self, name: &str, value: impl Into<Value>) -> Self {
        let value = value.into();
        self.candidates.retain(|e| e.properties.get(name).is_some_and(|found| *found == value));
        assert!(
            !self.candidates.is_empty(),
            "expected `{}` with {name} = {value}; delivered:\n{}",
            self.event,
            self.sink.summary()
        );
        self
    }

    /// Keeps the events that do not carry property `name`.
    ///
    /// # Panics
    /// When every one has it.
    #[track_caller]
    pub fn without_property(mut self, name: &str) -> Self {
        self.candidates.retain(|e| !e.properties.contains_key(name));
        assert!(
            !self.candidates.is_empty(),
            "expected `{}` without {name}; delivered:\n{}",
            self.event,
            self.sink.summary()
        );
        self
    }

    /// Keeps the events keyed by this `distinct_id`.
    ///
    /// # Panics
    /// When none is.
    #[track_caller]
    pub fn for_distinct_id(mut self, distinct_id: &str) -> Self {
        self.candidates.retain(|e| e.distinct_id == distinct_id);
        assert!(
            !self.candidates.is_empty(),
            "expected `{}` for distinct_id {distinct_id}; delivered:\n{}",
            self.event,
            self.sink.summary()
        );
        self
    }

    /// The first matching event.
    pub fn event(&self) -> &WireEvent {
        // Never empty: every narrowing step asserts it kept at least one.
        &self.candidates[0]
    }

    /// Every matching event.
    pub fn events(&self) -> &[WireEvent] {
        &self.candidates
    }
}

impl Sink for MemorySink {
    fn send<'a>(&'a self, batch: &'a [WireEvent]) -> SinkFuture<'a, Result<(), SinkError>> {
        self.lock().extend_from_slice(batch);
        Box::pin(async { Ok(()) })
    }
}
