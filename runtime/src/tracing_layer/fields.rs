//! Collecting a span's or an event's fields with a visitor.

use std::borrow::Cow;
use std::fmt;

use smol_str::SmolStr;
use tracing::field::{Field, Visit};

use crate::event::{Properties, PropertyName};
use crate::value::PropertyValue;

pub(super) const EVENT_FIELD: &str = "tally.event";
const ON_ERR_FIELD: &str = "tally.on_err";
const IDENTITY_PREFIX: &str = "tally.identity.";
const GROUP_PREFIX: &str = "tally.group.";
/// The field `#[instrument(err)]` records the error in.
const ERROR_FIELD: &str = "error";
/// The field a tracing event's message is recorded in.
pub(super) const MESSAGE_FIELD: &str = "message";

/// Field values collected by a visitor.
#[derive(Default)]
pub(super) struct Fields {
    /// Inline up to 23 bytes: most names cost no allocation.
    pub(super) event: Option<SmolStr>,
    pub(super) on_err: Option<SmolStr>,
    /// Inline up to six, like the event's own list it becomes: no allocation on the emitting
    /// thread that the worker would free on another core.
    pub(super) properties: Properties,
    pub(super) identity: Vec<(&'static str, String)>,
    pub(super) groups: Vec<(&'static str, String)>,
    /// The display of an `error` field (what `#[instrument(err)]` records).
    pub(super) error: Option<String>,
    /// The event's message: a property only when the catalog declares `message`.
    pub(super) message: Option<PropertyValue>,
}

impl Fields {
    /// Later values win.
    pub(super) fn merge(
        &mut self,
        properties: impl IntoIterator<Item = (PropertyName, PropertyValue)>,
        identity: impl IntoIterator<Item = (&'static str, String)>,
        groups: impl IntoIterator<Item = (&'static str, String)>,
    ) {
        properties.into_iter().for_each(|(name, value)| self.set_property(name, value));
        identity.into_iter().for_each(|(kind, value)| set_keyed(&mut self.identity, kind, value));
        groups.into_iter().for_each(|(group, key)| set_keyed(&mut self.groups, group, key));
    }

    /// Sets a property, replacing an earlier value (a span may record a field again). Called
    /// for every field of every tally event: the value goes straight into the list, not
    /// through a temporary collection, whose copies stalled the visitor.
    #[inline]
    pub(super) fn set_property(&mut self, name: PropertyName, value: PropertyValue) {
        self.properties.retain(|(n, _)| *n != name);
        self.properties.push((name, value));
    }

    fn set(&mut self, field: &Field, value: PropertyValue) {
        let name = field.name();
        let text = || match value.as_str() {
            Some(text) => SmolStr::new(text),
            None => SmolStr::from(value.to_string()),
        };
        if name == EVENT_FIELD {
            self.event = Some(text());
        } else if name == ON_ERR_FIELD {
            self.on_err = Some(text());
        } else if let Some(kind) = name.strip_prefix(IDENTITY_PREFIX) {
            set_keyed(&mut self.identity, kind, text().into());
        } else if let Some(group) = name.strip_prefix(GROUP_PREFIX) {
            set_keyed(&mut self.groups, group, text().into());
        } else if name == ERROR_FIELD {
            self.error = Some(text().into());
        } else if name == MESSAGE_FIELD {
            self.message = Some(value);
        } else {
            self.set_property(Cow::Borrowed(name), value);
        }
    }
}

/// Sets an identity's or a group's value, replacing an earlier one of the same kind.
fn set_keyed(list: &mut Vec<(&'static str, String)>, key: &'static str, value: String) {
    list.retain(|(k, _)| *k != key);
    list.push((key, value));
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.set(field, value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.set(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.set(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.set(field, value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == EVENT_FIELD {
            self.event = Some(SmolStr::new(value)); // the hot field: inline, no allocation
        } else {
            self.set(field, PropertyValue::text(value));
        }
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.set(field, value.to_string().into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let formatted = format!("{value:?}");
        let text = match unquote(&formatted) {
            Some(unquoted) => unquoted,
            None => formatted,
        };
        self.set(field, text.into());
    }
}

/// The string a `Debug`-formatted string literal stands for (`"a \"b\""` → `a "b"`), so that
/// `field = ?text` stores the text, not its quotes. `None` for anything else.
///
/// A `Display` value (`%value`) also arrives here; one that is itself written in quotes is
/// unquoted the same way, which is the reading a catalog property wants.
pub(super) fn unquote(formatted: &str) -> Option<String> {
    let inner = formatted.strip_prefix('"')?.strip_suffix('"')?;
    let mut text = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return None, // an unescaped quote: not one Debug string
            '\\' => text.push(match chars.next()? {
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                '0' => '\0',
                '\\' => '\\',
                '\'' => '\'',
                '"' => '"',
                'u' => {
                    let code: String = chars.by_ref().skip_while(|c| *c == '{').take_while(|c| *c != '}').collect();
                    char::from_u32(u32::from_str_radix(&code, 16).ok()?)?
                }
                _ => return None,
            }),
            c => text.push(c),
        }
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::unquote;

    #[test]
    fn debug_strings_lose_their_quotes_and_escapes() {
        for text in ["plain", "with \"quotes\"", "tab\tnew\nline\\", "é \u{1f600} \u{7}", ""] {
            assert_eq!(unquote(&format!("{text:?}")).as_deref(), Some(text), "{text:?}");
        }
        assert_eq!(unquote("Some(\"x\")"), None);
        assert_eq!(unquote("42"), None);
        assert_eq!(unquote("\"a\" \"b\""), None, "two strings are not one");
    }
}
