//! The command line itself: help with examples for every subcommand, and usage errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::tally;

const SUBCOMMANDS: [&str; 6] = ["check", "docs", "schema", "dashboard", "diff", "audit"];

#[test]
fn every_subcommand_has_help_with_examples_and_exit_codes() {
    for subcommand in SUBCOMMANDS {
        let run = tally(&[subcommand, "--help"]);
        assert_eq!(run.code, 0, "{subcommand}");
        assert!(run.stdout.contains("Examples:\n"), "{subcommand}:\n{}", run.stdout);
        assert!(run.stdout.contains(&format!("tally {subcommand} ")), "{subcommand}:\n{}", run.stdout);
        assert!(run.stdout.contains("Exit codes: 0"), "{subcommand}:\n{}", run.stdout);
    }
    let run = tally(&["--help"]);
    assert_eq!(run.code, 0);
    for subcommand in SUBCOMMANDS {
        assert!(run.stdout.contains(&format!("  {subcommand} ")), "{subcommand}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let run = tally(&[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("Usage: tally <COMMAND>"), "{}", run.stderr);
    let run = tally(&["chek"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("check"), "{}", run.stderr);
    // Outside any crate, with no path, there is no catalog to find.
    let outside = tempfile::tempdir().unwrap();
    let run = common::tally_in(outside.path(), &["check"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("is not inside a crate (no Cargo.toml here or above)"), "{}", run.stderr);
    // At the workspace root, `[package.metadata.tally] catalog` names it.
    let run = tally(&["check"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("using the catalog `examples/catalogs/timetracker.toml`"), "{}", run.stderr);
    let run = tally(&["docs", "examples/catalogs/teleport.toml", "--format", "pdf"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("possible values: markdown, html"), "{}", run.stderr);
    let run = tally(&["--version"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.starts_with("tally "), "{}", run.stdout);
}
