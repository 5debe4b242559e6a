//! Validate: the emitted properties into the draft's slots, each checked against its
//! compiled property. A value that breaks the catalog never stays in its slot, so no mode
//! (not even `flag`) sends it; the violation names the property and the rule, never the value.

use serde_json::Value;
use tally_catalog::model::PropertyType;

use super::Draft;
use crate::event::Properties;
use crate::plan::PropertyPlan;
use crate::validate::Violation;
use crate::value::PropertyValue;

/// Places and checks the given properties, taking their values out (the names stay, to be
/// dropped with the event). `coerce`: values recorded as text (tracing) are converted to the
/// declared type first, when lossless.
pub(crate) fn validate(draft: &mut Draft<'_>, given: &mut Properties, coerce: bool) {
    let mut next = 0;
    for (name, value) in given.iter_mut() {
        let Some(index) = draft.plan.position_from(name, next) else {
            draft.violations.push(Violation::UnknownProperty(crate::gate::name(name)));
            continue;
        };
        next = index + 1;
        let value = std::mem::replace(value, PropertyValue::Null);
        let property = &draft.plan.properties[index];
        let value = if coerce { value.coerce(property.ty, property.items) } else { value };
        draft.slots[index] = check(property, value, &mut draft.violations);
        draft.rejected[index] = draft.slots[index].is_none();
    }
}

/// The value when it keeps the catalog's rules; otherwise `None`, with the violations pushed.
pub(crate) fn check(property: &PropertyPlan, value: PropertyValue, out: &mut Vec<Violation>) -> Option<PropertyValue> {
    let before = out.len();
    check_value(property, &value, out);
    (out.len() == before).then_some(value)
}

/// Checks one JSON value against a catalog property exactly as the pipeline checks emitted
/// values (type, enum values, nullability, emptiness, length), so that a collector such as
/// `tally dev` judges what arrives by the same rules. Violations name `name`, never the value.
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
/// let bytes = catalog.event("file.uploaded").unwrap().property("bytes").unwrap();
/// let found = tally_runtime::check_json("bytes", bytes, &serde_json::json!("12"));
/// assert_eq!(found[0].to_string(), "property `bytes` must be integer, found a string");
/// assert!(tally_runtime::check_json("bytes", bytes, &serde_json::json!(12)).is_empty());
/// ```
pub fn check_json(name: &str, property: &tally_catalog::model::PropertyDef, value: &Value) -> Vec<Violation> {
    let plan = crate::plan::compile_property("", name, property, &mut Vec::new());
    let mut out = Vec::new();
    check_value(&plan, &PropertyValue::Json(Box::new(value.clone())), &mut out);
    out
}

fn check_value(property: &PropertyPlan, value: &PropertyValue, out: &mut Vec<Violation>) {
    use PropertyValue as V;
    let name = &property.name;
    match value {
        V::Null => {
            if !property.nullable {
                out.push(Violation::Null(name.to_string()));
            }
        }
        V::Json(json) if json.is_null() => {
            if !property.nullable {
                out.push(Violation::Null(name.to_string()));
            }
        }
        _ if property.ty == PropertyType::Array => {
            let Some(items) = value.as_json_array() else {
                out.push(wrong(name, property.ty, kind_of(value)));
                return;
            };
            check_size(property, items.len(), out);
            if let Some(item_ty) = property.items {
                for item in items {
                    check_scalar(property, item_ty, &ScalarRef::Json(item), out);
                }
            }
        }
        _ => {
            check_scalar(property, property.ty, &ScalarRef::Value(value), out);
            // Counting characters costs a pass over the text: only when there is a rule.
            if (property.non_empty || property.max_length.is_some())
                && let Some(text) = value.as_str()
                && matches!(property.ty, PropertyType::String | PropertyType::Enum)
            {
                check_size(property, text.chars().count(), out);
            }
        }
    }
}

/// A scalar to check: an emitted value, or an item of a JSON array.
enum ScalarRef<'a> {
    Value(&'a PropertyValue),
    Json(&'a Value),
}

impl ScalarRef<'_> {
    fn kind(&self) -> Kind<'_> {
        match self {
            ScalarRef::Value(value) => kind_of(value),
            ScalarRef::Json(json) => json_kind(json),
        }
    }
}

/// What a value is, for type checks and messages.
enum Kind<'a> {
    Null,
    Bool,
    Integer,
    Number,
    Text(&'a str),
    Array,
    Object,
}

fn kind_of(value: &PropertyValue) -> Kind<'_> {
    match value {
        PropertyValue::Null => Kind::Null,
        PropertyValue::Bool(_) => Kind::Bool,
        PropertyValue::Int(_) | PropertyValue::UInt(_) => Kind::Integer,
        PropertyValue::Float(_) => Kind::Number,
        PropertyValue::Text(text) => Kind::Text(text),
        PropertyValue::Json(json) => json_kind(json),
    }
}

fn json_kind(json: &Value) -> Kind<'_> {
    match json {
        Value::Null => Kind::Null,
        Value::Bool(_) => Kind::Bool,
        Value::Number(n) if n.is_i64() || n.is_u64() => Kind::Integer,
        Value::Number(_) => Kind::Number,
        Value::String(text) => Kind::Text(text),
        Value::Array(_) => Kind::Array,
        Value::Object(_) => Kind::Object,
    }
}

fn check_size(property: &PropertyPlan, length: usize, out: &mut Vec<Violation>) {
    if property.non_empty && length == 0 {
        out.push(Violation::Empty(property.name.to_string()));
    }
    if let Some(max) = property.max_length
        && length > max as usize
    {
        out.push(Violation::TooLong { property: property.name.to_string(), max, length });
    }
}

fn check_scalar(property: &PropertyPlan, ty: PropertyType, value: &ScalarRef<'_>, out: &mut Vec<Violation>) {
    let kind = value.kind();
    let ok = match (ty, &kind) {
        (PropertyType::String, Kind::Text(_)) => true,
        (PropertyType::Integer, Kind::Integer) => true,
        (PropertyType::Number, Kind::Integer | Kind::Number) => true,
        (PropertyType::Boolean, Kind::Bool) => true,
        (PropertyType::Object, Kind::Object) => true,
        (PropertyType::Datetime, Kind::Text(s)) => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        (PropertyType::Uuid, Kind::Text(s)) => uuid::Uuid::try_parse(s).is_ok(),
        (PropertyType::Enum, Kind::Text(s)) => {
            if !property.values.as_ref().is_some_and(|values| values.iter().any(|v| &**v == *s)) {
                out.push(Violation::NotInEnum { property: property.name.to_string() });
            }
            true
        }
        _ => false,
    };
    if !ok {
        out.push(wrong(&property.name, ty, kind));
    }
}

fn wrong(name: &str, expected: PropertyType, found: Kind<'_>) -> Violation {
    let found = match found {
        Kind::Null => "null",
        Kind::Bool => "a boolean",
        Kind::Number => "a number",
        Kind::Integer => "an integer",
        Kind::Text(_) if matches!(expected, PropertyType::Datetime) => "a string that is not RFC 3339",
        Kind::Text(_) if matches!(expected, PropertyType::Uuid) => "a string that is not a UUID",
        Kind::Text(_) => "a string",
        Kind::Array => "an array",
        Kind::Object => "an object",
    };
    Violation::WrongType { property: name.to_owned(), expected, found }
}
