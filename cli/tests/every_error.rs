//! `tally check` reports every error of a catalog in one run, and input that is not UTF-8 at
//! its byte offset.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{crate_dir, tally_in};

#[test]
fn the_five_mistakes_catalog_reports_all_five_in_one_run() {
    let run = tally_in(&crate_dir(), &["check", "tests/fixtures/five_mistakes.toml"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let at = |line_col: &str, code: &str| {
        let prefix = format!("tests/fixtures/five_mistakes.toml:{line_col}: error[{code}]");
        run.stdout.lines().any(|line| line.starts_with(&prefix))
    };
    assert!(at("3:11", "invalid-version"), "{}", run.stdout);
    assert!(at("12:24", "unknown-key"), "{}", run.stdout);
    assert!(at("13:36", "unknown-value"), "{}", run.stdout);
    assert!(at("14:48", "unknown-value"), "{}", run.stdout);
    assert!(at("15:46", "unknown-reference"), "{}", run.stdout);
    assert!(run.stdout.contains("= help: did you mean `type`?"), "{}", run.stdout);
    assert!(run.stdout.contains("= help: did you mean `drop`?"), "{}", run.stdout);
    assert!(run.stdout.contains("invalid, does not load; 5 errors"), "{}", run.stdout);
}

#[test]
fn a_catalog_that_is_not_utf8_is_reported_at_its_byte_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"[catalog]\nname = \"caf".to_vec();
    bytes.push(0xe9);
    bytes.extend_from_slice(b"\"\nversion = \"1.0.0\"\n");
    std::fs::write(dir.path().join("latin1.toml"), bytes).unwrap();
    let run = tally_in(dir.path(), &["check", "latin1.toml"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.starts_with(
            "latin1.toml:2:12: error[invalid-utf8]: the file is not UTF-8 text: invalid byte (0xe9) at byte offset 21"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn bidi_and_control_characters_in_names_are_printed_escaped() {
    let dir = tempfile::tempdir().unwrap();
    // U+202E RIGHT-TO-LEFT OVERRIDE would make the terminal show `order.deleted` backwards; the
    // catalog writes it (and a BEL) as TOML escapes.
    let catalog = "[catalog]\nname = \"x\"\nversion = \"1.0.0\"\n\n[events.\"order.\\u202Edeleted\\u0007\"]\n\
                   description = \"d\"\ntrigger = \"t\"\n";
    std::fs::write(dir.path().join("catalog.toml"), catalog).unwrap();
    let run = tally_in(dir.path(), &["check", "catalog.toml"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains('\u{202e}') && !run.stdout.contains('\u{7}'), "{:?}", run.stdout);
    assert!(run.stdout.contains("event `order.\\u{202e}deleted\\u{7}` does not follow"), "{}", run.stdout);

    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), "fn f() { tally::track!(\"order.\u{202e}deleted\"); }\n").unwrap();
    let run = tally_in(dir.path(), &["audit", "src", "--catalog", "catalog.toml"]);
    assert!(!run.stdout.contains('\u{202e}'), "{:?}", run.stdout);
    assert!(run.stdout.contains("\\u{202e}"), "{}", run.stdout);
}

#[test]
fn json_reports_escape_bidi_controls_and_quotes_and_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    // An event name with a right-to-left override, a BEL, a DEL, a C1 control (U+0085), a quote
    // and a backslash; an audit source that emits it.
    let name = "order.\u{202e}del\"eted\\\u{7}\u{7f}\u{85}";
    let catalog = "[catalog]\nname = \"x\"\nversion = \"1.0.0\"\n\n\
                   [events.\"order.\\u202Edel\\\"eted\\\\\\u0007\\u007F\\u0085\"]\ndescription = \"d\"\ntrigger = \"t\"\n";
    std::fs::write(dir.path().join("catalog.toml"), catalog).unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), "fn f() { tally::track!(\"order.\u{202e}gone\"); }\n").unwrap();

    let check = tally_in(dir.path(), &["check", "catalog.toml", "--format", "json"]);
    let audit = tally_in(dir.path(), &["audit", "src", "--catalog", "catalog.toml", "--format", "json"]);
    let schema = tally_in(dir.path(), &["schema", "catalog.toml"]);
    for (run, what) in [(&check, "check"), (&audit, "audit"), (&schema, "schema")] {
        // Nothing a terminal acts on is printed raw...
        assert!(
            !run.stdout.chars().any(|c| matches!(c, '\u{202e}' | '\u{7}' | '\u{7f}' | '\u{85}')),
            "{what}: {:?}",
            run.stdout
        );
        // ...and a JSON reader gets the exact strings back.
        serde_json::from_str::<serde_json::Value>(&run.stdout).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(run.stdout.contains("\\u202e"), "{what}: {}", run.stdout);
    }
    let diagnostics: serde_json::Value = serde_json::from_str(&check.stdout).unwrap();
    let message = diagnostics[0]["message"].as_str().unwrap();
    assert!(message.contains(name), "{message:?}");
    let schemas: serde_json::Value = serde_json::from_str(&schema.stdout).unwrap();
    assert!(schemas.get(name).is_some(), "{schemas}");
    let audit: serde_json::Value = serde_json::from_str(&audit.stdout).unwrap();
    assert_eq!(audit["call_sites"][0]["name"], "order.\u{202e}gone", "{audit}");
}
