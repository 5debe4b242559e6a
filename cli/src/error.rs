//! Why a command stopped, and the exit code that says so.

use std::fmt;
use std::process::ExitCode;

/// A command that could not finish, or whose input is invalid.
#[derive(Debug)]
pub(crate) enum CliError {
    /// The job could not be done: a missing or unreadable file, a directory where a file was
    /// expected, an option that makes no sense, a server that cannot be reached. Exit 2.
    Run(String),
    /// The input is invalid (a catalog that does not load, a rejected push). The message is
    /// complete as is (catalog diagnostics carry their own `error[…]` prefix). Exit 1.
    Invalid(String),
    /// stdout was closed by the reader (`tally docs … | head`): stop quietly.
    Quiet,
}

impl CliError {
    /// The process exit code for this error.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Run(_) => ExitCode::from(2),
            CliError::Invalid(_) => ExitCode::from(1),
            CliError::Quiet => ExitCode::SUCCESS,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Run(message) => write!(f, "error: {message}"),
            CliError::Invalid(message) => f.write_str(message),
            CliError::Quiet => Ok(()),
        }
    }
}

/// Exit code 1: the command ran and found problems in its input.
pub(crate) fn findings() -> ExitCode {
    ExitCode::from(1)
}

/// Exit code 2: the command could not do all of its job (reported as it went).
pub(crate) fn incomplete() -> ExitCode {
    ExitCode::from(2)
}
