//! One error, one event: the error event the tracing layer makes for an ERROR log inside a
//! request waits in the request's [`Context`](crate::Context) until the request ends, so that
//! a front door reporting the same request's failure (the middleware's `system.error` for a
//! 500) replaces it instead of adding a second event.

use std::fmt;
use std::sync::{Mutex, PoisonError};

use crate::event::Event;
use crate::tracker::Tracker;

/// The error event held for one request. Emitted when the request's context ends, unless a
/// front door took it first.
#[derive(Default)]
pub(crate) struct LoggedError {
    held: Mutex<Option<(Tracker, Event)>>,
}

impl LoggedError {
    /// Holds `event` for the request; when one is already held, the richer (more properties)
    /// of the two is kept: one request, one error event.
    // Only the tracing layer holds errors; without it the context only takes (and drops).
    #[cfg_attr(not(feature = "tracing-layer"), allow(dead_code))]
    pub(crate) fn hold(&self, tracker: &Tracker, event: Event) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let richer = match &*held {
            Some((_, current)) => event.properties().count() > current.properties().count(),
            None => true,
        };
        if richer {
            *held = Some((tracker.clone(), event));
        }
    }

    /// Takes the held event, if any: the caller now owns reporting the error.
    pub(crate) fn take(&self) -> Option<Event> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner).take().map(|(_, event)| event)
    }
}

impl Drop for LoggedError {
    /// The request is over and no front door took the error: it is reported on its own.
    fn drop(&mut self) {
        let held = self.held.get_mut().unwrap_or_else(PoisonError::into_inner).take();
        if let Some((tracker, event)) = held {
            // Refusals are counted by the tracker.
            let _ = tracker.emit(event);
        }
    }
}

impl fmt::Debug for LoggedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held = self.held.lock().map(|held| held.is_some()).unwrap_or(false);
        f.debug_struct("LoggedError").field("held", &held).finish()
    }
}
