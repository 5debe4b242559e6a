//! Privacy: keyed pseudonymization, IP anonymization, the free-text scrub, and what makes an
//! identifier look personal.
//!
//! What the gate recognises is listed, with an example in and out for each category, in
//! `docs/privacy.md`; [`Category`] names them. [`scrub`] and [`scrub_str`] redact free text,
//! [`scrub_value`] a JSON value (keys included), [`personal_category`] tells whether an
//! identifier looks personal (identifiers are never placeholdered).

mod category;
mod detect;
mod json;
mod prefilter;
mod scrub;

use std::fmt::Write as _;
use std::net::IpAddr;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub use category::Category;
pub(crate) use detect::is_uuid;
pub use json::scrub_value;
pub(crate) use scrub::whole;
pub use scrub::{card_number, personal_category, scrub, scrub_str};

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

#[cfg(test)]
#[path = "../../tests/common/privacy_corpus.rs"]
mod corpus;

#[cfg(test)]
mod tests {
    use super::corpus::{CORPUS, Expect};
    use super::*;

    #[test]
    fn the_corpus_is_scrubbed_exactly() {
        assert!(CORPUS.len() >= 60);
        let mut failures = Vec::new();
        for &(input, expect) in CORPUS {
            let mut text = input.to_owned();
            let count = scrub(&mut text);
            let category = personal_category(input).map(Category::as_str);
            match expect {
                Expect::Redacted { categories, out } => {
                    if text != out || count == 0 || !category.is_some_and(|c| categories.contains(&c)) {
                        failures.push(format!(
                            "{input:?}: got {text:?} ({count}, {category:?}), want {out:?} {categories:?}"
                        ));
                    }
                }
                Expect::Kept => {
                    if text != input || count != 0 || category.is_some() {
                        failures.push(format!("{input:?}: must be kept, got {text:?} ({count}, {category:?})"));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{} of {} failed:\n{}", failures.len(), CORPUS.len(), failures.join("\n"));
    }

    #[test]
    fn each_redaction_is_counted() {
        let mut text = "a@example.com b@example.com 10.0.0.1".to_owned();
        assert_eq!(scrub(&mut text), 3);
        assert_eq!(text, "[email] [email] [ip]");
    }

    #[test]
    fn every_category_is_in_the_corpus() {
        for category in Category::ALL {
            assert!(
                CORPUS.iter().any(
                    |(_, e)| matches!(e, Expect::Redacted { categories, .. } if categories.contains(&category.as_str()))
                ),
                "{category}"
            );
        }
    }
}
