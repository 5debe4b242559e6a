//! Privacy: keyed pseudonymization, IP anonymization and the free-text scrub.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::LazyLock;

use hmac::{Hmac, KeyInit, Mac};
use regex::Regex;
use serde_json::Value;
use sha2::Sha256;

/// Replaces values by their keyed hash (HMAC-SHA256, lower-case hex), so the same input always
/// maps to the same output for this key and cannot be reversed or recomputed without it.
///
/// ```
/// use tally_runtime::privacy::Pseudonymizer;
/// // RFC 4231, test case 2.
/// let p = Pseudonymizer::new(b"Jefe");
/// assert_eq!(p.pseudonymize("what do ya want for nothing?"),
///            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
/// ```
#[derive(Clone)]
pub struct Pseudonymizer {
    keyed: Hmac<Sha256>,
}

impl Pseudonymizer {
    /// A pseudonymizer for `key` (any length; 32 random bytes recommended).
    pub fn new(key: &[u8]) -> Self {
        // HMAC takes keys of any length, so `new_from_slice` cannot fail; keep a fallback
        // anyway rather than an `expect` in library code.
        let keyed = Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| Hmac::<Sha256>::new(&Default::default()));
        Self { keyed }
    }

    /// The keyed hash of `value`, as 64 hex digits.
    pub fn pseudonymize(&self, value: &str) -> String {
        let mut mac = self.keyed.clone();
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut hex = String::with_capacity(64);
        for byte in digest.iter() {
            let _ = write!(hex, "{byte:02x}");
        }
        hex
    }
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymizer(***)")
    }
}

/// An IP address with its host part zeroed: the last octet of IPv4 (/24), all but the first
/// 48 bits of IPv6. `None` if `text` is not an IP address.
///
/// ```
/// assert_eq!(tally_runtime::privacy::anonymize_ip("203.0.113.77").as_deref(), Some("203.0.113.0"));
/// assert_eq!(tally_runtime::privacy::anonymize_ip("2001:db8:85a3:8d3:1319:8a2e:370:7348").as_deref(), Some("2001:db8:85a3::"));
/// ```
pub fn anonymize_ip(text: &str) -> Option<String> {
    let ip: IpAddr = text.trim().parse().ok()?;
    Some(anonymize(ip).to_string())
}

/// An IP address with its host part zeroed.
pub fn anonymize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            IpAddr::from([a, b, c, 0])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::from([s[0], s[1], s[2], 0, 0, 0, 0, 0])
        }
    }
}

struct Pattern {
    regex: Regex,
    replacement: &'static str,
    /// Extra check on a match (Luhn for card numbers).
    accept: fn(&str) -> bool,
}

// The patterns are literals known to compile; a failure would be a bug caught by the tests,
// and `Regex::new` on them cannot be influenced by users.
#[allow(clippy::expect_used)]
static PATTERNS: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
    let pattern = |re: &str, replacement, accept| Pattern {
        regex: Regex::new(re).expect("scrub patterns are valid"),
        replacement,
        accept,
    };
    vec![
        pattern(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", "[email]", |_| true),
        pattern(r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]+=*", "[token]", |_| true),
        pattern(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", "[token]", |_| true),
        pattern(r"\b(?:\d{1,3}\.){3}\d{1,3}\b", "[ip]", |m| m.parse::<std::net::Ipv4Addr>().is_ok()),
        // Greedy over hex digits and colons, then parsed: the longest candidate wins, so
        // `2001:db8::1` is not cut at `2001:db8::` (itself a valid address).
        pattern(r"(?i)[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}", "[ip]", |m| m.parse::<std::net::Ipv6Addr>().is_ok()),
        pattern(r"\b\d(?:[ -]?\d){12,18}\b", "[card]", luhn),
    ]
});

/// Redacts emails, bearer tokens and JWTs, IP addresses and card numbers (Luhn-checked) from
/// free text. Returns the number of redactions.
///
/// ```
/// let mut text = "mail ada@example.com from 10.1.2.3 with Bearer abc.def".to_string();
/// assert_eq!(tally_runtime::privacy::scrub(&mut text), 3);
/// assert_eq!(text, "mail [email] from [ip] with [token]");
/// ```
pub fn scrub(text: &mut String) -> usize {
    // Cheap reject: every pattern needs a digit, an `@`, or the word bearer / eyJ.
    if !text.bytes().any(|b| b.is_ascii_digit() || b == b'@' || b == b':')
        && !text.contains("earer")
        && !text.contains("EARER")
        && !text.contains("eyJ")
    {
        return 0;
    }
    let mut count = 0;
    for pattern in PATTERNS.iter() {
        if !pattern.regex.is_match(text) {
            continue;
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for found in pattern.regex.find_iter(text) {
            if (pattern.accept)(found.as_str()) {
                out.push_str(&text[last..found.start()]);
                out.push_str(pattern.replacement);
                last = found.end();
                count += 1;
            }
        }
        out.push_str(&text[last..]);
        *text = out;
    }
    count
}

/// Scrubs every string inside a JSON value; returns the number of redactions.
pub fn scrub_value(value: &mut Value) -> usize {
    match value {
        Value::String(text) => scrub(text),
        Value::Array(items) => items.iter_mut().map(scrub_value).sum(),
        Value::Object(map) => map.values_mut().map(scrub_value).sum(),
        _ => 0,
    }
}

fn luhn(candidate: &str) -> bool {
    let digits: Vec<u32> = candidate.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_what_a_catalog_forgot() {
        let cases = [
            ("contact ada.lovelace@example.co.uk now", "contact [email] now", 1),
            ("card 4111 1111 1111 1111 declined", "card [card] declined", 1),
            ("order 1234567890123 shipped", "order 1234567890123 shipped", 0),
            ("Authorization: Bearer eyJhbGciOi.eyJzdWIi.sig", "Authorization: [token]", 1),
            ("jwt eyJhbGciOi.eyJzdWIi.c2ln", "jwt [token]", 1),
            ("from 2001:db8::1 via 192.168.0.1", "from [ip] via [ip]", 2),
            ("version 1.2.3 at 12:30", "version 1.2.3 at 12:30", 0),
            ("at 12:30:45 from ::1 and fe80::1:2", "at 12:30:45 from [ip] and [ip]", 2),
            ("plain text", "plain text", 0),
        ];
        for (input, expected, count) in cases {
            let mut text = input.to_string();
            assert_eq!(scrub(&mut text), count, "{input}");
            assert_eq!(text, expected);
        }
    }

    #[test]
    fn scrubs_nested_values() {
        let mut value = serde_json::json!({"a": ["x@y.io", 3], "b": {"c": "10.0.0.1"}});
        assert_eq!(scrub_value(&mut value), 2);
        assert_eq!(value, serde_json::json!({"a": ["[email]", 3], "b": {"c": "[ip]"}}));
    }
}
