//! From TOML text to a [`CatalogFile`], with errors that say where and how to fix.

use crate::diagnostic::{CatalogError, Severity, Source};
use crate::model::CatalogFile;
use crate::suggest;

/// Deserializes the text; on failure, one diagnostic at the offending token.
pub(crate) fn parse(source: &Source) -> Result<CatalogFile, CatalogError> {
    toml::from_str::<CatalogFile>(source.text()).map_err(|error| {
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
        CatalogError::single(source.diagnostic(Severity::Error, code, span, message, help))
    })
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
