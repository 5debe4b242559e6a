//! The free-text scrub and the identifier predicate, over the detectors.
//!
//! Cost: a string the prefilter clears (most ids, words, numbers) costs one pass over its
//! bytes and allocates nothing; a string with a candidate runs only the detectors it
//! triggered, and is rewritten once, however many matches it holds.

use std::borrow::Cow;

use super::Category;
use super::detect::{Findings, detect};
use super::prefilter::triggers;

/// Redacts personal data and secrets from free text, each match replaced by its category's
/// placeholder (see [`Category`] and `docs/privacy.md`). Returns the number of redactions.
///
/// ```
/// let mut text = "mail ada@example.com from 10.1.2.3 with BeArEr abc".to_string();
/// assert_eq!(tally_runtime::privacy::scrub(&mut text), 3);
/// assert_eq!(text, "mail [email] from [ip] with [credential]");
/// ```
pub fn scrub(text: &mut String) -> usize {
    match scrub_str(text) {
        (Cow::Borrowed(_), _) => 0,
        (Cow::Owned(scrubbed), count) => {
            *text = scrubbed;
            count
        }
    }
}

/// [`scrub`] for a borrowed string: `(Cow::Borrowed(text), 0)` when nothing matched (no
/// allocation), else the scrubbed copy and the number of redactions.
///
/// ```
/// use std::borrow::Cow;
/// let (clean, n) = tally_runtime::privacy::scrub_str("order-1234");
/// assert!(matches!(clean, Cow::Borrowed("order-1234")) && n == 0);
/// let (scrubbed, n) = tally_runtime::privacy::scrub_str("https://ada:pw@example.com/?sig=abc&page=2");
/// assert_eq!((scrubbed.as_ref(), n), ("https://[url-credential]@example.com/?sig=[url-credential]&page=2", 2));
/// ```
pub fn scrub_str(text: &str) -> (Cow<'_, str>, usize) {
    let triggered = triggers(text);
    if !triggered.any() {
        return (Cow::Borrowed(text), 0);
    }
    let mut found = Findings::new();
    detect(text, triggered, false, &mut found);
    if found.is_empty() {
        return (Cow::Borrowed(text), 0);
    }
    // Leftmost first; at the same start the category listed first in `Category::ALL`, then
    // the longest. A match that starts inside a kept one is dropped.
    found.sort_unstable_by(|a, b| (a.span.start, a.category, b.span.end).cmp(&(b.span.start, b.category, a.span.end)));
    let mut out = String::with_capacity(text.len());
    let (mut last, mut count) = (0, 0);
    for hit in &found {
        if hit.span.start < last {
            continue;
        }
        out.push_str(&text[last..hit.span.start]);
        out.push_str(hit.category.placeholder());
        last = hit.span.end;
        count += 1;
    }
    out.push_str(&text[last..]);
    (Cow::Owned(out), count)
}

/// Whether an identifier (a distinct_id, group key, session id, request id) looks personal,
/// and as what: it holds an email, an IP address, a JWT, a credential, a card number or a
/// secret anywhere in it. `None` for ordinary ids (UUIDs, `u-7`, keyed hashes).
///
/// Identifiers are never scrubbed into placeholders (that would merge people): the pipeline
/// pseudonymizes a personal one where the catalog says so, and refuses and counts it
/// otherwise.
///
/// ```
/// use tally_runtime::privacy::{Category, personal_category};
/// assert_eq!(personal_category("ada@example.com"), Some(Category::Email));
/// assert_eq!(personal_category("tp.203.0.113.7"), Some(Category::Ip));
/// assert_eq!(personal_category("0b8e2a4c-6f1d-4d2e-9c33-5a7e1f0b9d21"), None);
/// ```
pub fn personal_category(text: &str) -> Option<Category> {
    let triggered = triggers(text);
    if !triggered.any() {
        return None;
    }
    let mut found = Findings::new();
    detect(text, triggered, true, &mut found);
    found.first().map(|hit| hit.category)
}

/// The placeholder for a whole number that is a payment card number (13-19 digits, issuer
/// and Luhn checked, as in text): a card given as a JSON number is scrubbed like one given as
/// text. `None` for any other number, without formatting it unless it has 13 digits or more.
///
/// ```
/// assert_eq!(tally_runtime::privacy::card_number(4111111111111111), Some("[card]"));
/// assert_eq!(tally_runtime::privacy::card_number(1712345678901), None, "a millisecond timestamp");
/// ```
pub fn card_number(n: u64) -> Option<&'static str> {
    if n < 1_000_000_000_000 {
        return None;
    }
    let text = n.to_string();
    (personal_category(&text) == Some(Category::Card)).then_some(Category::Card.placeholder())
}

/// A float that holds a whole number a `u64` represents exactly, as that number.
pub(crate) fn whole(x: f64) -> Option<u64> {
    // 2^53: past it, a float no longer tells neighbouring integers apart.
    (x.fract() == 0.0 && (0.0..9_007_199_254_740_992.0).contains(&x)).then_some(x as u64)
}
