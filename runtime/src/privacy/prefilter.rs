//! A cheap look at a string's bytes that says which detectors could possibly match, so
//! that ordinary strings (ids, UUIDs, words, numbers, timestamps) never reach a regex.
//!
//! Every detector in `detect.rs` needs something this pass sees; keep the two files in step:
//!
//! | detector | needs |
//! | --- | --- |
//! | email | `@`, or `%` and then `%40` |
//! | URL user-info | `@` and `:` |
//! | `key=value` / query credentials | `=` |
//! | IPv4 | 3 dots and 4 digits |
//! | IPv6 | `::`, or 6 colons |
//! | card | 13 digits |
//! | JWT | two dots and `eyJ` |
//! | Bearer / Basic | white space, and `bearer`/`basic` (any case) before it |
//! | GitHub, Stripe | a token run of 14 with `_` |
//! | AWS access key id | a run of 20 upper-case letters and digits |
//! | Slack | a token run of 14 and `xox` |
//! | AWS secret key | a run of exactly 40 base64 characters |
//! | PEM | ten dashes, and `-----BEGIN` |
//!
//! A token run is `[A-Za-z0-9_-]` holding an upper-case letter or a digit (so a
//! `snake_case_name` is not one).

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

/// How many bytes of each kind a string holds. One loop of compares and adds, which the
/// compiler vectorizes: a 100-byte string costs a few nanoseconds.
#[derive(Default)]
struct Counts {
    digits: u32,
    upper: u32,
    at: u32,
    colons: u32,
    dots: u32,
    equals: u32,
    percents: u32,
    spaces: u32,
    dashes: u32,
    underscores: u32,
}

fn counts(bytes: &[u8]) -> Counts {
    let mut c = Counts::default();
    for &b in bytes {
        c.digits += u32::from(b.wrapping_sub(b'0') < 10);
        c.upper += u32::from(b.wrapping_sub(b'A') < 26);
        c.at += u32::from(b == b'@');
        c.colons += u32::from(b == b':');
        c.dots += u32::from(b == b'.');
        c.equals += u32::from(b == b'=');
        c.percents += u32::from(b == b'%');
        c.spaces += u32::from(is_space(b));
        c.dashes += u32::from(b == b'-');
        c.underscores += u32::from(b == b'_');
    }
    c
}

pub(super) fn triggers(text: &str) -> Triggers {
    let bytes = text.as_bytes();
    // Most values are short ids and words. Under ten bytes, only a detector that needs one
    // of these bytes can fire (the others need 13 digits, a 14-byte run or ten dashes), and
    // looking for them is cheaper than counting.
    if bytes.len() < SHORT && !bytes.iter().any(|&b| matches!(b, b'@' | b'%' | b'=' | b'.' | b':') || is_space(b)) {
        return Triggers::default();
    }
    counted(bytes)
}

/// Shorter than this, [`triggers`] takes its shortcut.
const SHORT: usize = 10;

fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\t' || b == b'\n' || b == b'\r'
}

fn counted(bytes: &[u8]) -> Triggers {
    let c = counts(bytes);
    let find = |needle: &[u8]| memchr::memmem::find(bytes, needle).is_some();
    let long = bytes.len() >= 14;
    Triggers {
        email: c.at > 0 || (c.percents > 0 && find(b"%40")),
        url_userinfo: c.at > 0 && c.colons > 0,
        params: c.equals > 0,
        ipv4: c.dots >= 3 && c.digits >= 4,
        ipv6: c.colons >= 6 || (c.colons >= 2 && find(b"::")),
        card: c.digits >= 13,
        jwt: c.dots >= 2 && find(b"eyJ"),
        auth: c.spaces > 0 && has_auth_word(bytes),
        token_formats: (long && c.underscores > 0 && longest_token(bytes, true) >= 14)
            || (c.upper + c.digits >= 20 && longest_upper_digits(bytes) >= 20)
            || (long && find(b"xox") && longest_token(bytes, false) >= 14),
        aws_secret: bytes.len() >= 40 && c.upper > 0 && c.digits > 0 && has_base64_run_of_40(bytes),
        pem: c.dashes >= 10 && find(b"-----BEGIN"),
    }
}

/// The longest run of `[A-Za-z0-9_-]` holding an upper-case letter or a digit (and, with
/// `underscore`, a `_`): a token, not a `snake_case_name`.
fn longest_token(bytes: &[u8], underscore: bool) -> u32 {
    let (mut run, mut strong, mut has_underscore, mut max) = (0, false, false, 0);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            run += 1;
            strong |= b.is_ascii_uppercase() || b.is_ascii_digit();
            has_underscore |= b == b'_';
            if strong && (has_underscore || !underscore) {
                max = max.max(run);
            }
        } else {
            (run, strong, has_underscore) = (0, false, false);
        }
    }
    max
}

/// The longest run of `[A-Z0-9]`.
fn longest_upper_digits(bytes: &[u8]) -> u32 {
    let (mut run, mut max) = (0, 0);
    for &b in bytes {
        run = if b.is_ascii_uppercase() || b.is_ascii_digit() { run + 1 } else { 0 };
        max = max.max(run);
    }
    max
}

/// Whether a run of `[A-Za-z0-9+/]` is exactly 40 long.
fn has_base64_run_of_40(bytes: &[u8]) -> bool {
    let mut run = 0;
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b == b'+' || b == b'/' {
            run += 1;
        } else if run == 40 {
            return true;
        } else {
            run = 0;
        }
    }
    run == 40
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
        for text in [
            "",
            "u-7",
            "order.placed",
            "42",
            "Ada Lovelace",
            "2024-05-01",
            "12:30:45",
            "checkout_started",
            "basics",
            "1.2.3",
        ] {
            assert_eq!(triggers(text), Triggers::default(), "{text}");
        }
    }

    /// The shortcut for short strings says what counting says, for every short string made
    /// of the bytes the detectors look at.
    #[test]
    fn the_short_string_shortcut_agrees_with_counting() {
        let alphabet = b"@%=.:- \t_aZ09xBEGIN";
        let mut checked = 0;
        for length in 0..SHORT {
            for seed in 0..400_u32 {
                let bytes: Vec<u8> = (0..length as u32)
                    .map(|i| {
                        alphabet[(seed.wrapping_mul(2_654_435_761).rotate_left(i * 5) as usize + i as usize)
                            % alphabet.len()]
                    })
                    .collect();
                let text = std::str::from_utf8(&bytes).unwrap_or_default();
                assert_eq!(triggers(text), counted(text.as_bytes()), "{text:?}");
                checked += 1;
            }
        }
        for text in ["----------", "xoxb-1", "AKIA", "eyJ.eyJ", "a@b", "1.2.3.4", "p-42", "Apollo", "BeArEr x"] {
            assert_eq!(triggers(text), counted(text.as_bytes()), "{text:?}");
        }
        assert!(checked > 1000);
    }

    #[test]
    fn each_detector_has_its_trigger() {
        let t = |text| triggers(text);
        assert!(t("a@b.co").email && t("a%40b.co").email && !t("100%").email);
        assert!(t("https://a:b@c.io").url_userinfo);
        assert!(t("?sig=1").params);
        assert!(t("at 10.0.0.1").ipv4 && !t("1.2.3").ipv4);
        assert!(t("4111 1111 1111 1111").card && !t("41 11 11 11 11 11").card);
        assert!(t("::1").ipv6 && t("1:2:3:4:5:6:7:8").ipv6 && !t("12:30:45").ipv6 && !t("00:1a:2b:3c:4d:5e").ipv6);
        assert!(t("eyJhbGciOi.eyJzdWIi.c2ln").jwt);
        assert!(t("BeArEr abc").auth && t("basic\tdXNlcjpwdw==").auth && !t("bearers").auth);
        assert!(t("ghp_u8jzPde0IgxLd6GncfBA").token_formats && t("AKIAIOSFODNN7EXAMPLE").token_formats);
        assert!(t("xoxb-123456789012").token_formats && !t("checkout_started_today").token_formats);
        assert!(t("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY").aws_secret);
        assert!(t("-----BEGIN PRIVATE KEY-----").pem);
    }
}
