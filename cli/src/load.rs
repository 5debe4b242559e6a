//! Reading input files with messages that name the path and the fix, and finding the current
//! crate's catalog when no path is given.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use tally_catalog::{CATALOG_ENV_VAR, CATALOG_FIX, Catalog, Source};

use crate::error::CliError;
use crate::output;

/// Reads the bytes of a file given on the command line; `what` names it in messages
/// ("catalog").
pub(crate) fn bytes(path: &Path, what: &str) -> Result<Vec<u8>, CliError> {
    let shown = path.display();
    match std::fs::metadata(path) {
        Err(error) if error.kind() == ErrorKind::NotFound => {
            return Err(CliError::Run(format!("cannot read the {what} `{shown}`: no such file")));
        }
        Err(error) => return Err(CliError::Run(format!("cannot read the {what} `{shown}`: {error}"))),
        Ok(metadata) if metadata.is_dir() => {
            let candidate = path.join(tally_catalog::CATALOG_FILE);
            let hint = if what == "catalog" && candidate.is_file() {
                format!("; did you mean `{}`?", candidate.display())
            } else {
                format!("; give the path of the {what} file")
            };
            return Err(CliError::Run(format!("`{shown}` is a directory, not a {what} file{hint}")));
        }
        Ok(_) => {}
    }
    std::fs::read(path).map_err(|error| CliError::Run(format!("cannot read the {what} `{shown}`: {error}")))
}

/// Reads a text file given on the command line; text that is not UTF-8 is reported at the
/// first invalid byte, with its offset.
pub(crate) fn read(path: &Path, what: &str) -> Result<String, CliError> {
    Source::decode(path, bytes(path, what)?).map_err(|diagnostic| {
        let at = diagnostic.message().split_once("invalid byte").map_or("", |(_, at)| at).trim();
        let (line, column) = (diagnostic.location().line(), diagnostic.location().column());
        CliError::Run(format!(
            "cannot read the {what} `{}`: it is not UTF-8 text (invalid byte {at}, line {line}, column {column})",
            path.display()
        ))
    })
}

/// Reads and parses a catalog. A catalog that does not load is invalid input (exit 1): the
/// error carries every diagnostic at `file:line:col`.
pub(crate) fn catalog(path: &Path) -> Result<Catalog, CliError> {
    Catalog::from_bytes(path, bytes(path, "catalog")?).map_err(|error| CliError::Invalid(error.to_string()))
}

/// The catalog path to use: the one given, else the current crate's, found as the macros find
/// it (`[package.metadata.tally]`, `catalog.toml`, `TALLY_CATALOG`) and announced on stderr.
pub(crate) fn catalog_path(given: Option<&Path>) -> Result<PathBuf, CliError> {
    if let Some(path) = given {
        return Ok(path.to_path_buf());
    }
    let found = crate_catalog()?;
    if !found.0.is_file() {
        return Err(CliError::Run(format!(
            "no catalog given, and this crate's catalog `{}` ({}) does not exist\nhelp: {CATALOG_FIX}, or give \
             the catalog's path",
            found.0.display(),
            found.1
        )));
    }
    output::stderr(&format!("tally: using the catalog `{}` ({})\n", found.0.display(), found.1));
    Ok(found.0)
}

/// The current crate's catalog path (which may not exist) and where it came from, in words.
pub(crate) fn crate_catalog() -> Result<(PathBuf, &'static str), CliError> {
    let cwd = std::env::current_dir()
        .map_err(|error| CliError::Run(format!("cannot read the current directory: {error}")))?;
    let env = std::env::var_os(CATALOG_ENV_VAR);
    let Some(dir) = tally_catalog::crate_dir(&cwd) else {
        return match env.filter(|value| !value.is_empty()) {
            Some(path) => Ok((PathBuf::from(path), tally_catalog::CatalogOrigin::Env.describe())),
            None => Err(CliError::Run(format!(
                "no catalog given, and `{}` is not inside a crate (no Cargo.toml here or above); give the \
                 catalog's path or set {CATALOG_ENV_VAR}",
                cwd.display()
            ))),
        };
    };
    let located = tally_catalog::locate_catalog(&dir, None, env.as_deref());
    // Shown relative to where the user is, as they would type it.
    let path = located.path.strip_prefix(&cwd).map(Path::to_path_buf).unwrap_or(located.path);
    Ok((path, located.origin.describe()))
}
