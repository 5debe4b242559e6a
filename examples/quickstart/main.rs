//! The quickstart: an axum to-do service with tally's middleware.
//! `cargo run --example quickstart [-- --serve]`.
//!
//! Without `POSTHOG_API_KEY` the events print as JSON lines on stdout; with it (and
//! `POSTHOG_HOST` for a self-hosted PostHog) they go to PostHog. The scripted session is a
//! visitor who fails to log in, logs in, creates a to-do, hits a bug and logs out.

mod app;
#[path = "../support/mod.rs"]
mod support;

#[tokio::main]
async fn main() {
    let counts = app::run(support::config_from_env()).await;
    support::report(&counts);
}
