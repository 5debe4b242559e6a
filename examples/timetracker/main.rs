//! TimeTracker's event schema with `#[track_event]`: `cargo run --example timetracker [-- --serve]`.

#[path = "../support/mod.rs"]
mod support;
mod app;

#[tokio::main]
async fn main() {
    let counts = app::run(support::config_from_env()).await;
    support::report(&counts);
}
