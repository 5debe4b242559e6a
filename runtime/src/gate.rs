//! The last gate: every string that leaves the process (the wire, a JSON line, a log line,
//! an error's text) is written through these functions.
//!
//! - Free text ([`json`]): personal data and secrets are replaced by a placeholder,
//!   in values at any depth, array items and object keys.
//! - Identifiers ([`looks_personal`]): never placeholdered, since that would merge people;
//!   the caller refuses the event (or the catalog pseudonymizes the identity kind first).
//! - Names in violations and logs ([`name`]): a property or event name that came from outside
//!   (a client's JSON, a tracing field) is scrubbed like free text.
//!
//! The catalog's `privacy = "allowed"` (with a reason) is the only way past; values the
//! catalog treated (hashed, anonymized) and values tally made (ids, times) skip it, which the
//! compiled plan decides once per property ([`crate::plan::Gate`]).

use serde_json::Value;

use crate::privacy;

/// Scrubs every string of a JSON value, object keys and array items included; the number
/// replaced.
pub(crate) fn json(value: &mut Value) -> usize {
    privacy::scrub_value(value)
}

/// A name (of a property, an event) as it may appear in a violation or a log line.
pub(crate) fn name(name: &str) -> String {
    privacy::scrub_str(name).0.into_owned()
}

/// What an identifier looks like when it looks personal (`email`, `ip`, `jwt`, …).
pub(crate) fn looks_personal(id: &str) -> Option<&'static str> {
    privacy::personal_category(id).map(privacy::Category::as_str)
}
