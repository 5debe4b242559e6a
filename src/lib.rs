// The crate's documentation is the README, then the getting-started guide; the other guides
// under `docs/` document the items they describe below. Every Rust block in them is a doctest
// (`tests/guides.rs` checks that none is left out). `guide_links.md` comes first in each: its
// link definitions win over the GitHub-relative ones at the end of each guide (the first
// definition of a label is the one Markdown uses), so a link to another guide goes to the item
// that shows it. The links to the middleware guide go to `tally::middleware` when the feature
// is on (`guide_links_middleware.md`, included first where a guide links there), else to GitHub.
#![cfg_attr(feature = "middleware", doc = include_str!("guide_links_middleware.md"))]
#![doc = include_str!("guide_links.md")]
#![doc = include_str!("../README.md")]
#![doc = "\n"]
#![doc = include_str!("../docs/getting-started.md")]

#[cfg_attr(feature = "middleware", doc = include_str!("guide_links_middleware.md"))]
#[doc = include_str!("guide_links.md")]
#[doc = include_str!("../docs/catalog.md")]
#[doc = "\n"]
#[doc = include_str!("../docs/cli.md")]
#[doc = "\n"]
#[doc(inline)]
pub use tally_catalog as catalog;
pub use tally_macros::track;
#[doc = include_str!("guide_links.md")]
#[doc = include_str!("../docs/macros.md")]
#[doc = "\n"]
pub use tally_macros::track_event;
#[doc = include_str!("guide_links.md")]
#[doc = include_str!("../docs/middleware.md")]
#[doc = "\n"]
#[cfg(feature = "middleware")]
#[doc(inline)]
pub use tally_middleware as middleware;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

/// Conversions of Rust values to property values of a catalog type, one trait per type: what
/// `#[track_event]` checks property values with.
pub use tally_runtime::convert;
/// How an annotated function's return value splits into `ret` and `err`.
pub use tally_runtime::outcome;

// The root holds what a first program names; everything else is reached once, through the
// module that groups it (`tally::sink::MemorySink`, `tally::routing::emit`, …).
#[doc = include_str!("guide_links.md")]
#[doc = include_str!("../docs/posthog.md")]
#[doc = "\n"]
pub use tally_runtime::Config;
#[doc = include_str!("guide_links.md")]
#[doc = include_str!("../docs/identity.md")]
#[doc = "\n"]
pub use tally_runtime::Identity;
pub use tally_runtime::context::Context;
pub use tally_runtime::{Event, Tracker};

#[cfg_attr(feature = "middleware", doc = include_str!("guide_links_middleware.md"))]
#[doc = include_str!("guide_links.md")]
#[doc = include_str!("../docs/privacy.md")]
#[doc = "\n"]
#[doc(inline)]
pub use tally_runtime::privacy;
/// Which tracker receives an event: the one scoped around the task, else the installed default.
#[doc(inline)]
pub use tally_runtime::routing;

pub mod sink {
    //! Where delivered events go: the [`Sink`] trait, the PostHog sink, JSON lines, and the
    //! in-memory sink for tests.
    #[doc = include_str!("guide_links.md")]
    #[doc = include_str!("../docs/testing.md")]
    #[doc = "\n"]
    pub use tally_runtime::sink::MemorySink;
    pub use tally_runtime::sink::*;
}

pub mod tracker {
    //! The tracker's builder and guard, its errors and counters.
    pub use tally_runtime::{BuildError, Counts, EmitError, InstallError, TrackerBuilder, TrackerGuard};
}

pub mod event {
    //! What an event carries (property names and values, facts) and how the pipeline
    //! validates it.
    pub use tally_runtime::{Fact, PropertyName, PropertyText, PropertyValue, ValidationMode, Violation, Violations};
}

pub mod context {
    //! The request context: request data, and carrying a context into a future or task.
    pub use tally_runtime::context::{InContext, RequestInfo, Scoped};
}

pub mod identity {
    //! The `distinct_id` an event is keyed by.
    pub use tally_runtime::DistinctId;
}

pub mod config {
    //! Settings of a [`Config`](crate::Config).
    pub use tally_runtime::{Secret, WorkerPriority};
}

/// The tracing layer: spans and events carrying `tally.event` become catalog events.
#[cfg(feature = "tracing-layer")]
pub mod tracing {
    #[doc = include_str!("guide_links.md")]
    #[doc = include_str!("../docs/tracing.md")]
    #[doc = "\n"]
    pub use tally_runtime::tracing_layer::TallyLayer;
}

/// A [`TallyLayer`](tracing::TallyLayer) that emits to the current tracker (the one scoped
/// around the task, else the installed default).
///
/// ```
/// use tracing_subscriber::prelude::*;
/// let subscriber = tracing_subscriber::registry().with(tally::tracing_layer());
/// # drop(subscriber);
/// ```
#[cfg(feature = "tracing-layer")]
pub fn tracing_layer() -> tracing::TallyLayer {
    tracing::TallyLayer::new()
}
