//! Loading reports every error in one pass: a catalog with five different mistakes gets all
//! five, each at its `file:line:col`, with help where there is a fix to name.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use tally_catalog::Catalog;

const FIVE_MISTAKES: &str = include_str!("fixtures/five_mistakes.toml");

#[test]
fn five_mistakes_are_five_errors_in_one_run() {
    let error = Catalog::parse("five.toml", FIVE_MISTAKES).unwrap_err();
    let found: Vec<(String, &str)> = error.diagnostics().iter().map(|d| (d.location().to_string(), d.code())).collect();
    assert_eq!(
        found,
        [
            ("five.toml:3:11".to_owned(), "invalid-version"),
            ("five.toml:12:24".to_owned(), "unknown-key"),
            ("five.toml:13:36".to_owned(), "unknown-value"),
            ("five.toml:14:48".to_owned(), "unknown-value"),
            ("five.toml:15:46".to_owned(), "unknown-reference"),
        ],
        "{error}"
    );
    let helps: Vec<&str> = error.diagnostics().iter().map(|d| d.help().unwrap_or("")).collect();
    assert_eq!(helps[1], "did you mean `type`?");
    assert_eq!(helps[2], "did you mean `string`?");
    assert_eq!(helps[3], "did you mean `drop`?");
    assert_eq!(helps[4], "declared: user");
}

#[test]
fn a_misspelled_required_key_is_not_also_reported_missing() {
    let text = "[catalog]\nname = \"x\"\nversoin = \"1.0.0\"\n";
    let error = Catalog::parse("c.toml", text).unwrap_err();
    assert_eq!(error.diagnostics().len(), 1, "{error}");
    assert_eq!(error.diagnostics()[0].code(), "unknown-key");
}

#[test]
fn an_unrepairable_item_is_reported_and_the_rest_still_checked() {
    // The first event lacks `type` on a property; the second names an unknown identity kind.
    let text = r#"[catalog]
name = "x"
version = "1.0.0"

[events."a.b"]
properties.p = { description = "no type" }

[events."c.d"]
identity = "ghost"
"#;
    let error = Catalog::parse("c.toml", text).unwrap_err();
    let codes: Vec<&str> = error.diagnostics().iter().map(|d| d.code()).collect();
    assert_eq!(codes, ["missing-key", "unknown-reference"], "{error}");
}

#[test]
fn every_syntax_error_is_reported() {
    let text = "[catalog]\nname = \"x\nversion = 1.0.0\"\n[events.\n";
    let error = Catalog::parse("c.toml", text).unwrap_err();
    assert!(error.diagnostics().iter().all(|d| d.code() == "toml-syntax"), "{error}");
    assert!(!error.diagnostics().is_empty());
}

#[test]
fn not_utf8_is_reported_with_the_byte_offset() {
    let mut bytes = b"[catalog]\nname = \"caf".to_vec();
    bytes.push(0xe9); // Latin-1 `é`
    bytes.extend_from_slice(b"\"\nversion = \"1.0.0\"\n");
    let error = Catalog::from_bytes("latin1.toml", bytes).unwrap_err();
    assert_eq!(error.diagnostics().len(), 1);
    let diagnostic = &error.diagnostics()[0];
    assert_eq!(diagnostic.code(), "invalid-utf8");
    assert_eq!(diagnostic.location().to_string(), "latin1.toml:2:12");
    assert!(diagnostic.message().contains("byte offset 21"), "{}", diagnostic.message());
    assert!(diagnostic.message().contains("0xe9"), "{}", diagnostic.message());
}
