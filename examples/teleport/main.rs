//! Teleport's analytics with tally: `cargo run --example teleport [-- --license PATH] [--serve]`.
//!
//! Without `POSTHOG_API_KEY` the events print as JSON lines; `-- --license /nonexistent` shows
//! that without a license no event is generated (see the counters).

mod app;
#[path = "../support/mod.rs"]
mod support;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let license = args
        .iter()
        .position(|arg| arg == "--license")
        .and_then(|at| args.get(at + 1))
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| support::example_dir("teleport").join("license.toml"));
    let counts = app::run(support::config_from_env(), &license).await;
    support::report(&counts);
}
