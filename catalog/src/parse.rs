//! From TOML text to a [`CatalogFile`], reporting every error it can find in one pass.
//!
//! serde stops at the first error. To report them all, the text is parsed once into a
//! span-carrying tree; each failed deserialization is recorded, the offending entry repaired
//! in the tree (a misspelled key or value replaced by the closest valid one, anything else
//! removed), and deserialization runs again. The repaired file is returned with the errors,
//! so the structural checks can run on it too: one `tally check` shows every mistake.

use std::borrow::Cow;
use std::ops::Range;

use serde::Deserialize;
use serde_spanned::Spanned;
use toml::de::{DeTable, DeValue, Deserializer};

use crate::diagnostic::{Diagnostic, Severity, Source};
use crate::model::CatalogFile;
use crate::suggest;

/// More errors than this in one file are not worth another round.
const MAX_ERRORS: usize = 200;

/// What parsing found: the file as far as it could be read (`None` when the TOML itself is
/// broken or nothing could be repaired), and every error, in the order found.
pub(crate) struct Parsed {
    pub(crate) file: Option<CatalogFile>,
    pub(crate) errors: Vec<Diagnostic>,
}

/// Deserializes the text, collecting every error.
pub(crate) fn parse(source: &Source) -> Parsed {
    let (mut root, syntax) = DeTable::parse_recoverable(source.text());
    if !syntax.is_empty() {
        // The tree after a syntax error is a guess: report the syntax errors alone.
        let errors = syntax.iter().map(|error| diagnostic(source, error)).collect();
        return Parsed { file: None, errors };
    }
    let mut errors: Vec<Diagnostic> = Vec::new();
    // The spans of the tables a repair changed: a key missing from one of them is a
    // consequence of an error already reported, not news.
    let mut touched: Vec<Range<usize>> = Vec::new();
    let root_span = root.span();
    for _ in 0..MAX_ERRORS {
        let error = match CatalogFile::deserialize(Deserializer::from(root.clone())) {
            Ok(file) => return Parsed { file: Some(file), errors },
            Err(error) => error,
        };
        let found = diagnostic(source, &error);
        let span = error.span();
        let consequence = found.code == "missing-key" && span.as_ref().is_some_and(|span| touched.contains(span));
        if !consequence && !errors.contains(&found) {
            errors.push(found.clone());
        }
        let fix = fix_for(&found);
        let repaired = span.is_some_and(|span| repair(root.get_mut(), &root_span, &span, &fix, &mut touched));
        if !repaired {
            break;
        }
    }
    Parsed { file: None, errors }
}

/// One TOML or serde error as a diagnostic at the offending token.
fn diagnostic(source: &Source, error: &toml::de::Error) -> Diagnostic {
    let span = error.span().unwrap_or(0..0);
    let message = error.message().trim_end().to_owned();
    let (code, help) = classify(&message);
    // TOML's "duplicate key" does not say which one; the span does.
    let message = match source.text().get(span.clone()).map(|key| key.trim_matches(['"', '\''])) {
        Some(key) if code == "duplicate-key" && !key.is_empty() && !message.contains('`') => {
            format!("{message} `{key}`")
        }
        _ => message,
    };
    source.diagnostic(Severity::Error, code, span, message, help)
}

/// How to repair the tree after an error, so the next round gets further.
enum Fix {
    /// Give the key at the span this name (a misspelled key).
    RenameKey(String),
    /// Give the value at the span this string (a misspelled value).
    Replace(String),
    /// Remove the entry whose key or value is at the span (or whose table lacks a key).
    Remove,
}

fn fix_for(found: &Diagnostic) -> Fix {
    let suggestion = found.help.as_deref().and_then(|help| help.strip_prefix("did you mean `")?.strip_suffix("`?"));
    match (found.code, suggestion) {
        ("unknown-key", Some(name)) => Fix::RenameKey(name.to_owned()),
        ("unknown-value", Some(value)) => Fix::Replace(value.to_owned()),
        _ => Fix::Remove,
    }
}

/// Applies `fix` to the entry at `span` anywhere in `table` (whose own span is `table_span`);
/// whether one was found. The span of the table changed is added to `touched`.
fn repair(
    table: &mut DeTable<'_>,
    table_span: &Range<usize>,
    span: &Range<usize>,
    fix: &Fix,
    touched: &mut Vec<Range<usize>>,
) -> bool {
    let hit =
        table.iter().find(|(key, value)| key.span() == *span || value.span() == *span).map(|(key, _)| key.clone());
    if let Some(key) = hit {
        match fix {
            Fix::RenameKey(name) if key.span() == *span && !table.contains_key(name.as_str()) => {
                // Rebuilt rather than removed and inserted, to keep the file order.
                *table = std::mem::take(table)
                    .into_iter()
                    .map(|(k, v)| if k == key { (Spanned::new(k.span(), Cow::Owned(name.clone())), v) } else { (k, v) })
                    .collect();
            }
            Fix::Replace(text) if table.get(&key).is_some_and(|value| value.get_ref().is_str()) => {
                if let Some(value) = table.get_mut(&key) {
                    *value = Spanned::new(value.span(), DeValue::String(Cow::Owned(text.clone())));
                }
            }
            _ => {
                table.remove(&key);
                touched.push(table_span.clone());
            }
        }
        return true;
    }
    table.iter_mut().any(|(_, value)| {
        let value_span = value.span();
        repair_value(value.get_mut(), &value_span, span, fix, touched)
    })
}

fn repair_value(
    value: &mut DeValue<'_>,
    value_span: &Range<usize>,
    span: &Range<usize>,
    fix: &Fix,
    touched: &mut Vec<Range<usize>>,
) -> bool {
    match value {
        DeValue::Table(table) => repair(table, value_span, span, fix, touched),
        DeValue::Array(items) => {
            if items.iter().any(|item| item.span() == *span) {
                *items = std::mem::replace(items, toml::de::DeArray::new())
                    .into_iter()
                    .filter_map(|item| match fix {
                        _ if item.span() != *span => Some(item),
                        Fix::Replace(text) if item.get_ref().is_str() => {
                            Some(Spanned::new(item.span(), DeValue::String(Cow::Owned(text.clone()))))
                        }
                        _ => None,
                    })
                    .collect();
                return true;
            }
            items.iter_mut().any(|item| {
                let item_span = item.span();
                repair_value(item.get_mut(), &item_span, span, fix, touched)
            })
        }
        _ => false,
    }
}

/// A stable code for a serde/TOML message and, for a misspelled key or value, the closest
/// valid one.
fn classify(message: &str) -> (&'static str, Option<String>) {
    for (prefix, code) in [("unknown field `", "unknown-key"), ("unknown variant `", "unknown-value")] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let Some((found, expected)) = rest.split_once('`') else { break };
            let valid = backticked(expected);
            let help = suggest::hint(found, valid.iter().copied())
                .or_else(|| (!valid.is_empty()).then(|| format!("valid: {}", valid.join(", "))));
            return (code, help);
        }
    }
    if message.starts_with("missing field") {
        return ("missing-key", Some("add the key; docs/catalog.md lists what each table needs".into()));
    }
    if message.contains("duplicate key") {
        return ("duplicate-key", Some("each name may be defined once; merge or rename one of them".into()));
    }
    if message.starts_with("invalid type") {
        return ("invalid-type", None);
    }
    if message.starts_with("unknown fill source") {
        return ("unknown-value", None);
    }
    ("toml-syntax", None)
}

/// The names between backticks in serde's "expected one of `a`, `b`".
fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}
