//! What the runtime's integration tests share: the seed catalogs, a PostHog-compatible
//! receiver on loopback with a configuration that delivers to it, and a valid event.

#![allow(dead_code)] // each test file uses a part

use tally_receiver::Receiver;
use tally_runtime::catalog::Catalog;
use tally_runtime::{Config, Event};

/// The project key the receivers require and the trackers send.
pub(crate) const API_KEY: &str = "phc_test";

/// A seed catalog: `examples/catalogs/<name>.toml`.
pub(crate) fn seed_catalog(name: &str) -> Catalog {
    let path = format!("{}/../examples/catalogs/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    Catalog::from_path(&path).unwrap_or_else(|error| panic!("{error}"))
}

/// A receiver on loopback that requires [`API_KEY`].
pub(crate) async fn receiver() -> Receiver {
    Receiver::builder().api_key(API_KEY).start().await.unwrap_or_else(|error| panic!("{error}"))
}

/// `config`, delivering to `receiver`.
pub(crate) fn delivering_to(receiver: &Receiver, config: Config) -> Config {
    config.api_key(API_KEY).host(receiver.url())
}

/// TimeTracker's `system.backup_created`, valid and personless; `size_bytes` tells events apart.
pub(crate) fn backup(size_bytes: u64) -> Event {
    Event::new("system.backup_created").with("backup_type", "scheduled").with("size_bytes", size_bytes)
}
