//! [`PropertyValue`]: a property's value on its way from the emit call to the worker.

use std::borrow::Cow;
use std::fmt;

use serde_json::Value;
use smol_str::SmolStr;
use tally_catalog::model::PropertyType;

/// A property value as an [`Event`](crate::Event) carries it.
///
/// Text borrowed for `'static` (a literal) is not copied, short text (up to 23 bytes: most ids)
/// is stored inline, and numbers and booleans are kept as they are: building an event
/// allocates nothing for them. The worker turns values into
/// JSON when it processes the event, off the caller's path. Anything else (arrays, objects)
/// is carried as a [`serde_json::Value`].
///
/// Convert with `From`/`Into`: `"literal"`, `String`, `Cow<'static, str>`, `bool`, integers,
/// floats, `Option`s of those (`None` is `null`) and [`serde_json::Value`]. Text borrowed for
/// less than `'static` goes through [`PropertyValue::text`] (or is passed as `&String`).
///
/// ```
/// use tally_runtime::PropertyValue;
/// assert_eq!(PropertyValue::from("p-42"), serde_json::json!("p-42"));
/// assert_eq!(PropertyValue::from(Some(3_u8)).to_json(), serde_json::json!(3));
/// assert_eq!(PropertyValue::from(None::<bool>), PropertyValue::Null);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PropertyValue {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A floating-point number (not finite: `null` on the wire, as in `serde_json`).
    Float(f64),
    /// Text.
    Text(PropertyText),
    /// Any other JSON value (arrays, objects).
    Json(Box<Value>),
}

/// A text value: a `'static` reference, inline when short, else shared.
#[derive(Clone, PartialEq, Eq)]
pub struct PropertyText(SmolStr);

impl PropertyText {
    /// The text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl std::ops::Deref for PropertyText {
    type Target = str;
    fn deref(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for PropertyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PropertyValue {
    /// A copy of borrowed text: stored inline, without an allocation, up to 23 bytes.
    pub fn text(text: &str) -> Self {
        PropertyValue::Text(PropertyText(SmolStr::new(text)))
    }

    /// The value as JSON.
    pub fn to_json(&self) -> Value {
        self.clone().into_json()
    }

    /// The value as JSON, reusing owned text.
    pub fn into_json(self) -> Value {
        match self {
            PropertyValue::Null => Value::Null,
            PropertyValue::Bool(b) => Value::Bool(b),
            PropertyValue::Int(n) => Value::from(n),
            PropertyValue::UInt(n) => Value::from(n),
            PropertyValue::Float(x) => Value::from(x),
            PropertyValue::Text(text) => Value::String(text.as_str().to_owned()),
            PropertyValue::Json(json) => *json,
        }
    }

    /// The text, if the value is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            PropertyValue::Text(text) => Some(text),
            PropertyValue::Json(json) => json.as_str(),
            _ => None,
        }
    }
}

impl PropertyValue {
    /// About the bytes this value takes serialized (text: its length and quotes), for the
    /// queue's byte budget and the event size cap.
    #[inline]
    pub(crate) fn byte_size(&self) -> usize {
        match self {
            PropertyValue::Text(text) => text.len() + 2,
            PropertyValue::Json(json) => json_byte_size(json),
            _ => 8,
        }
    }

    /// The items, when the value is a JSON array.
    pub(crate) fn as_json_array(&self) -> Option<&Vec<Value>> {
        match self {
            PropertyValue::Json(json) => json.as_array(),
            _ => None,
        }
    }

    /// Converts a value recorded through tracing (numbers as text, lists as `Debug` text) to
    /// the declared type where that is lossless; anything else is left as is for validation to
    /// report.
    pub(crate) fn coerce(self, ty: PropertyType, items: Option<PropertyType>) -> PropertyValue {
        use PropertyValue as V;
        match (ty, self) {
            (PropertyType::Integer, V::Text(s)) => s.trim().parse::<i64>().map_or(V::Text(s), V::Int),
            (PropertyType::Integer, V::Float(f)) if f.fract() == 0.0 && f.is_finite() => V::Int(f as i64),
            (PropertyType::Number, V::Text(s)) => s.trim().parse::<f64>().map_or(V::Text(s), V::Float),
            (PropertyType::Boolean, V::Text(s)) => match s.as_str() {
                "true" => V::Bool(true),
                "false" => V::Bool(false),
                _ => V::Text(s),
            },
            (
                PropertyType::String | PropertyType::Enum | PropertyType::Uuid | PropertyType::Datetime,
                number @ (V::Int(_) | V::UInt(_) | V::Float(_)),
            ) => number.to_string().into(),
            (PropertyType::String, V::Bool(b)) => b.to_string().into(),
            (PropertyType::Array, V::Text(s)) => {
                // `?vec` records as a Debug list; a single value becomes a one-item list.
                let item = |value: PropertyValue| match items {
                    Some(items) => value.coerce(items, None).into_json(),
                    None => value.into_json(),
                };
                let list = match serde_json::from_str::<Value>(&s) {
                    Ok(Value::Array(list)) => list.into_iter().map(|value| item(value.into())).collect(),
                    _ => vec![item(V::Text(s))],
                };
                V::Json(Box::new(Value::Array(list)))
            }
            (_, value) => value,
        }
    }
}

/// About the bytes a JSON value takes serialized.
pub(crate) fn json_byte_size(value: &Value) -> usize {
    match value {
        Value::String(text) => text.len() + 2,
        Value::Array(items) => 2 + items.iter().map(|item| json_byte_size(item) + 1).sum::<usize>(),
        Value::Object(map) => 2 + map.iter().map(|(key, value)| key.len() + 4 + json_byte_size(value)).sum::<usize>(),
        _ => 8,
    }
}

impl fmt::Display for PropertyValue {
    /// As JSON.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

impl PartialEq<Value> for PropertyValue {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (PropertyValue::Text(text), Value::String(other)) => text.as_str() == other,
            (PropertyValue::Json(json), other) => **json == *other,
            (value, other) => value.to_json() == *other,
        }
    }
}

impl PartialEq<PropertyValue> for Value {
    fn eq(&self, other: &PropertyValue) -> bool {
        other == self
    }
}

impl From<&'static str> for PropertyValue {
    fn from(text: &'static str) -> Self {
        PropertyValue::Text(PropertyText(SmolStr::new_static(text)))
    }
}

impl From<String> for PropertyValue {
    fn from(text: String) -> Self {
        PropertyValue::Text(PropertyText(SmolStr::from(text)))
    }
}

impl From<&String> for PropertyValue {
    fn from(text: &String) -> Self {
        PropertyValue::text(text)
    }
}

impl From<Cow<'static, str>> for PropertyValue {
    fn from(text: Cow<'static, str>) -> Self {
        match text {
            Cow::Borrowed(text) => text.into(),
            Cow::Owned(text) => text.into(),
        }
    }
}

impl From<bool> for PropertyValue {
    fn from(b: bool) -> Self {
        PropertyValue::Bool(b)
    }
}

macro_rules! from_number {
    ($variant:ident as $wide:ty: $($ty:ty),*) => {$(
        impl From<$ty> for PropertyValue {
            fn from(n: $ty) -> Self {
                PropertyValue::$variant(<$wide>::from(n))
            }
        }
    )*};
}
from_number!(Int as i64: i8, i16, i32, i64);
from_number!(UInt as u64: u8, u16, u32, u64);
from_number!(Float as f64: f32, f64);

impl From<isize> for PropertyValue {
    fn from(n: isize) -> Self {
        PropertyValue::Int(n as i64)
    }
}

impl From<usize> for PropertyValue {
    fn from(n: usize) -> Self {
        PropertyValue::UInt(n as u64)
    }
}

impl From<Value> for PropertyValue {
    fn from(value: Value) -> Self {
        match value {
            Value::Null => PropertyValue::Null,
            Value::Bool(b) => PropertyValue::Bool(b),
            Value::String(text) => text.into(),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(n), _, _) => PropertyValue::UInt(n),
                (_, Some(n), _) => PropertyValue::Int(n),
                (_, _, Some(x)) => PropertyValue::Float(x),
                _ => PropertyValue::Json(Box::new(Value::Number(n))),
            },
            other => PropertyValue::Json(Box::new(other)),
        }
    }
}

impl<T: Into<PropertyValue>> From<Option<T>> for PropertyValue {
    fn from(value: Option<T>) -> Self {
        value.map_or(PropertyValue::Null, Into::into)
    }
}

impl PropertyValue {
    /// Whether the value is `null`.
    pub fn is_null(&self) -> bool {
        match self {
            PropertyValue::Null => true,
            PropertyValue::Json(json) => json.is_null(),
            _ => false,
        }
    }

    /// The value as an unsigned integer, if it is one.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            PropertyValue::UInt(n) => Some(*n),
            PropertyValue::Int(n) => u64::try_from(*n).ok(),
            PropertyValue::Json(json) => json.as_u64(),
            _ => None,
        }
    }

    /// The value as a signed integer, if it is one that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            PropertyValue::Int(n) => Some(*n),
            PropertyValue::UInt(n) => i64::try_from(*n).ok(),
            PropertyValue::Json(json) => json.as_i64(),
            _ => None,
        }
    }

    /// The value as a float, if it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            PropertyValue::Float(x) => Some(*x),
            PropertyValue::Int(n) => Some(*n as f64),
            PropertyValue::UInt(n) => Some(*n as f64),
            PropertyValue::Json(json) => json.as_f64(),
            _ => None,
        }
    }

    /// The value as a boolean, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            PropertyValue::Bool(b) => Some(*b),
            PropertyValue::Json(json) => json.as_bool(),
            _ => None,
        }
    }
}

impl serde::Serialize for PropertyValue {
    /// As the JSON [`to_json`](Self::to_json) makes, written straight (no `Value` built).
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            PropertyValue::Null => serializer.serialize_unit(),
            PropertyValue::Bool(b) => serializer.serialize_bool(*b),
            PropertyValue::Int(n) => serializer.serialize_i64(*n),
            PropertyValue::UInt(n) => serializer.serialize_u64(*n),
            PropertyValue::Float(x) if x.is_finite() => serializer.serialize_f64(*x),
            PropertyValue::Float(_) => serializer.serialize_unit(),
            PropertyValue::Text(text) => serializer.serialize_str(text),
            PropertyValue::Json(json) => json.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn converts_to_the_same_json_as_serde_json() {
        let cases: Vec<(PropertyValue, Value)> = vec![
            ("lit".into(), json!("lit")),
            (String::from("owned").into(), json!("owned")),
            (true.into(), json!(true)),
            ((-3_i32).into(), json!(-3)),
            (u64::MAX.into(), json!(u64::MAX)),
            (1.5_f64.into(), json!(1.5)),
            (f64::NAN.into(), Value::Null),
            (None::<&'static str>.into(), Value::Null),
            (json!([1, "a"]).into(), json!([1, "a"])),
            (json!({"a": 1}).into(), json!({"a": 1})),
        ];
        for (value, expected) in cases {
            assert_eq!(value.to_json(), expected, "{value:?}");
            assert_eq!(value, expected, "{value:?}");
        }
    }

    #[test]
    fn tracing_values_are_coerced_to_the_declared_type_when_lossless() {
        use PropertyType as T;
        let text = |s: &'static str| PropertyValue::from(s);
        assert_eq!(text(" 42 ").coerce(T::Integer, None), PropertyValue::Int(42));
        assert_eq!(PropertyValue::Float(3.0).coerce(T::Integer, None), PropertyValue::Int(3));
        assert_eq!(PropertyValue::Float(3.5).coerce(T::Integer, None), PropertyValue::Float(3.5), "lossy: left as is");
        assert_eq!(text("0.25").coerce(T::Number, None), PropertyValue::Float(0.25));
        assert_eq!(text("true").coerce(T::Boolean, None), PropertyValue::Bool(true));
        assert_eq!(text("yes").coerce(T::Boolean, None), text("yes"), "not a boolean: left for validation");
        assert_eq!(PropertyValue::UInt(7).coerce(T::String, None), text("7"));
        assert_eq!(PropertyValue::Bool(false).coerce(T::String, None), text("false"));
        assert_eq!(text("[1, 2]").coerce(T::Array, Some(T::String)), json!(["1", "2"]));
        assert_eq!(text("solo").coerce(T::Array, None), json!(["solo"]));
        assert_eq!(text("abc").coerce(T::Integer, None), text("abc"), "not a number: left for validation");
    }

    #[test]
    fn text_is_static_inline_or_shared_and_compares_as_text() {
        let long = "a".repeat(100);
        for (value, expected) in [
            (PropertyValue::from("literal"), "literal"),
            (PropertyValue::text("p-42"), "p-42"),
            (PropertyValue::text(&long), long.as_str()),
            (PropertyValue::from(long.clone()), long.as_str()),
            (PropertyValue::from(Cow::<'static, str>::Owned("owned".into())), "owned"),
        ] {
            assert_eq!(value.as_str(), Some(expected));
            assert_eq!(value, json!(expected));
        }
    }

    #[test]
    fn json_numbers_keep_their_kind() {
        assert_eq!(PropertyValue::from(json!(7)), PropertyValue::UInt(7));
        assert_eq!(PropertyValue::from(json!(-7)), PropertyValue::Int(-7));
        assert_eq!(PropertyValue::from(json!(0.25)), PropertyValue::Float(0.25));
    }
}
