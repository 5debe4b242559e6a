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
///
/// A hyphenated UUID is not scanned: no category matches one (a test below holds the detectors
/// to that), and a request id is one on every request event.
pub(crate) fn looks_personal(id: &str) -> Option<&'static str> {
    if privacy::is_uuid(id) {
        return None;
    }
    privacy::personal_category(id).map(privacy::Category::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A UUID is an id even when four of its groups read as a card number (about one v4 UUID
    /// in 20 000): refusing it would refuse a real user's every event. The same digits outside
    /// a UUID are a card.
    #[test]
    fn a_uuid_is_never_a_card_number_but_the_same_digits_outside_one_are() {
        for uuid in ["aaaa4111-1111-1117-0000-000000000000", "AAAA4111-1111-1117-9000-5A7E1F0B9D21"] {
            assert_eq!(looks_personal(uuid), None, "{uuid}");
        }
        for card in [
            "4111-1111-1117-0000",
            "aaaa4111-1111-1117-0000",
            "x-aaaa4111-1111-1117-0000-000000000000",
            "aaaa4111-1111-1117-0000-000000000000-1",
            "aaaa4111-1111-1117-0000-00000000000g",
        ] {
            assert_eq!(looks_personal(card), Some("card"), "{card}");
        }
    }

    /// `looks_personal` skips UUIDs: the detectors must find nothing in one either, wherever a
    /// card number sits in its groups.
    #[test]
    fn the_detectors_find_nothing_in_a_uuid() {
        for card in ["4111111111111111", "5555555555554444", "378282246310005", "6011111111111117"] {
            for filler in ['0', 'a'] {
                for at in 0..=32 - card.len() {
                    let mut hex: String = std::iter::repeat_n(filler, 32).collect();
                    hex.replace_range(at..at + card.len(), card);
                    let uuid =
                        format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]);
                    assert_eq!(privacy::personal_category(&uuid), None, "{uuid}");
                }
            }
        }
    }
}
