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

#[doc = include_str!("guide_links.md")]
#[doc = include_str!("../docs/posthog.md")]
#[doc = "\n"]
pub use tally_runtime::Config;
#[doc = include_str!("guide_links.md")]
#[doc = include_str!("../docs/identity.md")]
#[doc = "\n"]
pub use tally_runtime::Identity;
#[doc = include_str!("guide_links.md")]
#[doc = include_str!("../docs/testing.md")]
#[doc = "\n"]
pub use tally_runtime::MemorySink;
#[cfg_attr(feature = "middleware", doc = include_str!("guide_links_middleware.md"))]
#[doc = include_str!("guide_links.md")]
#[doc = include_str!("../docs/privacy.md")]
#[doc = "\n"]
#[doc(inline)]
pub use tally_runtime::privacy;
pub use tally_runtime::{
    BuildError, Context, Counts, DistinctId, EmitError, Event, Fact, FutureExt, InstallError, JsonLinesSink,
    PropertyName, PropertyText, PropertyValue, RequestInfo, Secret, Sink, SinkError, Tracker, TrackerBuilder,
    TrackerGuard, ValidationMode, Violation, Violations, WireEvent, current, emit, is_active, sink,
};

#[doc = include_str!("guide_links.md")]
#[doc = include_str!("../docs/tracing.md")]
#[doc = "\n"]
#[cfg(feature = "tracing-layer")]
pub use tally_runtime::TallyLayer;

/// A [`TallyLayer`] that emits to the current tracker (the request context's, else the
/// installed default).
///
/// ```
/// use tracing_subscriber::prelude::*;
/// let subscriber = tracing_subscriber::registry().with(tally::tracing_layer());
/// # drop(subscriber);
/// ```
#[cfg(feature = "tracing-layer")]
pub fn tracing_layer() -> TallyLayer {
    TallyLayer::new()
}
