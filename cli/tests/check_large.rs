//! `tally check` and `tally diff` on generated catalogs of 20 000 events with two properties
//! each: the lints scale (the name-collision lint compared every pair; it now sorts and
//! indexes), and so does the diff (it compared every removed event with every added one). The
//! tests assert the findings, not the time; docs/benchmarks.md has the times.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fmt::Write as _;

use common::tally_in;

const EVENTS: usize = 20_000;

/// `i` in base 26 over four letters, each letter doubled (`aabbccdd`): any two such names
/// differ in at least two characters, so only the planted names are alike.
fn doubled(mut i: usize) -> String {
    let mut letters = Vec::new();
    for _ in 0..4 {
        let letter = char::from(b'a' + u8::try_from(i % 26).unwrap());
        letters.extend([letter, letter]);
        i /= 26;
    }
    letters.into_iter().rev().collect()
}

fn event(out: &mut String, name: &str) {
    let _ = writeln!(
        out,
        "[events.\"{name}\"]\ndescription = \"Generated.\"\ntrigger = \"Never.\"\n\
         properties.total_cents = {{ type = \"integer\" }}\nproperties.region = {{ type = \"string\" }}\n"
    );
}

#[test]
fn twenty_thousand_events_check_with_exactly_the_planted_findings() {
    let mut text = String::from("[catalog]\nname = \"large\"\nversion = \"1.0.0\"\n\n");
    for i in 0..EVENTS - 2 {
        event(&mut text, &format!("shop.event_{}", doubled(i)));
    }
    // Planted: a respelling of the first event (a collision, and not resource.action), and a
    // name one character shorter than it (similar to both).
    event(&mut text, "shop event_aaaaaaaa");
    event(&mut text, "shop.event_aaaaaaa");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("catalog.toml"), &text).unwrap();

    let run = tally_in(dir.path(), &["check", "catalog.toml"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let findings: Vec<&str> = lines.iter().copied().filter(|line| line.starts_with("catalog.toml:")).collect();
    let codes: Vec<&str> =
        findings.iter().filter_map(|line| line.split(": ").nth(1)).filter(|code| code.contains('[')).collect();
    assert_eq!(
        codes,
        ["error[naming-convention]", "error[name-collision]", "warning[similar-names]", "warning[similar-names]"],
        "{}",
        run.stdout
    );
    assert!(findings[1].contains("`shop event_aaaaaaaa` collides with `shop.event_aaaaaaaa`"), "{}", findings[1]);
    assert!(findings[2].contains("`shop.event_aaaaaaa` differs from `shop.event_aaaaaaaa`"), "{}", findings[2]);
    assert!(findings[3].contains("`shop.event_aaaaaaa` differs from `shop event_aaaaaaaa`"), "{}", findings[3]);
    assert!(
        run.stdout.ends_with("catalog.toml: fails, 20000 events; 2 errors, 2 warnings\n"),
        "{}",
        run.stdout.lines().last().unwrap_or_default()
    );
}

#[test]
fn twenty_thousand_events_diff_with_every_rename_removal_and_addition() {
    const CHANGED: usize = 1_000;
    let header = |version: &str| format!("[catalog]\nname = \"large\"\nversion = \"{version}\"\n\n");
    let (mut old, mut new) = (header("1.0.0"), header("2.0.0"));
    for i in 0..EVENTS {
        let name = format!("shop.event_{}", doubled(i));
        event(&mut old, &name);
        match i % 20 {
            // Respelled: a rename (the same name to a reader).
            0 if i / 20 < CHANGED => event(&mut new, &name.replacen('.', " ", 1)),
            // Removed, and another event added in its place.
            1 if i / 20 < CHANGED => event(&mut new, &format!("shop.added_{}", doubled(i))),
            _ => event(&mut new, &name),
        }
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("old.toml"), &old).unwrap();
    std::fs::write(dir.path().join("new.toml"), &new).unwrap();

    let run = tally_in(dir.path(), &["diff", "old.toml", "new.toml", "--format", "json", "--date", "2026-12-07"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!((report["bump"].as_str(), report["required_version"].as_str()), (Some("major"), Some("2.0.0")));
    assert_eq!(report["reflected"], true);
    let changes = report["changes"].as_array().unwrap();
    let count = |kind: &str, pattern: &str| {
        changes.iter().filter(|c| c["kind"] == kind && c["message"].as_str().unwrap().contains(pattern)).count()
    };
    assert_eq!(count("breaking", "renamed"), CHANGED);
    assert_eq!(count("breaking", "removed."), CHANGED);
    assert_eq!(count("additive", "added."), CHANGED);
    assert_eq!(changes.len(), 3 * CHANGED);
    let first = changes[0]["message"].as_str().unwrap();
    assert_eq!(
        first,
        format!(
            "event `shop.event_{0}` renamed `shop event_{0}` (a removal and an addition: queries on `shop.event_{0}` stop matching).",
            doubled(0)
        )
    );
}
