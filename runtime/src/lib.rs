//! The tally runtime: one pipeline from emit to PostHog.
//!
//! The macros, the tracing layer and the middleware all hand [`Event`]s to a [`Tracker`];
//! the tracker's worker validates them against the catalog, fills in automatic properties,
//! applies privacy, decides the `distinct_id` from the catalog's identity strategy and the
//! request [`Context`](context::Context), and delivers to its [`Sink`](sink::Sink)s.
//!
//! ```
//! use tally_runtime::{Event, Identity, Tracker, context::Context, sink::MemorySink};
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let catalog = tally_catalog::Catalog::parse("catalog.toml", r#"
//!     [catalog]
//!     name = "shop"
//!     version = "1.0.0"
//!     [identity]
//!     person = "user"
//!     kinds.user = { description = "The signed-in user's id." }
//!     [events."order.placed"]
//!     description = "An order was placed."
//!     trigger = "After commit."
//!     properties.total_cents = { type = "integer" }
//! "#).unwrap();
//! let sink = MemorySink::new();
//! let tracker = Tracker::for_tests(catalog, sink.clone()).unwrap();
//! Context::new().with_identity(Identity::user("u-7")).scope(async {
//!     tracker.emit(Event::new("order.placed").with("total_cents", 1250)).unwrap();
//! }).await;
//! tracker.flush().await;
//! sink.assert_emitted("order.placed").for_distinct_id("u-7");
//! # });
//! ```
//!
//! Guides: [privacy](https://github.com/tally-rs/tally/blob/main/docs/privacy.md),
//! [identity](https://github.com/tally-rs/tally/blob/main/docs/identity.md),
//! [testing](https://github.com/tally-rs/tally/blob/main/docs/testing.md),
//! [PostHog setup](https://github.com/tally-rs/tally/blob/main/docs/posthog.md),
//! [tracing](https://github.com/tally-rs/tally/blob/main/docs/tracing.md); in the `tally`
//! crate they are the documentation of `tally::privacy`, `Identity`, `MemorySink`, `Config` and
//! `TallyLayer`.

mod clock;
mod config;
pub mod context;
pub mod convert;
mod counters;
mod delivery;
mod event;
mod gate;
mod identity;
mod logged_error;
pub mod outcome;
mod pipeline;
mod plan;
pub mod posthog_rules;
pub mod privacy;
mod queue;
pub mod routing;
pub mod sink;
mod stages;
#[cfg(feature = "tracing-layer")]
pub mod tracing_layer;
mod tracker;
mod user_agent;
mod validate;
mod value;
mod worker;

/// Locks a mutex whether or not a thread panicked while holding it: every mutex in this crate
/// guards data that is valid at every step (lists, counts), and nothing in the host's request
/// path may panic because a test or a sink did.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub use config::{Config, Secret};
pub use counters::Counts;
pub use event::{Event, Fact, PropertyName};
pub use identity::{DistinctId, Identity};
pub use stages::validate::check_json;
pub use tally_catalog as catalog;
pub use tracker::{BuildError, EmitError, InstallError, Tracker, TrackerBuilder, TrackerGuard};
pub use validate::{ValidationMode, Violation, Violations};
pub use value::{PropertyText, PropertyValue};
pub use worker::WorkerPriority;
