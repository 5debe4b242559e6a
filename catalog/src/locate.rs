//! Finding a crate's catalog: `[package.metadata.tally] catalog = "…"`, else `catalog.toml`.

use std::path::{Path, PathBuf};

/// The default catalog file name, next to a crate's `Cargo.toml`.
pub const CATALOG_FILE: &str = "catalog.toml";

/// The catalog path of the crate whose manifest directory is `manifest_dir`.
///
/// Reads `[package.metadata.tally] catalog` from its `Cargo.toml` (a path relative to the
/// crate), and falls back to `catalog.toml`. An unreadable manifest also falls back: the
/// caller then reports the missing catalog, which names the path it tried.
pub fn locate(manifest_dir: &Path) -> PathBuf {
    let configured = std::fs::read_to_string(manifest_dir.join("Cargo.toml"))
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|manifest| {
            let tally = manifest.get("package")?.get("metadata")?.get("tally")?;
            tally.get("catalog")?.as_str().map(PathBuf::from)
        });
    manifest_dir.join(configured.unwrap_or_else(|| PathBuf::from(CATALOG_FILE)))
}
