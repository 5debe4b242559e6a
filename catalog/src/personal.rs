//! Recognizing personal data by name, for the lints (values are scrubbed by the runtime).

use std::fmt;

use crate::model::PropertyType;

/// A kind of personal data a property or identity name suggests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonalKind {
    /// An email address.
    Email,
    /// A password or secret.
    Secret,
    /// An authentication token or API key.
    Token,
    /// An IP address.
    IpAddress,
    /// A phone number.
    Phone,
    /// A person's name or login.
    PersonName,
    /// Free text a person wrote (descriptions, notes, comments).
    FreeText,
}

impl fmt::Display for PersonalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PersonalKind::Email => "an email address",
            PersonalKind::Secret => "a password or secret",
            PersonalKind::Token => "an authentication token",
            PersonalKind::IpAddress => "an IP address",
            PersonalKind::Phone => "a phone number",
            PersonalKind::PersonName => "a person's name",
            PersonalKind::FreeText => "free text a person wrote",
        })
    }
}

/// Last words that make a name an identifier or a measure of something, never the thing
/// itself: `note_id` is not a note, `email_count` is not an email, `email_verified` not either.
const NOT_THE_THING: &[&str] = &[
    "id", "ids", "uuid", "uuids", "guid", "ref", "count", "length", "len", "size", "type", "kind", "format", "status",
    "enabled", "verified", "present", "provided", "changed", "set",
];

/// The kind of personal data `name` suggests, if any.
///
/// Deliberately word-based: `user_name` is a name, `model_name` is not; `access_token` is a
/// token, `input_tokens` and `cost_per_token` are counts; `note_id` and `note_count` are not
/// notes (a name ending in an identifier or a measure is never the thing it names).
pub fn classify(name: &str) -> Option<PersonalKind> {
    // `customerEmail` and `customer_email` are the same words.
    let lower = crate::naming::normalize(name);
    let words: Vec<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let has = |candidates: &[&str]| words.iter().any(|word| candidates.contains(word));
    let last = words.last().copied().unwrap_or_default();
    let before_last = words.len().checked_sub(2).map(|i| words[i]);
    if NOT_THE_THING.contains(&last) || matches!(words.first(), Some(&("is" | "has"))) {
        return None;
    }

    if has(&["email", "mail", "emails"]) {
        Some(PersonalKind::Email)
    } else if has(&["password", "passwd", "pwd", "secret", "passphrase"]) {
        Some(PersonalKind::Secret)
    } else if has(&["jwt", "bearer", "apikey"])
        || (last == "token" && before_last != Some("per"))
        || (last == "key" && before_last == Some("api"))
    {
        Some(PersonalKind::Token)
    } else if has(&["ip", "ipv4", "ipv6", "ipaddress"]) {
        Some(PersonalKind::IpAddress)
    } else if has(&["phone", "msisdn"]) {
        Some(PersonalKind::Phone)
    } else if matches!(
        lower.as_str(),
        "name" | "username" | "login" | "full_name" | "first_name" | "last_name" | "display_name"
    ) || lower.ends_with("user_name")
        || lower.ends_with("username")
    {
        Some(PersonalKind::PersonName)
    } else if has(&["description", "notes", "note", "comment", "comments"]) {
        Some(PersonalKind::FreeText)
    } else {
        None
    }
}

/// The kind of personal data a catalog property holds, judged by its name, its type and its
/// description: a property described as an identifier is none, and free text is a string.
pub fn classify_property(name: &str, ty: PropertyType, description: Option<&str>) -> Option<PersonalKind> {
    let described_as_id = description.is_some_and(|text| {
        let text = text.to_ascii_lowercase();
        text.split(|c: char| !c.is_ascii_alphanumeric()).any(|word| matches!(word, "id" | "identifier" | "uuid"))
    });
    if described_as_id
        || matches!(
            ty,
            PropertyType::Integer
                | PropertyType::Number
                | PropertyType::Boolean
                | PropertyType::Uuid
                | PropertyType::Datetime
                | PropertyType::Enum
        )
    {
        // An email or IP stored as a number or an enum is still one; prose is not.
        return classify(name)
            .filter(|kind| !described_as_id && !matches!(kind, PersonalKind::FreeText | PersonalKind::PersonName));
    }
    classify(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_are_personal() {
        for (name, kind) in [
            ("email", PersonalKind::Email),
            ("session_email", PersonalKind::Email),
            ("password", PersonalKind::Secret),
            ("access_token", PersonalKind::Token),
            ("api_key", PersonalKind::Token),
            ("ip_address", PersonalKind::IpAddress),
            ("client_ip", PersonalKind::IpAddress),
            ("phone", PersonalKind::Phone),
            ("user_name", PersonalKind::PersonName),
            ("username", PersonalKind::PersonName),
            ("description", PersonalKind::FreeText),
            ("customerEmail", PersonalKind::Email),
            ("ipAddress", PersonalKind::IpAddress),
            ("authToken", PersonalKind::Token),
            ("userName", PersonalKind::PersonName),
        ] {
            assert_eq!(classify(name), Some(kind), "{name}");
        }
    }

    #[test]
    fn names_that_are_not() {
        for name in [
            "input_tokens",
            "tokens_used",
            "cost_per_token",
            "model_name",
            "workflow_name",
            "api_key_id",
            "zip",
            "shipping",
            "user_id",
            "userId",
            "inputTokens",
            "modelName",
            "note_id",
            "notebook_id",
            "note_ids",
            "note_count",
            "comment_length",
            "email_verified",
            "has_email",
            "description_length",
        ] {
            assert_eq!(classify(name), None, "{name}");
        }
    }

    #[test]
    fn a_property_described_or_typed_as_an_identifier_is_not_prose() {
        let string = PropertyType::String;
        assert_eq!(classify_property("note", string, Some("The note's identifier.")), None);
        assert_eq!(classify_property("note", string, Some("The note ID, as stored.")), None);
        assert_eq!(classify_property("note", PropertyType::Uuid, None), None);
        assert_eq!(classify_property("note", string, Some("What the user wrote.")), Some(PersonalKind::FreeText));
        // Words, not substrings: "notebook" is not "note", "identifiers" is not "id".
        assert_eq!(classify_property("notebook", string, None), None);
        assert_eq!(classify_property("note", string, Some("Notebook paragraphs.")), Some(PersonalKind::FreeText));
        assert_eq!(classify_property("email", PropertyType::Enum, None), Some(PersonalKind::Email));
    }
}
