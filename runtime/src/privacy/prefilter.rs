//! One cheap pass over a string's bytes that says which detectors could possibly match, so
//! that ordinary strings (ids, words, numbers, names) never reach a regex.
//!
//! Every detector in `detect.rs` needs something this pass sees: an `@` or `%40` (emails,
//! URL user-info), a `:` (IPv6), a `.` and digits (IPv4), 13 digits (cards), a `=` (query
//! and `key=value` credentials), the word `bearer`/`basic` before a space, `eyJ` (JWTs), a run
//! of 14 token characters with an upper-case letter or a digit (GitHub, Stripe, Slack tokens, AWS key ids), a run of 40 base64
//! characters (AWS secret keys), `-----BEGIN` (PEM blocks). Keep the two files in step.

const DIGIT: u16 = 1;
/// `[A-Za-z0-9_-]`: the characters of GitHub, Stripe, Slack tokens and AWS key ids.
const WORD: u16 = 1 << 1;
/// `[A-Za-z0-9+/]`: the characters of an AWS secret key.
const BASE64: u16 = 1 << 2;
const AT: u16 = 1 << 3;
const COLON: u16 = 1 << 4;
const DOT: u16 = 1 << 5;
const EQUALS: u16 = 1 << 6;
/// `%`, white space and `-`: percent-encoded `@`, the space after `Bearer`, PEM's dashes.
const OTHER: u16 = 1 << 7;
/// An upper-case letter or a digit: what sets a token apart from a `snake_case_name`.
const STRONG: u16 = 1 << 8;

static CLASS: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let mut class = 0;
        if c.is_ascii_digit() {
            class |= DIGIT | WORD | BASE64 | STRONG;
        }
        if c.is_ascii_alphabetic() {
            class |= WORD | BASE64;
        }
        if c.is_ascii_uppercase() {
            class |= STRONG;
        }
        match c {
            b'_' => class |= WORD,
            b'-' => class |= WORD | OTHER,
            b'+' | b'/' => class |= BASE64,
            b'@' => class |= AT,
            b':' => class |= COLON,
            b'.' => class |= DOT,
            b'=' => class |= EQUALS,
            b'%' | b' ' | b'\t' | b'\n' | b'\r' => class |= OTHER,
            _ => {}
        }
        table[b] = class;
        b += 1;
    }
    table
};

/// Which detectors are worth running on a string.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Triggers {
    pub(super) email: bool,
    pub(super) url_userinfo: bool,
    pub(super) params: bool,
    pub(super) ipv4: bool,
    pub(super) ipv6: bool,
    pub(super) card: bool,
    pub(super) jwt: bool,
    pub(super) auth: bool,
    pub(super) token_formats: bool,
    pub(super) aws_secret: bool,
    pub(super) pem: bool,
}

impl Triggers {
    pub(super) fn any(self) -> bool {
        self.email
            || self.url_userinfo
            || self.params
            || self.ipv4
            || self.ipv6
            || self.card
            || self.jwt
            || self.auth
            || self.token_formats
            || self.aws_secret
            || self.pem
    }
}

/// The shortest token the token-format detectors match (`xoxb-` and 10 more).
const MIN_TOKEN_RUN: u32 = 14;
/// An AWS secret access key is 40 base64 characters.
const AWS_SECRET_LEN: u32 = 40;

pub(super) fn triggers(text: &str) -> Triggers {
    let bytes = text.as_bytes();
    let mut seen = 0u16;
    let mut digits = 0u32;
    // The longest run of token characters holding an upper-case letter or a digit.
    let (mut word_run, mut word_strong, mut max_word) = (0u32, false, 0u32);
    let (mut b64_run, mut max_b64) = (0u32, 0u32);
    for &b in bytes {
        let class = CLASS[usize::from(b)];
        seen |= class;
        digits += u32::from(class & DIGIT);
        if class & WORD != 0 {
            word_run += 1;
            word_strong |= class & STRONG != 0;
        } else {
            word_run = 0;
            word_strong = false;
        }
        b64_run = if class & BASE64 != 0 { b64_run + 1 } else { 0 };
        if word_strong {
            max_word = max_word.max(word_run);
        }
        max_b64 = max_b64.max(b64_run);
    }
    let has = |bit: u16| seen & bit != 0;
    let other = has(OTHER);
    let percent_at = other && memchr::memmem::find(bytes, b"%40").is_some();
    Triggers {
        email: has(AT) || percent_at,
        url_userinfo: has(AT) && has(COLON),
        params: has(EQUALS),
        ipv4: has(DOT) && digits >= 4,
        ipv6: has(COLON),
        card: digits >= 13,
        jwt: has(DOT) && max_word >= 8 && memchr::memmem::find(bytes, b"eyJ").is_some(),
        auth: other && has_auth_word(bytes),
        token_formats: max_word >= MIN_TOKEN_RUN,
        aws_secret: max_b64 >= AWS_SECRET_LEN,
        pem: other && memchr::memmem::find(bytes, b"-----BEGIN").is_some(),
    }
}

/// Whether `bearer` or `basic` (any case) is followed by white space somewhere.
fn has_auth_word(bytes: &[u8]) -> bool {
    memchr::memchr2_iter(b'b', b'B', bytes).any(|at| {
        let rest = &bytes[at + 1..];
        let word = if rest.len() >= 5 && rest[..5].eq_ignore_ascii_case(b"earer") {
            5
        } else if rest.len() >= 4 && rest[..4].eq_ignore_ascii_case(b"asic") {
            4
        } else {
            return false;
        };
        rest.get(word).is_some_and(u8::is_ascii_whitespace)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_strings_trigger_nothing() {
        for text in ["", "u-7", "order.placed", "42", "Ada Lovelace", "2024-05-01", "checkout_started", "basics"] {
            assert!(!triggers(text).any(), "{text}");
        }
    }

    #[test]
    fn auth_words_in_any_case() {
        assert!(triggers("BeArEr abc").auth);
        assert!(triggers("basic\tdXNlcjpwdw==").auth);
        assert!(!triggers("bearers").auth);
    }
}
