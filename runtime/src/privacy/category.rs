//! The kinds of personal data and secrets the privacy gate recognises.

use std::fmt;

/// A kind of personal data or secret that the free-text scrub replaces and that makes an
/// identifier look personal (see [`personal_category`](super::personal_category)).
///
/// Free text gets the category's [`placeholder`](Category::placeholder); an identifier is never
/// placeholdered (that would merge people): the pipeline pseudonymizes or refuses it, and
/// counts it under [`as_str`](Category::as_str).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Category {
    /// Credentials inside a URL: user-info (`https://ada:pw@host`) or a token-like query
    /// parameter (`?access_token=…`, `&sig=…`).
    UrlCredential,
    /// An `Authorization` credential (`Bearer …`, `Basic …` in any case) or a
    /// `password=…`/`token=…` pair in free text.
    Credential,
    /// A well-known secret format: AWS access key ids and secret keys, GitHub, Stripe and
    /// Slack tokens, PEM private-key blocks.
    Secret,
    /// A JSON Web Token (`eyJ….eyJ….…`).
    Jwt,
    /// An email address, in any script, or percent-encoded (`ada%40example.com`).
    Email,
    /// An IPv4 or IPv6 address (compressed, v4-mapped, with a zone).
    Ip,
    /// A payment card number (13-19 digits, any separators, issuer prefix and Luhn checked).
    Card,
}

impl Category {
    /// Every category, in the order the scrub prefers them when two matches start at the
    /// same place.
    pub const ALL: [Category; 7] = [
        Category::UrlCredential,
        Category::Credential,
        Category::Secret,
        Category::Jwt,
        Category::Email,
        Category::Ip,
        Category::Card,
    ];

    /// The category's stable name, for counters, warnings and docs: `url-credential`,
    /// `credential`, `secret`, `jwt`, `email`, `ip`, `card`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Category::UrlCredential => "url-credential",
            Category::Credential => "credential",
            Category::Secret => "secret",
            Category::Jwt => "jwt",
            Category::Email => "email",
            Category::Ip => "ip",
            Category::Card => "card",
        }
    }

    /// What the free-text scrub writes in place of a match: the name in brackets (`[email]`).
    pub const fn placeholder(self) -> &'static str {
        match self {
            Category::UrlCredential => "[url-credential]",
            Category::Credential => "[credential]",
            Category::Secret => "[secret]",
            Category::Jwt => "[jwt]",
            Category::Email => "[email]",
            Category::Ip => "[ip]",
            Category::Card => "[card]",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_name_the_category() {
        for category in Category::ALL {
            assert_eq!(category.placeholder(), format!("[{category}]"));
        }
    }
}
