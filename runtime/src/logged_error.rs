//! One error, one event: the error event the tracing layer makes for an ERROR log inside a
//! request waits in the request's [`Context`] until the request ends, so that a front door
//! reporting the same request's failure (the middleware's `system.error` for a 500) replaces
//! it instead of adding a second event.
//!
//! The context keeps it as an opaque [`AtRequestEnd`]: the context depends on nothing that
//! emits; this module, which knows events and trackers, puts it there and takes it back.

use std::any::Any;

use crate::context::{AtRequestEnd, Context};
use crate::event::Event;
use crate::tracker::Tracker;

/// The error event held for one request, with the tracker it goes to. Emitted when the
/// request's context ends, unless a front door took it first.
struct LoggedError {
    tracker: Tracker,
    event: Event,
}

impl AtRequestEnd for LoggedError {
    fn report(self: Box<Self>) {
        // Refusals are counted by the tracker.
        let _ = self.tracker.emit(self.event);
    }
}

/// Holds `event` for the request of `context`; when one is already held, the richer (more
/// properties) of the two is kept: one request, one error event.
// Only the tracing layer holds errors; without it the context only takes (and drops).
#[cfg_attr(not(feature = "tracing-layer"), allow(dead_code))]
pub(crate) fn hold(context: &Context, tracker: &Tracker, event: Event) {
    let mut held = context.at_end();
    let richer = match held.as_deref() {
        Some(current) => {
            let current: &dyn Any = current;
            current
                .downcast_ref::<LoggedError>()
                .is_none_or(|current| event.properties().count() > current.event.properties().count())
        }
        None => true,
    };
    if richer {
        *held = Some(Box::new(LoggedError { tracker: tracker.clone(), event }));
    }
}

impl Context {
    /// Takes the error event the tracing layer holds for this request (an ERROR log inside it,
    /// with [`TallyLayer::with_errors_as_events`](crate::tracing_layer::TallyLayer::with_errors_as_events)),
    /// so that a front door reporting the request's failure emits one event for both. Not
    /// taken, it is emitted when the request's context ends.
    pub fn take_logged_error(&self) -> Option<Event> {
        let held: Box<dyn Any + Send + Sync> = self.at_end().take()?;
        held.downcast::<LoggedError>().ok().map(|logged| logged.event)
    }
}
