//! The privacy corpus: personal data and secrets the gate must stop, and ordinary values it
//! must leave alone. The privacy unit tests (`runtime/src/privacy/mod.rs`) and the end-to-end
//! privacy tests use the same table; include it with
//! `#[path = "common/privacy_corpus.rs"] mod privacy_corpus;` (or `include!`), it needs
//! nothing from outside.
//!
//! `Redacted` gives the exact scrubbed text and the category names (`Category::as_str`) the
//! input holds; `personal_category(input)` returns one of them. `Kept` values must come out
//! byte for byte as they went in, and `personal_category` says `None` for them.

#![allow(dead_code, unreachable_pub)]

/// What the gate does with a corpus value.
#[derive(Clone, Copy, Debug)]
pub enum Expect {
    /// Scrubbed to `out`; holds data of these categories.
    Redacted { categories: &'static [&'static str], out: &'static str },
    /// Must survive untouched.
    Kept,
}

/// Shorthand for a single-category redaction.
const fn red(category: &'static [&'static str], out: &'static str) -> Expect {
    Expect::Redacted { categories: category, out }
}

const EMAIL: &[&str] = &["email"];
const IP: &[&str] = &["ip"];
const JWT: &[&str] = &["jwt"];
const CREDENTIAL: &[&str] = &["credential"];
const CARD: &[&str] = &["card"];
const URL: &[&str] = &["url-credential"];
const SECRET: &[&str] = &["secret"];

/// The corpus: `(input, expectation)`.
pub const CORPUS: &[(&str, Expect)] = &[
    // Emails: any script, percent-encoded, inside text.
    ("ada@example.com", red(EMAIL, "[email]")),
    ("contact ada.lovelace@example.co.uk now", red(EMAIL, "contact [email] now")),
    ("josé@example.com", red(EMAIL, "[email]")),
    ("ada@exämple.de", red(EMAIL, "[email]")),
    ("ada%40example.com", red(EMAIL, "[email]")),
    ("mailto:ADA+tag@Example.ORG", red(EMAIL, "mailto:[email]")),
    ("用户@例子.公司", red(EMAIL, "[email]")),
    ("?email=jos%C3%A9%40example.com", red(EMAIL, "?email=[email]")),
    // IP addresses: v4, v4 with a port, v6 compressed, loopback, v4-mapped, zone, bracketed.
    ("203.0.113.77", red(IP, "[ip]")),
    ("from 192.168.0.1:8080", red(IP, "from [ip]:8080")),
    ("2001:db8::1", red(IP, "[ip]")),
    ("::1", red(IP, "[ip]")),
    ("::ffff:192.0.2.1", red(IP, "[ip]")),
    ("fe80::1%eth0", red(IP, "[ip]")),
    ("[2001:db8:85a3::8a2e:370:7334]:443", red(IP, "[[ip]]:443")),
    ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", red(IP, "[ip]")),
    ("tp.203.0.113.7", red(IP, "tp.[ip]")),
    ("seen at 10.0.0.1.", red(IP, "seen at [ip].")),
    ("peer=10.0.0.1", red(IP, "peer=[ip]")),
    // JWTs, signed and unsigned.
    ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk", red(JWT, "[jwt]")),
    ("session eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZGEifQ.", red(JWT, "session [jwt]")),
    // Authorization credentials in any case, and credential pairs in free text.
    ("Authorization: Bearer abc123", red(CREDENTIAL, "Authorization: [credential]")),
    ("BeArEr abc", red(CREDENTIAL, "[credential]")),
    ("bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2ln", red(CREDENTIAL, "[credential]")),
    ("Basic dXNlcjpwYXNzd29yZA==", red(CREDENTIAL, "[credential]")),
    ("login failed password=hunter2", red(CREDENTIAL, "login failed password=[credential]")),
    ("api_key=k3y-v4lue", red(CREDENTIAL, "api_key=[credential]")),
    // Card numbers: any separators, glued to letters, Amex grouping.
    ("4111 1111 1111 1111", red(CARD, "[card]")),
    ("4111-1111-1111-1111", red(CARD, "[card]")),
    ("4111.1111.1111.1111", red(CARD, "[card]")),
    ("card4111111111111111x", red(CARD, "card[card]x")),
    ("amex 3782 822463 10005", red(CARD, "amex [card]")),
    ("5555555555554444", red(CARD, "[card]")),
    ("paid with 4012888888881881.", red(CARD, "paid with [card].")),
    ("call 555 1234 4111 1111 1111 1111", red(CARD, "call 555 1234 [card]")),
    // URLs with user-info or token-like query parameters.
    ("https://ada:s3cret@example.com/x", red(URL, "https://[url-credential]@example.com/x")),
    (
        "https://api.example.com/v1?access_token=abc123&page=2",
        red(URL, "https://api.example.com/v1?access_token=[url-credential]&page=2"),
    ),
    ("/download?sig=Zm9vYmFy&expires=1700000000", red(URL, "/download?sig=[url-credential]&expires=1700000000")),
    ("https://example.com/cb#access_token=xyz", red(URL, "https://example.com/cb#access_token=[url-credential]")),
    ("postgres://admin:pw@db.internal:5432/app", red(URL, "postgres://[url-credential]@db.internal:5432/app")),
    ("/s3?X-Amz-Signature=abcdef0123&x=1", red(URL, "/s3?X-Amz-Signature=[url-credential]&x=1")),
    // Well-known secret formats.
    ("AKIAIOSFODNN7EXAMPLE", red(SECRET, "[secret]")),
    ("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", red(SECRET, "aws_secret_access_key=[secret]")),
    ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", red(SECRET, "[secret]")),
    ("ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d", red(SECRET, "[secret]")),
    ("token: gho_KLzdocJ2isAjIhKtJ0RlgLKOmxgJTeKdNnFR", red(SECRET, "token: [secret]")),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGH", red(SECRET, "[secret]")),
    ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", red(SECRET, "[secret]")),
    ("rk_live_51H8abcdefghijklmnop", red(SECRET, "[secret]")),
    ("xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", red(SECRET, "[secret]")),
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn\n-----END RSA PRIVATE KEY-----",
        red(SECRET, "[secret]"),
    ),
    ("key: -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC", red(SECRET, "key: [secret]")),
    // Several in one string (a User-Agent as the issue saw it go out raw).
    (
        "Mozilla/5.0 (+mailto:ada@example.com; 203.0.113.77; Bearer abc123)",
        Expect::Redacted {
            categories: &["email", "ip", "credential"],
            out: "Mozilla/5.0 (+mailto:[email]; [ip]; [credential])",
        },
    ),
    // Ordinary values that must survive untouched.
    ("u-7", Expect::Kept),
    ("user_42", Expect::Kept),
    ("42", Expect::Kept),
    ("Ada Lovelace", Expect::Kept),
    ("checkout_started", Expect::Kept),
    ("550e8400-e29b-41d4-a716-446655440000", Expect::Kept),
    ("0b8e2a4c-6f1d-4d2e-9c33-5a7e1f0b9d21", Expect::Kept),
    // UUIDs whose groups read as a card number (4-4-4-4, Luhn-valid): ids, not cards.
    ("aaaa4111-1111-1117-0000-000000000000", Expect::Kept),
    ("request aaaa4111-1111-1117-9000-5a7e1f0b9d21 failed", Expect::Kept),
    ("ORD-2024-000123", Expect::Kept),
    ("order 1234567890123 shipped", Expect::Kept),
    ("1.2.3", Expect::Kept),
    ("v1.2.3.4", Expect::Kept),
    ("version 10.4.2", Expect::Kept),
    ("192.168.1", Expect::Kept),
    ("999.1.1.1", Expect::Kept),
    ("1.2.3.4.5", Expect::Kept),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        Expect::Kept,
    ),
    ("2024-05-01T12:30:45Z", Expect::Kept),
    ("2024-05-01T12:30:45.123+02:00", Expect::Kept),
    ("12:30:45", Expect::Kept),
    ("1700000000000", Expect::Kept),
    ("1700000000000000", Expect::Kept),
    ("4111111111111112", Expect::Kept),
    ("1234 5678 9012 3456", Expect::Kept),
    ("3.14159265358979", Expect::Kept),
    ("+49 30 1234567", Expect::Kept),
    ("deadbeef", Expect::Kept),
    ("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", Expect::Kept),
    ("da39a3ee5e6b4b0d3255bfef95601890afd80709", Expect::Kept),
    ("DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", Expect::Kept),
    ("user@", Expect::Kept),
    ("@ada", Expect::Kept),
    ("ada@localhost", Expect::Kept),
    ("lodash@4.17.21", Expect::Kept),
    ("image@sha256:9b2a", Expect::Kept),
    ("std::fmt::Display", Expect::Kept),
    ("a :: b", Expect::Kept),
    ("00:1a:2b:3c:4d:5e", Expect::Kept),
    ("basic plan", Expect::Kept),
    ("the bearer of it", Expect::Kept),
    ("page=2&sort=asc", Expect::Kept),
    ("monkey=banana", Expect::Kept),
    ("key_id=abc", Expect::Kept),
    ("/usr/lib/x86_64-linux-gnu/libssl.so.3", Expect::Kept),
    ("GET /api/v1/orders/12345", Expect::Kept),
    ("AKIAIOSFODNN7EXAMP", Expect::Kept),
    ("sk_live_", Expect::Kept),
    ("https://example.com/docs?page=2#intro", Expect::Kept),
    ("-----BEGIN CERTIFICATE-----", Expect::Kept),
];
