//! The last gate: every string that leaves the process (the wire, a JSON line, a log line,
//! an error's text) is written through these functions.
//!
//! - Free text ([`text`], [`json`]): personal data and secrets are replaced by a placeholder,
//!   in values at any depth, array items and object keys.
//! - Identifiers ([`looks_personal`]): never placeholdered, since that would merge people;
//!   the caller refuses the event (or the catalog pseudonymizes the identity kind first).
//! - Names in violations and logs ([`name`]): a property or event name that came from outside
//!   (a client's JSON, a tracing field) is scrubbed like free text.
//!
//! The catalog's `privacy = "allowed"` (with a reason) is the only way past; values the
//! catalog treated (hashed, anonymized) and values tally made (ids, times) skip it, which the
//! compiled plan decides once per property ([`crate::plan::Gate`]).

use serde_json::{Map, Value};

use crate::privacy;

/// Scrubs free text in place; the number of values replaced.
pub(crate) fn text(text: &mut String) -> usize {
    privacy::scrub(text)
}

/// Scrubs every string of a JSON value, object keys included; the number replaced.
pub(crate) fn json(value: &mut Value) -> usize {
    match value {
        Value::String(s) => text(s),
        Value::Array(items) => items.iter_mut().map(json).sum(),
        Value::Object(map) => {
            let mut count = 0;
            // Keys are rewritten only when one needs it: most objects pass untouched.
            if map.keys().any(|key| needs_scrub(key)) {
                let old = std::mem::take(map);
                let mut out = Map::with_capacity(old.len());
                for (mut key, value) in old {
                    count += text(&mut key);
                    out.insert(key, value);
                }
                *map = out;
            }
            count + map.values_mut().map(json).sum::<usize>()
        }
        _ => 0,
    }
}

fn needs_scrub(key: &str) -> bool {
    let mut copy = key.to_owned();
    text(&mut copy) > 0
}

/// A name (of a property, an event) as it may appear in a violation or a log line.
pub(crate) fn name(name: &str) -> String {
    let mut name = name.to_owned();
    text(&mut name);
    name
}

/// The rule an identifier breaks by looking personal (an email, an IP address, a token, a
/// card number), if any.
pub(crate) fn looks_personal(id: &str) -> Option<&'static str> {
    let mut scrubbed = id.to_owned();
    if text(&mut scrubbed) == 0 {
        return None;
    }
    const RULES: [(&str, &str); 4] =
        [("[email]", "email"), ("[ip]", "ip address"), ("[token]", "token"), ("[card]", "card number")];
    Some(RULES.iter().find(|(placeholder, _)| scrubbed.contains(placeholder)).map_or("personal data", |(_, rule)| rule))
}

/// Whether PostHog's ingestion refuses to merge persons under `id` (it piles every such
/// event onto one junk person): whitespace-only ids and a fixed list, case-insensitive.
pub(crate) fn is_illegal_distinct_id(id: &str) -> bool {
    const ILLEGAL: [&str; 15] = [
        "anonymous",
        "guest",
        "distinctid",
        "distinct_id",
        "id",
        "not_authenticated",
        "email",
        "undefined",
        "true",
        "false",
        "null",
        "none",
        "nan",
        "0",
        "[object object]",
    ];
    let id = id.trim();
    id.is_empty() || ILLEGAL.iter().any(|illegal| id.eq_ignore_ascii_case(illegal))
}
