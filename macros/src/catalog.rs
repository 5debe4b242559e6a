//! Finding and loading the compiling crate's catalog, once per compilation.
//!
//! The catalog is, in order:
//! 1. for one target of the crate (an example, a test, a bench, a binary), the file named for
//!    it in `[package.metadata.tally.targets]`, keyed by the target's name (`CARGO_CRATE_NAME`);
//! 2. the file named by `[package.metadata.tally] catalog` in the crate's `Cargo.toml`;
//! 3. `catalog.toml` next to that `Cargo.toml`, when it exists;
//! 4. the file named by the `TALLY_CATALOG` environment variable (absolute, or relative to the
//!    crate's directory), for crates without any of these, such as the ones trybuild generates.
//!
//! Paths in `Cargo.toml` are relative to the crate's directory.
//!
//! A parsed catalog is cached per path and reused while the file's size and modification time
//! stay the same: a long-lived compiler process (an IDE's) sees edits, a `cargo build` parses it
//! once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use tally_catalog::{CATALOG_FILE, Catalog};

/// The environment variable naming a catalog for crates that configure none.
pub(crate) const ENV_VAR: &str = "TALLY_CATALOG";

/// A loaded catalog and the absolute path it came from.
pub(crate) struct Loaded {
    /// The catalog.
    pub(crate) catalog: Catalog,
    /// Its absolute path, for `include_bytes!` and messages.
    pub(crate) path: PathBuf,
}

/// Why a catalog could not be had: the whole message of the compile error.
pub(crate) type LoadError = String;

/// Where the path came from, for messages.
#[derive(Clone, Copy)]
enum Origin {
    Target,
    Metadata,
    Default,
    Env,
}

impl Origin {
    fn describe(self) -> &'static str {
        match self {
            Origin::Target => "named for this target in `[package.metadata.tally.targets]` in Cargo.toml",
            Origin::Metadata => "named by `[package.metadata.tally] catalog` in Cargo.toml",
            Origin::Default => "the default `catalog.toml` next to Cargo.toml",
            Origin::Env => "named by the TALLY_CATALOG environment variable",
        }
    }
}

const FIX: &str = "put the crate's tracking plan in `catalog.toml` next to its Cargo.toml, or name it in \
                   Cargo.toml with `[package.metadata.tally] catalog = \"path/to/catalog.toml\"`, or set the \
                   TALLY_CATALOG environment variable to its path";

/// The catalog of the crate being compiled.
pub(crate) fn load() -> Result<Arc<Loaded>, LoadError> {
    let (path, origin) = resolve()?;
    let stamp = stamp(&path);
    let cache = cache();
    {
        let cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((cached_stamp, loaded)) = cache.get(&path)
            && stamp.is_some()
            && *cached_stamp == stamp
        {
            return loaded.clone();
        }
    }
    let loaded = read(&path, origin);
    cache.lock().unwrap_or_else(PoisonError::into_inner).insert(path, (stamp, loaded.clone()));
    loaded
}

type Cache = Mutex<HashMap<PathBuf, (Option<(u64, SystemTime)>, Result<Arc<Loaded>, LoadError>)>>;

fn cache() -> &'static Cache {
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    CACHE.get_or_init(Cache::default)
}

fn stamp(path: &Path) -> Option<(u64, SystemTime)> {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.len(), metadata.modified().ok()?))
}

fn resolve() -> Result<(PathBuf, Origin), LoadError> {
    let Some(manifest_dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        return Err(format!(
            "#[track_event] cannot find the tally catalog: CARGO_MANIFEST_DIR is not set (build with cargo, or \
             set {ENV_VAR} to the catalog's absolute path)"
        ));
    };
    let manifest_dir = PathBuf::from(manifest_dir);
    if let Some(path) = target_catalog(&manifest_dir) {
        return Ok((manifest_dir.join(path), Origin::Target));
    }
    let located = tally_catalog::locate(&manifest_dir);
    let default = manifest_dir.join(CATALOG_FILE);
    if located != default {
        return Ok((located, Origin::Metadata));
    }
    if !default.exists()
        && let Some(configured) = std::env::var_os(ENV_VAR).filter(|value| !value.is_empty())
    {
        return Ok((manifest_dir.join(configured), Origin::Env));
    }
    Ok((default, Origin::Default))
}

/// `[package.metadata.tally.targets] <target> = "path"` for the target being compiled.
fn target_catalog(manifest_dir: &Path) -> Option<PathBuf> {
    let target = std::env::var("CARGO_CRATE_NAME").ok()?;
    let manifest = std::fs::read_to_string(manifest_dir.join("Cargo.toml")).ok()?.parse::<toml::Table>().ok()?;
    let targets = manifest.get("package")?.get("metadata")?.get("tally")?.get("targets")?.as_table()?;
    targets
        .iter()
        .find(|(name, _)| name.replace('-', "_") == target)
        .and_then(|(_, path)| path.as_str())
        .map(PathBuf::from)
}

fn read(path: &Path, origin: Origin) -> Result<Arc<Loaded>, LoadError> {
    let shown = path.display();
    if !path.is_file() {
        return Err(format!("the tally catalog `{shown}` ({}) does not exist\nhelp: {FIX}", origin.describe()));
    }
    match Catalog::from_path(path) {
        Ok(catalog) => Ok(Arc::new(Loaded { catalog, path: path.to_path_buf() })),
        Err(error) => {
            Err(format!("the tally catalog `{shown}` is invalid (`tally check` lists every problem):\n{error}"))
        }
    }
}
