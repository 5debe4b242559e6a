//! Authsome's telemetry after its audit: `cargo run --example authsome [-- --serve]`.
//!
//! Telemetry goes to PostHog only with `AUTHSOME_ENV=prod`, `AUTHSOME_POSTHOG_API_KEY` and
//! `AUTHSOME_DO_NOT_TRACK=0`; otherwise the events print as JSON lines (a dry run), and with
//! `AUTHSOME_DO_NOT_TRACK=1` nothing is recorded at all. The dashboard for these events is in
//! `examples/authsome/dashboard.json` (`tally dashboard examples/catalogs/authsome.toml`).

mod app;
#[path = "../support/mod.rs"]
mod support;

#[tokio::main]
async fn main() {
    let config = tally::Config::from_env_prefixed("AUTHSOME");
    let counts = app::run(config).await;
    support::report(&counts);
}
