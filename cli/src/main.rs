//! `tally`: the command line of a tally catalog.
//!
//! Every subcommand reads a catalog (or Rust sources) and prints a report; none of them
//! changes a file it was not asked to write. Exit codes are the same everywhere:
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | done, nothing to report (or only warnings) |
//! | 1 | done, and the input has problems: lint errors, an invalid catalog, `audit --deny` findings, a rejected push |
//! | 2 | could not do the job: a missing or unreadable file, a directory given for a file, bad arguments, an unreachable server |
//!
//! See `docs/cli.md` for every subcommand with examples.

mod audit;
mod check;
mod dashboard;
mod dev;
mod diff;
mod doc;
mod docs;
mod error;
mod html;
mod load;
mod output;
mod push;
mod scan;
mod schema;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::CliError;

const EXAMPLES: &str = "\
Examples:
  tally check catalog.toml
  tally docs catalog.toml -o docs/tracking-plan.md
  tally schema catalog.toml -o schemas/
  tally dashboard catalog.toml --push --project-id 12345
  tally diff old/catalog.toml catalog.toml
  tally audit src/ --catalog catalog.toml --deny
  tally dev --catalog catalog.toml

Exit codes: 0 ok, 1 problems found in the input, 2 could not run (missing file, bad arguments).";

/// Check, document and audit a tally catalog (a team's tracking plan as TOML).
#[derive(Debug, Parser)]
#[command(name = "tally", version, about, after_help = EXAMPLES, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Check(check::Args),
    Docs(docs::Args),
    Schema(schema::Args),
    Dashboard(dashboard::Args),
    Diff(diff::Args),
    Audit(audit::Args),
    Dev(dev::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Docs(args) => docs::run(&args),
        Command::Schema(args) => schema::run(&args),
        Command::Dashboard(args) => dashboard::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Audit(args) => audit::run(&args),
        Command::Dev(args) => dev::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(CliError::Quiet) => ExitCode::SUCCESS,
        Err(error) => {
            // Nothing sensible is left to do if stderr itself is gone.
            let _ = writeln!(std::io::stderr().lock(), "{error}");
            error.exit_code()
        }
    }
}
