//! PostHog's input rules for one event, checked before batching so that one bad event is
//! refused and counted alone instead of costing its batch or piling onto a junk person.
//!
//! Sources (PostHog's own code):
//! - capture (`rust/capture`, `extract_distinct_id`): a missing or empty `distinct_id`, or an
//!   empty `event`, fails the whole request with 400; a `distinct_id` longer than 200
//!   characters is *truncated* to 200.
//! - ingestion (`nodejs/src/…/persons/person-utils.ts`, `isDistinctIdIllegal`, mirrored in
//!   personhog's Rust): an id that is blank after JavaScript's `trim()`, or one of a fixed list
//!   (some in any case, some only as written, each also wrapped in `'…'` or `"…"`), is
//!   illegal: PostHog refuses to merge or identify with it, so every such event lands on one
//!   junk person.
//!
//! tally refuses rather than truncates an over-long id: two ids that share their first 200
//! characters would otherwise become one person.

use std::fmt;

/// The most characters of a `distinct_id` PostHog keeps (capture truncates the rest).
pub const MAX_DISTINCT_ID_CHARS: usize = 200;

/// Ids PostHog treats as illegal in any letter case (`Guest`, `NOT_AUTHENTICATED`).
const ILLEGAL_ANY_CASE: [&str; 10] = [
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
];

/// Ids PostHog treats as illegal only exactly as written (`NaN`, but not `nan` or `NULL`).
const ILLEGAL_AS_WRITTEN: [&str; 7] = ["[object Object]", "NaN", "None", "none", "null", "0", "undefined"];

/// Why PostHog would not take a `distinct_id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DistinctIdProblem {
    /// The empty string: capture rejects the whole batch.
    Empty,
    /// Only white space (as JavaScript's `trim()` sees it: tabs, no-break spaces, …).
    Blank,
    /// Longer than [`MAX_DISTINCT_ID_CHARS`] characters.
    TooLong,
    /// On PostHog's list of ids that stem from a bug (`anonymous`, `null`, `[object Object]`, …).
    Illegal,
}

impl DistinctIdProblem {
    /// A stable name for counters and warnings: `empty`, `blank`, `too_long`, `illegal`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DistinctIdProblem::Empty => "empty",
            DistinctIdProblem::Blank => "blank",
            DistinctIdProblem::TooLong => "too_long",
            DistinctIdProblem::Illegal => "illegal",
        }
    }
}

impl fmt::Display for DistinctIdProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DistinctIdProblem::Empty => "the distinct_id is empty",
            DistinctIdProblem::Blank => "the distinct_id is only white space",
            DistinctIdProblem::TooLong => "the distinct_id is longer than PostHog's 200 characters",
            DistinctIdProblem::Illegal => "the distinct_id is one PostHog treats as illegal (e.g. `anonymous`, `null`)",
        })
    }
}

/// Checks a `distinct_id` against PostHog's rules. The message of the error never repeats the
/// id (it may be personal).
///
/// ```
/// use tally_runtime::posthog_rules::{DistinctIdProblem, check_distinct_id};
/// assert_eq!(check_distinct_id("u-7"), Ok(()));
/// assert_eq!(check_distinct_id("\u{a0}\t"), Err(DistinctIdProblem::Blank));
/// assert_eq!(check_distinct_id("Anonymous"), Err(DistinctIdProblem::Illegal));
/// assert_eq!(check_distinct_id("nan"), Ok(())); // only `NaN` as written
/// ```
pub fn check_distinct_id(id: &str) -> Result<(), DistinctIdProblem> {
    if id.is_empty() {
        Err(DistinctIdProblem::Empty)
    } else if is_js_blank(id) {
        Err(DistinctIdProblem::Blank)
    } else if is_illegal_distinct_id(id) {
        Err(DistinctIdProblem::Illegal)
    } else if id.chars().nth(MAX_DISTINCT_ID_CHARS).is_some() {
        Err(DistinctIdProblem::TooLong)
    } else {
        Ok(())
    }
}

/// Exactly PostHog's `isDistinctIdIllegal`: blank after JavaScript's `trim()`, or on one of
/// its two lists, bare or wrapped in single or double quotes. Not trimmed before the lists
/// are compared (`" guest"` is legal).
pub fn is_illegal_distinct_id(id: &str) -> bool {
    if is_js_blank(id) {
        return true;
    }
    let bare = unquote(id);
    // PostHog lower-cases with JavaScript's `toLowerCase`; no non-ASCII character lowers to
    // a string of these ASCII words (U+212A KELVIN SIGN lowers to `k`, in none of them), so an
    // ASCII case-insensitive comparison decides the same.
    [id, bare].iter().any(|candidate| {
        ILLEGAL_ANY_CASE.iter().any(|illegal| candidate.eq_ignore_ascii_case(illegal))
            || ILLEGAL_AS_WRITTEN.contains(candidate)
    })
}

/// The text between a matching pair of `'` or `"` around the whole id, else the id.
fn unquote(id: &str) -> &str {
    for quote in ['\'', '"'] {
        if let Some(inner) = id.strip_prefix(quote).and_then(|rest| rest.strip_suffix(quote)) {
            return inner;
        }
    }
    id
}

/// Whether JavaScript's `String.prototype.trim` leaves nothing: ECMAScript WhiteSpace and
/// LineTerminator, which differ from Rust's `char::is_whitespace` (JS strips U+FEFF and keeps
/// U+0085).
fn is_js_blank(text: &str) -> bool {
    text.chars().all(|c| {
        matches!(
            c,
            '\t' | '\n' | '\u{000B}' | '\u{000C}' | '\r' | ' ' | '\u{00A0}' | '\u{1680}' | '\u{2000}'
                ..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}' | '\u{FEFF}'
        )
    })
}

/// Why PostHog would not take an event name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventNameProblem {
    /// The empty string: capture rejects the whole batch.
    Empty,
    /// Only white space: capture takes it, but no one can query it.
    Blank,
}

impl EventNameProblem {
    /// A stable name for counters and warnings: `empty`, `blank`.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventNameProblem::Empty => "empty",
            EventNameProblem::Blank => "blank",
        }
    }
}

impl fmt::Display for EventNameProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EventNameProblem::Empty => "the event name is empty",
            EventNameProblem::Blank => "the event name is only white space",
        })
    }
}

/// Checks an event name: not empty, not blank.
pub fn check_event_name(name: &str) -> Result<(), EventNameProblem> {
    if name.is_empty() {
        Err(EventNameProblem::Empty)
    } else if is_js_blank(name) {
        Err(EventNameProblem::Blank)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_ids_as_posthog_judges_them() {
        use DistinctIdProblem::*;
        let long = "x".repeat(MAX_DISTINCT_ID_CHARS);
        let too_long = "x".repeat(MAX_DISTINCT_ID_CHARS + 1);
        let long_multibyte = "é".repeat(MAX_DISTINCT_ID_CHARS); // 400 bytes, 200 characters
        let table: &[(&str, Result<(), DistinctIdProblem>)] = &[
            ("", Err(Empty)),
            (" ", Err(Blank)),
            ("\t", Err(Blank)),
            ("   ", Err(Blank)),
            ("\u{a0}", Err(Blank)),
            ("\u{feff}", Err(Blank)),
            ("\u{3000}\n", Err(Blank)),
            ("\u{85}", Ok(())), // NEL: Rust calls it white space, JavaScript's trim keeps it
            ("anonymous", Err(Illegal)),
            ("Anonymous", Err(Illegal)),
            ("GUEST", Err(Illegal)),
            ("distinctid", Err(Illegal)),
            ("distinct_id", Err(Illegal)),
            ("id", Err(Illegal)),
            ("ID", Err(Illegal)),
            ("not_authenticated", Err(Illegal)),
            ("email", Err(Illegal)),
            ("undefined", Err(Illegal)),
            ("UnDeFiNeD", Err(Illegal)),
            ("true", Err(Illegal)),
            ("False", Err(Illegal)),
            ("\"anonymous\"", Err(Illegal)),
            ("'Guest'", Err(Illegal)),
            ("[object Object]", Err(Illegal)),
            ("[object object]", Ok(())),
            ("NaN", Err(Illegal)),
            ("nan", Ok(())),
            ("None", Err(Illegal)),
            ("none", Err(Illegal)),
            ("NONE", Ok(())),
            ("null", Err(Illegal)),
            ("NULL", Ok(())),
            ("\"null\"", Err(Illegal)),
            ("'0'", Err(Illegal)),
            ("0", Err(Illegal)),
            ("00", Ok(())),
            (" guest", Ok(())),
            ("'guest\"", Ok(())),
            ("guest-7", Ok(())),
            ("u-7", Ok(())),
            ("0b8e2a4c-6f1d-4d2e-9c33-5a7e1f0b9d21", Ok(())),
            (&long, Ok(())),
            (&long_multibyte, Ok(())),
            (&too_long, Err(TooLong)),
        ];
        for (id, expected) in table {
            assert_eq!(check_distinct_id(id), *expected, "{id:?}");
        }
    }

    #[test]
    fn event_names() {
        assert_eq!(check_event_name("order.placed"), Ok(()));
        assert_eq!(check_event_name(""), Err(EventNameProblem::Empty));
        assert_eq!(check_event_name(" \t"), Err(EventNameProblem::Blank));
    }
}
