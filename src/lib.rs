//! # tally
//!
//! Product-analytics instrumentation for Rust. Your tracking plan lives in a catalog file in
//! your repository; `#[track_event]`, a `tracing` layer and tower middleware turn code into
//! catalog events, checked against the catalog; one pipeline validates them, scrubs personal
//! data, keys them by one `distinct_id` strategy and delivers them to PostHog.
//!
//! Guides live in [`docs/`](https://github.com/tally-rs/tally/tree/main/docs):
//! [getting started](https://github.com/tally-rs/tally/blob/main/docs/getting-started.md),
//! [catalog reference](https://github.com/tally-rs/tally/blob/main/docs/catalog.md),
//! [identity](https://github.com/tally-rs/tally/blob/main/docs/identity.md),
//! [privacy](https://github.com/tally-rs/tally/blob/main/docs/privacy.md),
//! [middleware](https://github.com/tally-rs/tally/blob/main/docs/middleware.md),
//! [tracing](https://github.com/tally-rs/tally/blob/main/docs/tracing.md),
//! [testing](https://github.com/tally-rs/tally/blob/main/docs/testing.md),
//! [PostHog setup](https://github.com/tally-rs/tally/blob/main/docs/posthog.md),
//! [benchmarks](https://github.com/tally-rs/tally/blob/main/docs/benchmarks.md).

pub use tally_catalog as catalog;
pub use tally_macros::{track, track_event};
/// Tower middleware for axum and tonic: login, API-request and error events, and the request
/// context. See [`middleware::TrackLayer`].
#[cfg(feature = "middleware")]
pub use tally_middleware as middleware;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

/// Conversions of Rust values to property values of a catalog type, one trait per type: what
/// `#[track_event]` checks property values with.
pub use tally_runtime::convert;
/// How an annotated function's return value splits into `ret` and `err`.
pub use tally_runtime::outcome;

pub use tally_runtime::context::InContext;
pub use tally_runtime::routing::{WithTracker, current, emit, is_active};
pub use tally_runtime::{
    BuildError, Config, Context, Counts, DistinctId, EmitError, Event, Fact, Identity, InstallError, JsonLinesSink,
    MemorySink, PropertyName, PropertyText, PropertyValue, RequestInfo, Secret, Sink, SinkError, Tracker,
    TrackerBuilder, TrackerGuard, ValidationMode, Violation, Violations, WireEvent, context, privacy, routing, sink,
};

/// The tracing layer: spans and events carrying `tally.event` become catalog events.
/// See [`TallyLayer`] for when each event fires.
#[cfg(feature = "tracing-layer")]
pub use tally_runtime::TallyLayer;

/// A [`TallyLayer`] that emits to the current tracker (the one scoped around the task, else the
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

/// The guides under `docs/`, compiled as doctests so that their code keeps working.
#[cfg(doctest)]
mod guides {
    #[doc = include_str!("../docs/testing.md")]
    struct Testing;
    #[doc = include_str!("../docs/tracing.md")]
    struct Tracing;
    #[doc = include_str!("../docs/identity.md")]
    struct Identity;
    #[doc = include_str!("../docs/privacy.md")]
    struct Privacy;
    #[doc = include_str!("../docs/posthog.md")]
    struct PostHog;
    #[doc = include_str!("../docs/macros.md")]
    struct Macros;
    #[doc = include_str!("../docs/getting-started.md")]
    struct GettingStarted;
}
