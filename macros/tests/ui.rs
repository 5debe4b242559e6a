//! Compile-time behaviour of `#[track_event]` and `track!`, with trybuild.
//!
//! trybuild compiles each case in a crate it generates under `target/tests/trybuild/`, which
//! has no catalog of its own; the macros then fall back to the `TALLY_CATALOG` environment
//! variable. A test cannot set a variable for the `cargo` that trybuild starts (setting the
//! process environment is `unsafe`, and unsafe code is forbidden here), so `ui` runs this test
//! binary again, once per catalog, with `TALLY_CATALOG` set for the child, which runs
//! `ui_suite`.
//!
//! Update the snapshots with `TRYBUILD=overwrite cargo test -p tally-macros --test ui`, then
//! review every `.stderr` diff.

#![allow(clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

/// The variable telling the child which suite to run.
const SUITE: &str = "TALLY_UI_SUITE";

/// (suite, catalog, pass cases, fail cases), relative to this crate.
const SUITES: [(&str, &str, Option<&str>, &str); 4] = [
    ("catalog", "tests/ui/catalog.toml", Some("tests/ui/pass/*.rs"), "tests/ui/fail/*.rs"),
    ("catalog_missing", "tests/ui/catalog_missing/catalog.toml", None, "tests/ui/catalog_missing/*.rs"),
    ("catalog_invalid", "tests/ui/catalog_invalid/catalog.toml", None, "tests/ui/catalog_invalid/*.rs"),
    (
        "catalog_five_mistakes",
        "tests/ui/catalog_five_mistakes/catalog.toml",
        None,
        "tests/ui/catalog_five_mistakes/*.rs",
    ),
];

#[test]
fn ui() {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let this_test = std::env::current_exe().expect("the test binary's path");
    for (suite, catalog, _, _) in SUITES {
        let status = Command::new(&this_test)
            .args(["ui_suite", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env(SUITE, suite)
            .env("TALLY_CATALOG", manifest_dir.join(catalog))
            .status()
            .expect("run the test binary again");
        assert!(status.success(), "the trybuild suite `{suite}` failed (see above)");
    }
}

#[test]
#[ignore = "run by `ui`, with TALLY_CATALOG set"]
fn ui_suite() {
    let Ok(suite) = std::env::var(SUITE) else {
        eprintln!("ui_suite runs as part of `ui`, which sets TALLY_CATALOG for it");
        return;
    };
    let (_, _, pass, fail) = SUITES.into_iter().find(|(name, ..)| *name == suite).expect("a known suite");
    let cases = trybuild::TestCases::new();
    if let Some(pass) = pass {
        cases.pass(pass);
    }
    cases.compile_fail(fail);
}
