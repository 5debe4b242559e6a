//! TimeTracker's event schema with `#[track_event]`: `cargo run --example timetracker [-- --serve]`.

mod app;
#[path = "../support/mod.rs"]
mod support;

#[tokio::main]
async fn main() {
    let counts = app::run(support::config_from_env()).await;
    support::report(&counts);
}
