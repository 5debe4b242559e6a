//! Reading input files with messages that name the path and the fix.

use std::io::ErrorKind;
use std::path::Path;

use tally_catalog::Catalog;

use crate::error::CliError;

/// Reads a text file given on the command line; `what` names it in messages ("catalog").
pub(crate) fn read(path: &Path, what: &str) -> Result<String, CliError> {
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
    std::fs::read_to_string(path).map_err(|error| match error.kind() {
        ErrorKind::InvalidData => CliError::Run(format!("cannot read the {what} `{shown}`: it is not UTF-8 text")),
        _ => CliError::Run(format!("cannot read the {what} `{shown}`: {error}")),
    })
}

/// Reads and parses a catalog. A catalog that does not load is invalid input (exit 1): the
/// error carries every diagnostic at `file:line:col`.
pub(crate) fn catalog(path: &Path) -> Result<Catalog, CliError> {
    let text = read(path, "catalog")?;
    Catalog::parse(path, text).map_err(|error| CliError::Invalid(error.to_string()))
}
