//! Run-time validation of dynamic events (from tracing, raw names, front ends) against the
//! catalog. Events from `#[track_event]` are checked at compile time; their values still pass
//! here for what only run time knows (enum values, lengths).

use std::fmt;

use serde_json::Value;
use tally_catalog::model::{Property, PropertyType};

/// What happens to an event that breaks the catalog.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ValidationMode {
    /// The violation reaches the caller of `emit` as an error and the event is not sent.
    /// The default of test trackers: a test fails where the code is wrong.
    Strict,
    /// The event is dropped, counted (`dropped_invalid`) and logged (rate-limited).
    #[default]
    Drop,
    /// The event is sent with its violations in a `$tally_violations` property.
    Flag,
}

/// One way an event breaks the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation {
    /// The event is not in the catalog.
    UnknownEvent {
        /// The name emitted.
        event: String,
        /// The closest catalog name.
        suggestion: Option<String>,
    },
    /// A property the event does not declare.
    UnknownProperty(String),
    /// A required property neither given nor filled.
    MissingProperty(String),
    /// A value of the wrong type.
    WrongType {
        /// The property.
        property: String,
        /// The declared type.
        expected: PropertyType,
        /// What was given.
        found: &'static str,
    },
    /// A value outside the enum.
    NotInEnum {
        /// The property.
        property: String,
        /// The value given.
        value: String,
    },
    /// `null` for a property that is not nullable.
    Null(String),
    /// An empty value for a `non_empty` property.
    Empty(String),
    /// A value longer than `max_length`.
    TooLong {
        /// The property.
        property: String,
        /// The declared maximum.
        max: u32,
        /// The actual length.
        length: usize,
    },
    /// A value for an `anonymize_ip` property that is not an IP address (it was removed).
    NotAnIp(String),
    /// A front end sent an event the catalog does not mark `origin = "client"`.
    NotAClientEvent(String),
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::UnknownEvent { event, suggestion: Some(best) } => {
                write!(f, "unknown event `{event}` (did you mean `{best}`?)")
            }
            Violation::UnknownEvent { event, suggestion: None } => write!(f, "unknown event `{event}`"),
            Violation::UnknownProperty(p) => write!(f, "unknown property `{p}`"),
            Violation::MissingProperty(p) => write!(f, "missing required property `{p}`"),
            Violation::WrongType { property, expected, found } => {
                write!(f, "property `{property}` must be {}, found {found}", expected.as_str())
            }
            Violation::NotInEnum { property, value } => {
                write!(f, "property `{property}`: `{value}` is not an allowed value")
            }
            Violation::Null(p) => write!(f, "property `{p}` is not nullable"),
            Violation::Empty(p) => write!(f, "property `{p}` must not be empty"),
            Violation::TooLong { property, max, length } => {
                write!(f, "property `{property}` is {length} long, over its max_length {max}")
            }
            Violation::NotAnIp(p) => write!(f, "property `{p}` is not an IP address"),
            Violation::NotAClientEvent(e) => write!(f, "`{e}` is not an event a client may send"),
        }
    }
}

/// The violations of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violations {
    /// The event's catalog name.
    pub event: String,
    /// What is wrong, in property order.
    pub violations: Vec<Violation>,
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "event `{}` breaks the catalog: ", self.event)?;
        for (i, violation) in self.violations.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{violation}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Violations {}

/// Checks one value against its declaration (type, enum values, nullability, emptiness,
/// length); pushes what is wrong onto `out`. The pipeline checks every property with it, and
/// `tally dev` checks the events it receives with it, so both judge values alike.
///
/// ```
/// use tally_runtime::catalog::Catalog;
/// let catalog = Catalog::parse("catalog.toml", r#"
///     [catalog]
///     name = "demo"
///     version = "1.0.0"
///     [events."file.uploaded"]
///     description = "A file was uploaded."
///     properties.bytes = { type = "integer", description = "Its size." }
/// "#).unwrap();
/// let bytes = &catalog.event("file.uploaded").unwrap().properties["bytes"];
/// let mut found = Vec::new();
/// tally_runtime::check_value("bytes", bytes, &serde_json::json!("12"), &mut found);
/// assert_eq!(found[0].to_string(), "property `bytes` must be integer, found a string");
/// ```
pub fn check_value(name: &str, property: &Property, value: &Value, out: &mut Vec<Violation>) {
    if value.is_null() {
        if !property.nullable {
            out.push(Violation::Null(name.to_owned()));
        }
        return;
    }
    let ty = *property.ty.as_ref();
    if ty == PropertyType::Array {
        let Value::Array(items) = value else {
            out.push(wrong(name, ty, value));
            return;
        };
        check_size(name, property, items.len(), out);
        if let Some(item_ty) = property.items {
            for item in items {
                check_scalar(name, item_ty, property, item, out);
            }
        }
        return;
    }
    check_scalar(name, ty, property, value, out);
    if let Value::String(text) = value
        && matches!(ty, PropertyType::String | PropertyType::Enum)
    {
        check_size(name, property, text.chars().count(), out);
    }
}

fn check_size(name: &str, property: &Property, length: usize, out: &mut Vec<Violation>) {
    if property.non_empty && length == 0 {
        out.push(Violation::Empty(name.to_owned()));
    }
    if let Some(max) = property.max_length
        && length > max as usize
    {
        out.push(Violation::TooLong { property: name.to_owned(), max, length });
    }
}

fn check_scalar(name: &str, ty: PropertyType, property: &Property, value: &Value, out: &mut Vec<Violation>) {
    let ok = match (ty, value) {
        (PropertyType::String, Value::String(_)) => true,
        (PropertyType::Integer, Value::Number(n)) => n.is_i64() || n.is_u64(),
        (PropertyType::Number, Value::Number(_)) => true,
        (PropertyType::Boolean, Value::Bool(_)) => true,
        (PropertyType::Object, Value::Object(_)) => true,
        (PropertyType::Datetime, Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        (PropertyType::Uuid, Value::String(s)) => uuid::Uuid::try_parse(s).is_ok(),
        (PropertyType::Enum, Value::String(s)) => {
            if !property.values.as_ref().is_some_and(|values| values.iter().any(|v| v == s)) {
                out.push(Violation::NotInEnum { property: name.to_owned(), value: s.clone() });
            }
            true
        }
        _ => false,
    };
    if !ok {
        out.push(wrong(name, ty, value));
    }
}

fn wrong(name: &str, expected: PropertyType, value: &Value) -> Violation {
    let found = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number",
        Value::Number(_) => "an integer",
        Value::String(_) if matches!(expected, PropertyType::Datetime) => "a string that is not RFC 3339",
        Value::String(_) if matches!(expected, PropertyType::Uuid) => "a string that is not a UUID",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    Violation::WrongType { property: name.to_owned(), expected, found }
}
