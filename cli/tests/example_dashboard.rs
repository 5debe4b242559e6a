//! The Authsome example ships the dashboard its issue asks for; it must match the catalog.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

use assert_cmd::Command;

#[test]
fn the_committed_authsome_dashboard_is_what_tally_dashboard_generates() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let output = Command::cargo_bin("tally")
        .unwrap()
        .current_dir(root)
        .args(["dashboard", "examples/catalogs/authsome.toml"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let committed = std::fs::read_to_string(format!("{root}/examples/authsome/dashboard.json")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        committed,
        "examples/authsome/dashboard.json is stale: run `cargo run -p tally-cli -- dashboard examples/catalogs/authsome.toml > examples/authsome/dashboard.json`"
    );
}
