//! A corpus of malformed catalogs (`tests/malformed/*.toml`), each with its expected first
//! diagnostic in a header comment:
//!
//! ```text
//! # expect: 7:1 error[unknown-key]
//! # help: did you mean `namespace`?        (optional: the help must contain this)
//! # message: unknown field `nmespace`      (optional: the message must contain this)
//! ```
//!
//! The first diagnostic is the first loading error when the catalog does not load, else the
//! first lint finding. Every file must produce its diagnostic without panicking.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use tally_catalog::{Catalog, Diagnostic, lint::RULES};

/// The codes validation and parsing report (every one must be exercised by the corpus).
const STRUCTURAL_CODES: &[&str] = &[
    "toml-syntax",
    "unknown-key",
    "unknown-value",
    "missing-key",
    "duplicate-key",
    "invalid-type",
    "invalid-version",
    "invalid-namespace",
    "invalid-period",
    "invalid-format",
    "invalid-funnel",
    "invalid-person-source",
    "unknown-reference",
    "unknown-rule",
    "duplicate-role",
    "duplicate-value",
    "empty-name",
    "missing-items",
    "nested-array",
    "misplaced-key",
    "missing-reason",
    "fill-type-mismatch",
    "invalid-statuses",
    "personal-fill",
];

struct Expectation {
    line: usize,
    column: usize,
    /// `error[code]` or `warning[code]`.
    label: String,
    help: Option<String>,
    message: Option<String>,
}

fn expectation(path: &Path, text: &str) -> Expectation {
    let header = |prefix: &str| text.lines().find_map(|line| line.strip_prefix(prefix)).map(str::to_owned);
    let expect = header("# expect: ").unwrap_or_else(|| panic!("{} has no `# expect:` line", path.display()));
    let (position, label) = expect.split_once(' ').expect("`# expect: LINE:COL severity[code]`");
    let (line, column) = position.split_once(':').expect("LINE:COL");
    Expectation {
        line: line.parse().unwrap(),
        column: column.parse().unwrap(),
        label: label.to_owned(),
        help: header("# help: "),
        message: header("# message: "),
    }
}

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    files
}

/// Every diagnostic for a catalog: its loading errors, or its lint findings.
fn diagnostics(name: &str, text: &str) -> Vec<Diagnostic> {
    match Catalog::parse(name, text) {
        Ok(catalog) => catalog.lint(),
        Err(error) => {
            // The rendering must not panic either.
            let _ = error.to_string();
            error.into_diagnostics()
        }
    }
}

#[test]
fn corpus_is_large_enough() {
    assert!(corpus().len() >= 25, "the malformed corpus has only {} files", corpus().len());
}

#[test]
fn each_file_reports_its_expected_first_diagnostic() {
    let mut failures = Vec::new();
    for path in corpus() {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let expected = expectation(&path, &text);
        let found = match panic::catch_unwind(AssertUnwindSafe(|| diagnostics(&name, &text))) {
            Ok(found) => found,
            Err(_) => {
                failures.push(format!("{name}: panicked"));
                continue;
            }
        };
        let Some(first) = found.first() else {
            failures.push(format!("{name}: no diagnostic at all"));
            continue;
        };
        let label = format!("{}[{}]", first.severity(), first.code());
        let rendered = first.to_string();
        let mut problems = Vec::new();
        if (first.location().line(), first.location().column()) != (expected.line, expected.column) {
            problems.push(format!(
                "at {}:{}, expected {}:{}",
                first.location().line(),
                first.location().column(),
                expected.line,
                expected.column
            ));
        }
        if label != expected.label {
            problems.push(format!("{label}, expected {}", expected.label));
        }
        if let Some(help) = &expected.help
            && !first.help().is_some_and(|h| h.contains(help.as_str()))
        {
            problems.push(format!("help {:?} does not contain {help:?}", first.help()));
        }
        if let Some(message) = &expected.message
            && !first.message().contains(message.as_str())
        {
            problems.push(format!("message {:?} does not contain {message:?}", first.message()));
        }
        let prefix = format!("{name}:{}:{}: {label}: ", expected.line, expected.column);
        if problems.is_empty() && !rendered.starts_with(&prefix) {
            problems.push(format!("renders as {rendered:?}, expected the prefix {prefix:?}"));
        }
        if !problems.is_empty() {
            failures.push(format!("{name}: {} (got: {rendered})", problems.join("; ")));
        }
    }
    assert!(failures.is_empty(), "malformed corpus mismatches:\n{}", failures.join("\n"));
}

#[test]
fn corpus_covers_every_code() {
    let labels: Vec<String> =
        corpus().iter().map(|path| expectation(path, &std::fs::read_to_string(path).unwrap()).label).collect();
    let covered = |code: &str| labels.iter().any(|label| label.ends_with(&format!("[{code}]")));
    let missing: Vec<&str> = STRUCTURAL_CODES
        .iter()
        .copied()
        .chain(RULES.iter().map(|rule| rule.id()))
        .filter(|code| !covered(code))
        .collect();
    assert!(missing.is_empty(), "no malformed catalog exercises: {missing:?}");
}

#[test]
fn loading_errors_are_reported_in_file_order() {
    // Three independent structural errors: all are reported, sorted by position.
    let text = r#"[catalog]
name = "shop"
version = "1"

[identity]
person = "nobody"

[retention.audit]
period = "forever"
"#;
    let error = Catalog::parse("shop.toml", text).unwrap_err();
    let found: Vec<(usize, usize, &str)> =
        error.diagnostics().iter().map(|d| (d.location().line(), d.location().column(), d.code())).collect();
    assert_eq!(found, [(3, 11, "invalid-version"), (6, 10, "unknown-reference"), (9, 10, "invalid-period")], "{error}");
}

#[test]
fn suppressions_silence_exactly_their_rule() {
    let text = r#"[catalog]
name = "shop"
version = "1.0.0"

[events.OrderPlaced]
description = "Legacy name."
trigger = "t"
allow = { naming-convention = "the legacy wire name; renaming splits the history" }
properties.customerEmail = { type = "string" }
"#;
    let catalog = Catalog::parse("shop.toml", text).unwrap();
    let found: Vec<String> = catalog
        .lint()
        .iter()
        .map(|d| format!("{}:{} {}", d.location().line(), d.location().column(), d.code()))
        .collect();
    // The event's allow covers its properties' naming too, but not their privacy.
    assert_eq!(found, ["9:12 personal-data-unclassified"]);
}

#[test]
fn lint_levels_override_severities() {
    let text = r#"[catalog]
name = "shop"
version = "1.0.0"

[lints]
missing-trigger = "error"
missing-description = "allow"

[events."order.placed"]
"#;
    let catalog = Catalog::parse("shop.toml", text).unwrap();
    let found: Vec<String> = catalog.lint().iter().map(|d| format!("{}[{}]", d.severity(), d.code())).collect();
    assert_eq!(found, ["error[missing-trigger]"]);
}
