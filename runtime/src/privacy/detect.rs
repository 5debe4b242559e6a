//! The detectors: one regex per shape, each with the checks a regex cannot make (Luhn,
//! address parsing, boundaries), run only when the prefilter says they could match.
//!
//! A detector reports the span to replace, which can be narrower than what it matched: a URL
//! keeps its scheme and host (`https://[url-credential]@example.com`), a query parameter its
//! name (`?token=[url-credential]`).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use smallvec::SmallVec;

use super::Category;
use super::prefilter::Triggers;

/// One thing found: where, and what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Found {
    pub(super) span: Range<usize>,
    pub(super) category: Category,
}

/// Matches found in one string; inline for the common case of a few.
pub(super) type Findings = SmallVec<[Found; 4]>;

/// The names of query parameters and `key=value` pairs whose value is a credential.
const SECRET_PARAMS: &str = "access_token|refresh_token|id_token|auth_token|token|api_key|apikey|api-key|\
     key|client_secret|secret|password|passwd|pwd|sig|signature|x-amz-signature|x-amz-credential|\
     x-amz-security-token|x-goog-signature|x-goog-credential";

struct Detectors {
    email: Regex,
    url_userinfo: Regex,
    params: Regex,
    ipv6: Regex,
    jwt: Regex,
    auth: Regex,
    token_formats: Regex,
    aws_secret: Regex,
    pem: Regex,
}

// The patterns are literals known to compile (the unit tests build them); `Regex::new` on them
// cannot be influenced by users.
#[allow(clippy::expect_used)]
static DETECTORS: LazyLock<Detectors> = LazyLock::new(|| {
    let re = |pattern: &str| Regex::new(pattern).expect("privacy patterns are valid");
    Detectors {
        // Local part and domain in any script (`\w` is Unicode); the top-level domain is
        // letters only, so `lodash@4.17.21` is not an address.
        email: re(r"[\w.+%-]+(?:@|%40)[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}"),
        url_userinfo: re(r"(?i)[a-z][a-z0-9+.-]*://[^\s/?#@]+@"),
        params: re(&format!(r"(?i)(?:^|[?&;#\s,])(?:{SECRET_PARAMS})=[^&#\s]+")),
        ipv6: re(r"(?i)(?:[0-9a-f]{0,4}:){2,7}(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9a-f]{1,4})?(?:%[0-9a-z._-]+)?"),
        jwt: re(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
        auth: re(r"(?i)(?-u:\b)(bearer|basic)[ \t\r\n]+[A-Za-z0-9._~+/-]+=*"),
        token_formats: re(concat!(
            r"(?-u:\b)(?:",
            // AWS access key ids (long-term AKIA, temporary ASIA, and the other documented prefixes).
            r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA)[A-Z0-9]{16}",
            // GitHub: personal, OAuth, user-to-server, server-to-server, refresh; fine-grained.
            r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{20,}",
            // Stripe secret and restricted keys, live and test.
            r"|[rs]k_(?:live|test)_[A-Za-z0-9]{10,}",
            // Slack bot, user, app, refresh, config tokens.
            r"|xox[abeoprs]-[A-Za-z0-9-]{10,}",
            r")(?-u:\b)"
        )),
        aws_secret: re(r"[A-Za-z0-9+/]{40,}"),
        // A whole block, or a truncated one up to the end of the text.
        pem: re(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)"),
    }
});

/// Runs the triggered detectors over `text`, appending what they find (unordered, possibly
/// overlapping). With `first_only`, stops at the first find.
pub(super) fn detect(text: &str, triggers: Triggers, first_only: bool, found: &mut Findings) {
    let d = &*DETECTORS;
    let bytes = text.as_bytes();
    macro_rules! run {
        ($on:expr, $regex:expr, |$m:ident| $accept:expr) => {
            if $on {
                for $m in $regex.find_iter(text) {
                    if let Some(hit) = $accept {
                        found.push(hit);
                        if first_only {
                            return;
                        }
                    }
                }
            }
        };
    }
    run!(triggers.pem, d.pem, |m| Some(Found { span: m.range(), category: Category::Secret }));
    run!(triggers.token_formats, d.token_formats, |m| Some(Found { span: m.range(), category: Category::Secret }));
    run!(triggers.aws_secret, d.aws_secret, |m| aws_secret(bytes, m.range())
        .then(|| Found { span: m.range(), category: Category::Secret }));
    run!(triggers.url_userinfo, d.url_userinfo, |m| {
        let userinfo = m.as_str().find("://").map(|at| m.start() + at + 3..m.end() - 1);
        userinfo.filter(|span| !span.is_empty()).map(|span| Found { span, category: Category::UrlCredential })
    });
    run!(triggers.params, d.params, |m| secret_param(text, m.range()));
    run!(triggers.auth, d.auth, |m| auth(m.as_str())
        .then(|| Found { span: m.range(), category: Category::Credential }));
    run!(triggers.jwt, d.jwt, |m| Some(Found { span: m.range(), category: Category::Jwt }));
    run!(triggers.email, d.email, |m| Some(Found { span: m.range(), category: Category::Email }));
    // IPv4 addresses and card numbers are runs of digits with dots or separators: scanned
    // directly, which costs a user agent full of versions far less than a regex would.
    if triggers.ipv4 {
        for span in dotted_runs(bytes) {
            if ipv4(bytes, span.clone()) {
                found.push(Found { span, category: Category::Ip });
                if first_only {
                    return;
                }
            }
        }
    }
    run!(triggers.ipv6, d.ipv6, |m| ipv6(bytes, m.range()).then(|| Found { span: m.range(), category: Category::Ip }));
    if triggers.card {
        for run in card_runs(bytes) {
            for span in cards_in_run(bytes, run) {
                found.push(Found { span, category: Category::Card });
                if first_only {
                    return;
                }
            }
        }
    }
}

/// Maximal runs of digits and dots that start with a digit, trailing dots left out
/// (`10.0.0.1.` at the end of a sentence is `10.0.0.1`).
fn dotted_runs(bytes: &[u8]) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        let start = at + bytes.get(at..)?.iter().position(u8::is_ascii_digit)?;
        let len =
            bytes[start..].iter().position(|b| !(b.is_ascii_digit() || *b == b'.')).unwrap_or(bytes.len() - start);
        at = start + len;
        let end = start + bytes[start..at].iter().rposition(u8::is_ascii_digit).map_or(0, |last| last + 1);
        Some(start..end)
    })
}

/// Maximal runs of digits where a single space, dash or dot may separate two digits.
fn card_runs(bytes: &[u8]) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        let start = at + bytes.get(at..)?.iter().position(u8::is_ascii_digit)?;
        let mut end = start + 1;
        loop {
            match (bytes.get(end), bytes.get(end + 1)) {
                (Some(next), _) if next.is_ascii_digit() => end += 1,
                (Some(b' ' | b'-' | b'.'), Some(next)) if next.is_ascii_digit() => end += 2,
                _ => break,
            }
        }
        at = end;
        Some(start..end)
    })
}

/// The card numbers in a run: the whole run, or else runs of its separated groups, longest
/// first (a card after a phone number: `555 1234 4111 1111 1111 1111`).
fn cards_in_run(bytes: &[u8], run: Range<usize>) -> SmallVec<[Range<usize>; 1]> {
    let mut cards = SmallVec::new();
    if card(bytes, run.clone()) {
        cards.push(run);
        return cards;
    }
    let mut groups: SmallVec<[Range<usize>; 8]> = SmallVec::new();
    let mut start = run.start;
    for at in run.clone() {
        if !bytes[at].is_ascii_digit() {
            groups.push(start..at);
            start = at + 1;
        }
    }
    groups.push(start..run.end);
    let mut first = 0;
    while first + 1 < groups.len() {
        let found = (first + 1..groups.len())
            .rev()
            .map(|last| (last, groups[first].start..groups[last].end))
            .find(|(last, span)| *last > first && span.len() <= 23 && card(bytes, span.clone()));
        match found {
            Some((last, span)) => {
                cards.push(span);
                first = last + 1;
            }
            None => first += 1,
        }
    }
    cards
}

fn before(bytes: &[u8], span: &Range<usize>) -> Option<u8> {
    span.start.checked_sub(1).and_then(|at| bytes.get(at).copied())
}

fn after(bytes: &[u8], span: &Range<usize>) -> Option<u8> {
    bytes.get(span.end).copied()
}

/// `?token=…` keeps `?token=`; the value is replaced. After `?&;#` it is a URL's parameter,
/// after white space or at the start a `key=value` pair in free text.
fn secret_param(text: &str, span: Range<usize>) -> Option<Found> {
    let matched = &text[span.clone()];
    let equals = matched.find('=')?;
    let category = match matched.as_bytes().first() {
        Some(b'?' | b'&' | b';' | b'#') => Category::UrlCredential,
        _ => Category::Credential,
    };
    Some(Found { span: span.start + equals + 1..span.end, category })
}

/// `Basic` must carry base64 of `user:password`, so that "basic plan" stays; any token after
/// `Bearer` is a credential.
fn auth(matched: &str) -> bool {
    let Some(split) = matched.find(|c: char| c.is_ascii_whitespace()) else {
        return false;
    };
    let (scheme, rest) = matched.split_at(split);
    let token = rest.trim_start();
    if scheme.eq_ignore_ascii_case("basic") { base64_has_colon(token) } else { token.len() >= 3 }
}

/// Decodes standard base64 (padding optional) and says whether the text holds a `:`.
fn base64_has_colon(token: &str) -> bool {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    };
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in token.trim_end_matches('=').as_bytes() {
        let Some(v) = value(c) else { return false };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            if (acc >> bits) & 0xff == u32::from(b':') {
                return true;
            }
        }
    }
    false
}

/// An AWS secret access key: exactly 40 base64 characters, not part of a longer blob, with
/// upper case, lower case and a digit (so hex digests and paths stay).
fn aws_secret(bytes: &[u8], span: Range<usize>) -> bool {
    let key = &bytes[span.clone()];
    key.len() == 40
        && !matches!(before(bytes, &span), Some(b'-' | b'_'))
        && !matches!(after(bytes, &span), Some(b'=' | b'-' | b'_'))
        && key.iter().any(u8::is_ascii_uppercase)
        && key.iter().any(u8::is_ascii_lowercase)
        && key.iter().any(u8::is_ascii_digit)
        && key.first() != Some(&b'/')
        && key.iter().filter(|&&b| b == b'/').count() <= 3
}

/// An IPv4 address standing alone: not a piece of a longer dotted number (`1.2.3.4.5`), not a
/// version glued to a letter (`v1.2.3.4`), not a browser version (`Chrome/120.0.0.0`).
fn ipv4(bytes: &[u8], span: Range<usize>) -> bool {
    let prev = before(bytes, &span);
    let dotted_number = prev == Some(b'.') && span.start >= 2 && bytes[span.start - 2].is_ascii_digit();
    if prev.is_some_and(|b| b.is_ascii_alphanumeric()) || dotted_number {
        return false;
    }
    let next = after(bytes, &span);
    if next.is_some_and(|b| b.is_ascii_digit())
        || (next == Some(b'.') && bytes.get(span.end + 1).is_some_and(u8::is_ascii_digit))
    {
        return false;
    }
    let Some(text) = std::str::from_utf8(&bytes[span.clone()]).ok() else {
        return false;
    };
    let Ok(ip) = text.parse::<Ipv4Addr>() else {
        return false;
    };
    // `Product/120.0.0.0`: the reduced user agents' version, not a host address.
    let [_, _, c, d] = ip.octets();
    let product_version =
        prev == Some(b'/') && span.start >= 2 && bytes[span.start - 2].is_ascii_alphanumeric() && c == 0 && d == 0;
    !product_version
}

/// An IPv6 address standing alone (not `std::fmt`, not `12:30:45`), zone allowed.
fn ipv6(bytes: &[u8], span: Range<usize>) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b':';
    if before(bytes, &span).is_some_and(word) || after(bytes, &span).is_some_and(word) {
        return false;
    }
    let Some(text) = std::str::from_utf8(&bytes[span]).ok() else {
        return false;
    };
    let address = text.split_once('%').map_or(text, |(address, _zone)| address);
    address != "::" && address.parse::<Ipv6Addr>().is_ok()
}

/// A card number: 13-19 digits not glued to other digits, grouped as cards are when
/// separated, an issuer prefix that fits the length, and a valid Luhn check digit. Digits
/// inside a hex token (`deadbeef4111…`) are part of a digest, not a card.
fn card(bytes: &[u8], span: Range<usize>) -> bool {
    if before(bytes, &span).is_some_and(|b| b.is_ascii_digit())
        || after(bytes, &span).is_some_and(|b| b.is_ascii_digit())
    {
        return false;
    }
    let candidate = &bytes[span.clone()];
    let mut digits: SmallVec<[u8; 19]> = SmallVec::new();
    let mut groups: SmallVec<[usize; 8]> = SmallVec::new();
    let mut group = 0;
    for &b in candidate {
        if b.is_ascii_digit() {
            digits.push(b - b'0');
            group += 1;
        } else {
            groups.push(group);
            group = 0;
        }
    }
    groups.push(group);
    if !(13..=19).contains(&digits.len()) || !grouped_like_a_card(&groups) || !issuer_fits(&digits) {
        return false;
    }
    if in_hex_token(bytes, &span) || in_uuid(bytes, &span) {
        return false;
    }
    luhn(&digits)
}

/// Whether the span lies in a hyphenated UUID (`8-4-4-4-12` hex digits, not glued to letters,
/// digits or more hyphens). Random UUIDs have four groups of four digits often enough (about one
/// in 20 000 v4 UUIDs) that, read as card numbers, they would get real users' ids refused.
fn in_uuid(bytes: &[u8], span: &Range<usize>) -> bool {
    const LEN: usize = 36;
    let part = |b: &u8| b.is_ascii_hexdigit() || *b == b'-';
    let from = span.start.saturating_sub(LEN);
    let to = bytes.len().min(span.end + LEN);
    let start = bytes[from..span.start].iter().rposition(|b| !part(b)).map_or(from, |at| from + at + 1);
    let end = bytes[span.end..to].iter().position(|b| !part(b)).map_or(to, |at| span.end + at);
    let alnum_at = |at: Option<usize>| at.and_then(|at| bytes.get(at)).is_some_and(u8::is_ascii_alphanumeric);
    end - start == LEN
        && !alnum_at(start.checked_sub(1))
        && !alnum_at(Some(end))
        && std::str::from_utf8(&bytes[start..end]).is_ok_and(is_uuid)
}

/// Whether `text` is a hyphenated UUID (`8-4-4-4-12` hex digits, either case).
pub(crate) fn is_uuid(text: &str) -> bool {
    text.len() == 36 && uuid::Uuid::try_parse(text).is_ok()
}

/// Unseparated, or groups of four (the last may be shorter), or Amex/Diners 4-6-5 / 4-6-4.
fn grouped_like_a_card(groups: &[usize]) -> bool {
    match groups {
        [_] => true,
        [4, 6, 5] | [4, 6, 4] => true,
        [init @ .., last] => init.iter().all(|&g| g == 4) && (1..=4).contains(last),
        [] => false,
    }
}

/// The issuer prefixes by length: 13 digits only Visa (4); 14 Diners (30, 36, 38, 39);
/// 15 Amex (34, 37) or old JCB (2131, 1800); 16-19 a major-industry digit 2-6.
/// Millisecond timestamps (13 digits starting with 1) are never cards.
fn issuer_fits(digits: &[u8]) -> bool {
    let first = digits[0];
    let two = first * 10 + digits[1];
    match digits.len() {
        13 => first == 4,
        14 => matches!(two, 30 | 36 | 38 | 39),
        15 => matches!(two, 34 | 37) || digits[..4] == [2, 1, 3, 1] || digits[..4] == [1, 8, 0, 0],
        _ => (2..=6).contains(&first),
    }
}

/// Whether the span sits in a run of letters and digits that is all hex and has a hex letter.
fn in_hex_token(bytes: &[u8], span: &Range<usize>) -> bool {
    // Bounded, so a long hostile token costs no more than a digest's length per candidate.
    const REACH: usize = 128;
    let alnum = |b: &u8| b.is_ascii_alphanumeric();
    let from = span.start.saturating_sub(REACH);
    let to = bytes.len().min(span.end + REACH);
    let start = bytes[from..span.start].iter().rposition(|b| !alnum(b)).map_or(from, |at| from + at + 1);
    let end = bytes[span.end..to].iter().position(|b| !alnum(b)).map_or(to, |at| span.end + at);
    let token = &bytes[start..end];
    let glued = start < span.start || end > span.end;
    glued && token.iter().all(u8::is_ascii_hexdigit) && token.iter().any(u8::is_ascii_alphabetic)
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_compile() {
        LazyLock::force(&DETECTORS);
    }

    #[test]
    fn basic_needs_user_colon_password() {
        assert!(base64_has_colon("dXNlcjpwYXNz")); // user:pass
        assert!(!base64_has_colon("plan"));
    }

    #[test]
    fn luhn_and_issuers() {
        let digits = |s: &str| s.bytes().map(|b| b - b'0').collect::<Vec<_>>();
        assert!(luhn(&digits("4111111111111111")));
        assert!(!luhn(&digits("4111111111111112")));
        assert!(issuer_fits(&digits("378282246310005")));
        assert!(!issuer_fits(&digits("1700000000000")));
    }
}
