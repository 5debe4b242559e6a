//! Writing a command's result to stdout or to the file named by `-o`.

use std::io::{ErrorKind, Write};
use std::path::Path;

use crate::error::CliError;

/// Writes `text` to `path`, or to stdout when there is none. A closed stdout (the reader of a
/// pipe went away) ends the command quietly instead of panicking.
pub(crate) fn emit(text: &str, path: Option<&Path>) -> Result<(), CliError> {
    match path {
        Some(path) => write_file(path, text),
        None => stdout(text),
    }
}

/// Writes `text` to stdout.
pub(crate) fn stdout(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(|error| match error.kind() {
        ErrorKind::BrokenPipe => CliError::Quiet,
        _ => CliError::Run(format!("cannot write to stdout: {error}")),
    })
}

/// Writes `text` to stderr; failures are ignored (there is nowhere left to report them).
pub(crate) fn stderr(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Writes a file, creating its parent directories.
pub(crate) fn write_file(path: &Path, text: &str) -> Result<(), CliError> {
    if path.is_dir() {
        return Err(CliError::Run(format!("cannot write `{}`: it is a directory", path.display())));
    }
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|error| CliError::Run(format!("cannot create the directory `{}`: {error}", parent.display())))?;
    }
    std::fs::write(path, text).map_err(|error| CliError::Run(format!("cannot write `{}`: {error}", path.display())))
}

/// The format of a report: for people or for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Lines for people, like a compiler's.
    Text,
    /// JSON for programs.
    Json,
}

/// `1 error`, `2 errors`.
pub(crate) fn plural(count: usize, noun: &str) -> String {
    if count == 1 { format!("{count} {noun}") } else { format!("{count} {noun}s") }
}

/// Pretty JSON with a final newline.
pub(crate) fn json(value: &impl serde::Serialize) -> Result<String, CliError> {
    serde_json::to_string_pretty(value)
        .map(|text| text + "\n")
        .map_err(|error| CliError::Run(format!("cannot serialize the output: {error}")))
}
