//! gRPC: a tonic service with tally's layer, driven by a tonic client over loopback.
//! `cargo run --example grpc`.
//!
//! The service authenticates each call with its own tonic interceptor (a token in the
//! `authorization` metadata names the user); tally's layer (`TrackLayer::new_for_grpc()`) emits
//! one event per call, keyed by that user, and the service's methods emit their own events
//! (`#[tally::track_event]`) into the same request context. The scripted session makes calls
//! that succeed, fail, panic and stream. Without `POSTHOG_API_KEY` the events print as JSON
//! lines on stdout and the counters on stderr; with it they go to PostHog.

mod app;
#[path = "../support/mod.rs"]
mod support;

#[tokio::main]
async fn main() {
    let counts = app::run(support::config_from_env()).await;
    support::report(&counts);
}
