//! Routing: which [`Tracker`] receives the events emitted in a task.
//!
//! Kept apart from the request [`Context`] (what events are about), as
//! tracing keeps its `Dispatch` apart from a `Span`. An emit goes to the tracker scoped around
//! the task ([`Tracker::scope`], as tracing's `WithSubscriber::with_subscriber`), else to the
//! installed default ([`TrackerBuilder::install`](crate::TrackerBuilder::install)), else
//! nowhere (a no-op).
//!
//! ```
//! use tally_runtime::{Event, Tracker, sink::MemorySink};
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! # let catalog = tally_runtime::catalog::Catalog::parse("catalog.toml", r#"
//! #     [catalog]
//! #     name = "shop"
//! #     version = "1.0.0"
//! #     [identity]
//! #     person = "process"
//! #     kinds.process = { description = "The process." }
//! #     [events."cart.viewed"]
//! #     description = "A cart was viewed."
//! #     trigger = "On view."
//! # "#).unwrap();
//! let sink = MemorySink::new();
//! let tracker = Tracker::builder(catalog).with_sink(sink.clone()).with_process_identity("process", "p-1").build().unwrap();
//! tracker.scope(async {
//!     tally_runtime::routing::emit(Event::new("cart.viewed")).unwrap();
//! }).await;
//! tracker.flush().await;
//! sink.assert_emitted("cart.viewed");
//! # });
//! ```

use std::future::Future;

use crate::context::Context;
use crate::event::Event;
use crate::tracker::{self, EmitError, Tracker};

tokio::task_local! {
    /// The tracker scoped around the current task (`None`: the installed default).
    static ROUTE: Option<Tracker>;
}

/// The future [`Tracker::scope`] and [`WithTracker`] return: `F`, polled with its events
/// routed to one tracker. Its type can be named, so that a middleware's response future holds
/// it without boxing.
pub type Routed<F> = tokio::task::futures::TaskLocalFuture<Option<Tracker>, F>;

impl Tracker {
    /// Runs `future` with the events emitted in it (by the macros, the tracing layer, the
    /// middleware, [`emit`]) going to this tracker instead of the installed default.
    pub fn scope<F: Future>(&self, future: F) -> Routed<F> {
        ROUTE.scope(Some(self.clone()), future)
    }

    /// Runs `f` with the events emitted in it going to this tracker, synchronously.
    pub fn sync_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        ROUTE.sync_scope(Some(self.clone()), f)
    }
}

/// Routes futures to a tracker: what carries the routing into spawned tasks, as tracing's
/// `WithSubscriber`.
///
/// ```
/// use tally_runtime::routing::WithTracker;
/// # async fn work() {}
/// # async fn run() {
/// // The task's events go where the spawning task's go.
/// tokio::spawn(work().with_current_tracker());
/// # }
/// ```
pub trait WithTracker: Future + Sized {
    /// Runs this future with its events going to `tracker`.
    fn with_tracker(self, tracker: &Tracker) -> Routed<Self> {
        tracker.scope(self)
    }

    /// Runs this future with its events going where they go where this is called: the scoped
    /// tracker, else (none scoped) the installed default.
    fn with_current_tracker(self) -> Routed<Self> {
        routed(scoped(), self)
    }
}

impl<F: Future> WithTracker for F {}

/// The tracker scoped around the current task, if any (not the installed default).
pub fn scoped() -> Option<Tracker> {
    ROUTE.try_with(Clone::clone).ok().flatten()
}

/// Whether a tracker is scoped around the current task, without cloning its handle.
#[cfg(feature = "tracing-layer")]
#[inline]
pub(crate) fn has_scoped() -> bool {
    ROUTE.try_with(Option::is_some).unwrap_or(false)
}

/// Runs `future` routed to `tracker`, or (`None`) to the installed default: for a front door
/// that decides the route once, as the middleware does (its own tracker when configured with
/// one, else [`scoped`]).
pub fn routed<F: Future>(tracker: Option<Tracker>, future: F) -> Routed<F> {
    ROUTE.scope(tracker, future)
}

/// The installed default tracker, borrowed: for a front door that holds its route for a whole
/// request and so needs no handle of its own.
pub fn installed() -> Option<&'static Tracker> {
    tracker::installed()
}

/// Whether an emit could go anywhere: false until the first tracker is built in this process.
/// Front doors check it before building an event.
#[inline]
pub fn is_active() -> bool {
    tracker::any_built()
}

/// The tracker events go to here: the one scoped around the task, else the installed default.
pub fn current() -> Option<Tracker> {
    with_current(Tracker::clone)
}

/// Whether events emitted here go to some tracker (scoped, else installed), without cloning its
/// handle: what a front door asks on every request before deciding to track it.
#[inline]
pub fn has_current() -> bool {
    with_current(|_| ()).is_some()
}

/// Runs `f` with the tracker events go to here, without cloning the handle (a clone is a shared
/// reference count: contended when many threads emit).
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&Tracker) -> R) -> Option<R> {
    if !is_active() {
        return None;
    }
    let mut f = Some(f);
    let routed = ROUTE.try_with(|route| route.as_ref().and_then(|tracker| f.take().map(|f| f(tracker)))).ok().flatten();
    match routed {
        Some(result) => Some(result),
        None => f.and_then(|f| tracker::installed().map(f)),
    }
}

/// Emits through the current tracker; a no-op (`Ok`) when there is none.
pub fn emit(event: Event) -> Result<(), EmitError> {
    with_current(|tracker| tracker.emit_in(event, Context::current)).unwrap_or(Ok(()))
}
