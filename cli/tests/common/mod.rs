//! Helpers shared by the `tally` integration tests: run the built binary and read its output.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The seed catalogs, by file stem, under `examples/catalogs/`.
pub(crate) const SEEDS: [&str; 5] = ["teleport", "timetracker", "authsome-before", "authsome", "auterity"];

/// What one run of `tally` printed and how it ended.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// The workspace root (the parent of the cli crate).
pub(crate) fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the cli crate lives in the workspace").to_path_buf()
}

/// The cli crate's directory.
pub(crate) fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `examples/catalogs/<name>.toml`, relative to the workspace root.
pub(crate) fn seed(name: &str) -> String {
    format!("examples/catalogs/{name}.toml")
}

/// Runs `tally` with `args` in `dir`.
pub(crate) fn tally_in(dir: &Path, args: &[&str]) -> Run {
    let output = Command::cargo_bin("tally")
        .expect("the tally binary is built")
        .args(args)
        .current_dir(dir)
        .env_remove("POSTHOG_PERSONAL_API_KEY")
        .env_remove("TALLY_CATALOG")
        .output()
        .expect("tally runs");
    let run = Run {
        code: output.status.code().expect("tally exits with a code, not a signal"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    };
    assert!(!run.stderr.contains("panicked"), "tally panicked: {}", run.stderr);
    run
}

/// Runs `tally` with `args` at the workspace root.
pub(crate) fn tally(args: &[&str]) -> Run {
    tally_in(&workspace(), args)
}

/// Parses stdout as JSON.
pub(crate) fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|error| panic!("stdout is not JSON ({error}):\n{}", run.stdout))
}
