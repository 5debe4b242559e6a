//! Finding a crate's catalog, the same way for the macros and for the `tally` command.
//!
//! The catalog is, in order:
//! 1. for one target of the crate (an example, a test, a binary), the file named for it in
//!    `[package.metadata.tally.targets]`, keyed by the target's name;
//! 2. the file named by `[package.metadata.tally] catalog` in the crate's `Cargo.toml`;
//! 3. `catalog.toml` next to that `Cargo.toml`, when it exists;
//! 4. the file named by the `TALLY_CATALOG` environment variable (absolute, or relative to the
//!    crate's directory), for crates without any of these, such as the ones trybuild generates;
//! 5. otherwise `catalog.toml` next to `Cargo.toml`, which the caller reports as missing.
//!
//! Paths in `Cargo.toml` are relative to the crate's directory.

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};

/// The default catalog file name, next to a crate's `Cargo.toml`.
pub const CATALOG_FILE: &str = "catalog.toml";

/// The environment variable naming a catalog for crates that configure none.
pub const CATALOG_ENV_VAR: &str = "TALLY_CATALOG";

/// How to give a crate a catalog, for messages about a missing one.
pub const CATALOG_FIX: &str = "put the crate's tracking plan in `catalog.toml` next to its Cargo.toml, or name it in \
                               Cargo.toml with `[package.metadata.tally] catalog = \"path/to/catalog.toml\"`, or set \
                               the TALLY_CATALOG environment variable to its path";

/// Where a located catalog's path came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CatalogOrigin {
    /// `[package.metadata.tally.targets] <target> = "…"`.
    Target,
    /// `[package.metadata.tally] catalog = "…"`.
    Metadata,
    /// `catalog.toml` next to `Cargo.toml`.
    Default,
    /// The `TALLY_CATALOG` environment variable.
    Env,
}

impl CatalogOrigin {
    /// The origin in words, for messages ("named by … in Cargo.toml").
    pub fn describe(self) -> &'static str {
        match self {
            CatalogOrigin::Target => "named for this target in `[package.metadata.tally.targets]` in Cargo.toml",
            CatalogOrigin::Metadata => "named by `[package.metadata.tally] catalog` in Cargo.toml",
            CatalogOrigin::Default => "the default `catalog.toml` next to Cargo.toml",
            CatalogOrigin::Env => "named by the TALLY_CATALOG environment variable",
        }
    }
}

impl fmt::Display for CatalogOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// A crate's catalog path and where it came from. The file may not exist: the caller reports
/// that, naming the path and the origin.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Located {
    /// The catalog's path (the crate's directory joined with the configured path).
    pub path: PathBuf,
    /// Where the path came from.
    pub origin: CatalogOrigin,
}

/// The catalog of the crate whose `Cargo.toml` is in `manifest_dir`.
///
/// `target` is the name of the target being compiled (`CARGO_CRATE_NAME`, `-` and `_` alike),
/// if any; `env` the value of `TALLY_CATALOG`, if set. An unreadable manifest counts as one
/// without metadata.
pub fn locate_catalog(manifest_dir: &Path, target: Option<&str>, env: Option<&OsStr>) -> Located {
    let metadata = std::fs::read_to_string(manifest_dir.join("Cargo.toml"))
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|manifest| manifest.get("package")?.get("metadata")?.get("tally").cloned());
    let found = |path: &str, origin| Located { path: manifest_dir.join(path), origin };
    if let Some(tally) = &metadata {
        let for_target = target.and_then(|target| {
            let targets = tally.get("targets")?.as_table()?;
            let same = |name: &str| name.replace('-', "_") == target.replace('-', "_");
            targets.iter().find(|(name, _)| same(name)).and_then(|(_, path)| path.as_str())
        });
        if let Some(path) = for_target {
            return found(path, CatalogOrigin::Target);
        }
        if let Some(path) = tally.get("catalog").and_then(|path| path.as_str()) {
            return found(path, CatalogOrigin::Metadata);
        }
    }
    let default = manifest_dir.join(CATALOG_FILE);
    match env.filter(|value| !value.is_empty()) {
        Some(configured) if !default.exists() => {
            Located { path: manifest_dir.join(configured), origin: CatalogOrigin::Env }
        }
        _ => Located { path: default, origin: CatalogOrigin::Default },
    }
}

/// The catalog path of the crate whose manifest directory is `manifest_dir`, without a target
/// or the environment: `[package.metadata.tally] catalog`, else `catalog.toml`.
pub fn locate(manifest_dir: &Path) -> PathBuf {
    locate_catalog(manifest_dir, None, None).path
}

/// The directory of the crate `start` is in: the nearest ancestor (or `start` itself) with a
/// `Cargo.toml`, as cargo finds the crate to build.
pub fn crate_dir(start: &Path) -> Option<PathBuf> {
    start.ancestors().find(|dir| dir.join("Cargo.toml").is_file()).map(Path::to_path_buf)
}
