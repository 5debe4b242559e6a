//! The last gate: every string that leaves the process (the wire, a JSON line, a log line,
//! an error's text) is written through these functions.
//!
//! - Free text ([`value`]): personal data and secrets are replaced by a placeholder,
//!   in values at any depth, array items and object keys, and card numbers given as numbers.
//! - Identifiers ([`looks_personal`]): never placeholdered, since that would merge people;
//!   the caller refuses the event (or the catalog pseudonymizes the identity kind first).
//! - Names in violations and logs ([`name`]): a property or event name that came from outside
//!   (a client's JSON, a tracing field) is scrubbed like free text.
//!
//! The catalog's `privacy = "allowed"` (with a reason) is the only way past; values the
//! catalog treated (hashed, anonymized) and values tally made (ids, times) skip it, which the
//! compiled plan decides once per property ([`crate::plan::Gate`]).

use std::borrow::Cow;

use crate::privacy;
use crate::value::PropertyValue;

/// Scrubs a property value in place: text, a whole number that is a card number, and JSON
/// at any depth (keys included); the number replaced. Text that holds nothing personal is
/// left where it is (no copy).
pub(crate) fn value(value: &mut PropertyValue) -> usize {
    let number = match value {
        PropertyValue::Text(text) => {
            return match privacy::scrub_str(text) {
                (Cow::Borrowed(_), _) => 0,
                (Cow::Owned(scrubbed), count) => {
                    *value = PropertyValue::from(scrubbed);
                    count
                }
            };
        }
        PropertyValue::Json(json) => return privacy::scrub_value(json),
        PropertyValue::Null | PropertyValue::Bool(_) => return 0,
        PropertyValue::UInt(n) => Some(*n),
        PropertyValue::Int(n) => u64::try_from(*n).ok(),
        PropertyValue::Float(x) => privacy::whole(*x),
    };
    match number.and_then(privacy::card_number) {
        Some(placeholder) => {
            *value = PropertyValue::from(placeholder);
            1
        }
        None => 0,
    }
}

/// Free text that leaves in a log line or an error (a sink's error message, which may quote
/// what a server echoed back), scrubbed; borrowed when nothing in it is personal.
pub(crate) fn text(text: &str) -> Cow<'_, str> {
    privacy::scrub_str(text).0
}

/// A name (of a property, an event) as it may appear in a violation or a log line.
pub(crate) fn name(name: &str) -> String {
    privacy::scrub_str(name).0.into_owned()
}

/// What an identifier looks like when it looks personal (`email`, `ip`, `jwt`, …).
pub(crate) fn looks_personal(id: &str) -> Option<&'static str> {
    privacy::personal_category(id).map(privacy::Category::as_str)
}
