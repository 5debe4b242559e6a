//! Finding and loading the compiling crate's catalog, once per compilation.
//!
//! The catalog is found by `tally_catalog::locate_catalog`, which the `tally` command uses
//! too; in order:
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

use tally_catalog::{CATALOG_ENV_VAR, CATALOG_FIX, Catalog, CatalogOrigin, Located};

/// The environment variable naming a catalog for crates that configure none.
pub(crate) const ENV_VAR: &str = CATALOG_ENV_VAR;

/// A loaded catalog and the absolute path it came from.
pub(crate) struct Loaded {
    /// The catalog.
    pub(crate) catalog: Catalog,
    /// Its absolute path, for `include_bytes!` and messages.
    pub(crate) path: PathBuf,
}

/// Why a catalog could not be had: the whole message of the compile error.
pub(crate) type LoadError = String;

/// The catalog of the crate being compiled.
pub(crate) fn load() -> Result<Arc<Loaded>, LoadError> {
    let Located { path, origin, .. } = resolve()?;
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

fn resolve() -> Result<Located, LoadError> {
    let Some(manifest_dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        return Err(format!(
            "#[track_event] cannot find the tally catalog: CARGO_MANIFEST_DIR is not set (build with cargo, or \
             set {ENV_VAR} to the catalog's absolute path)"
        ));
    };
    let target = std::env::var("CARGO_CRATE_NAME").ok();
    let env = std::env::var_os(ENV_VAR);
    Ok(tally_catalog::locate_catalog(Path::new(&manifest_dir), target.as_deref(), env.as_deref()))
}

fn read(path: &Path, origin: CatalogOrigin) -> Result<Arc<Loaded>, LoadError> {
    let shown = path.display();
    if !path.is_file() {
        return Err(format!("the tally catalog `{shown}` ({}) does not exist\nhelp: {CATALOG_FIX}", origin.describe()));
    }
    match Catalog::from_path(path) {
        Ok(catalog) => Ok(Arc::new(Loaded { catalog, path: path.to_path_buf() })),
        Err(error) => Err(invalid(&shown.to_string(), error.diagnostics())),
    }
}

/// How many of a catalog's errors a compile error shows; `tally check` shows them all.
const SHOWN_ERRORS: usize = 3;

/// The compile error of an invalid catalog: the first few errors, then how many more.
fn invalid(shown: &str, diagnostics: &[tally_catalog::Diagnostic]) -> LoadError {
    let mut message = format!("the tally catalog `{shown}` is invalid:");
    for diagnostic in diagnostics.iter().take(SHOWN_ERRORS) {
        message.push('\n');
        message.push_str(&diagnostic.to_string());
    }
    match diagnostics.len().saturating_sub(SHOWN_ERRORS) {
        0 => {}
        1 => message.push_str("\nand 1 more: run `tally check`"),
        more => message.push_str(&format!("\nand {more} more: run `tally check`")),
    }
    message
}
