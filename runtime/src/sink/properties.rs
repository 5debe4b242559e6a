//! [`WireProperties`]: a wire event's properties as the pipeline's last stage leaves them, in
//! the order of the compiled plan, written to JSON straight from there (no `serde_json::Map`
//! per event: the names are the plan's, shared, and most values hold no allocation).

use std::fmt;
use std::ops::Index;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use smol_str::SmolStr;

use crate::value::PropertyValue;

/// A property's name on the wire (namespace included). Names from the compiled plan are
/// shared by every event that carries them; short names are stored inline.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WireName(SmolStr);

impl WireName {
    /// A name known at compile time (`$lib`): nothing is copied.
    pub const fn new_static(name: &'static str) -> Self {
        WireName(SmolStr::new_static(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl std::ops::Deref for WireName {
    type Target = str;
    fn deref(&self) -> &str {
        self.0.as_str()
    }
}

impl From<&str> for WireName {
    fn from(name: &str) -> Self {
        WireName(SmolStr::new(name))
    }
}

impl From<String> for WireName {
    fn from(name: String) -> Self {
        WireName(SmolStr::from(name))
    }
}

impl Serialize for WireName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for WireName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Names read back (from the spool) are few: an owned string each is fine.
        String::deserialize(deserializer).map(WireName::from)
    }
}

impl PartialEq<WireName> for str {
    fn eq(&self, other: &WireName) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<WireName> for &str {
    fn eq(&self, other: &WireName) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<str> for WireName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for WireName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for WireName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for WireName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A wire event's properties: names unique, in the order they were added (the plan's, then
/// `$set`, `$set_once`, `$groups`, `$lib`…). Serializes as a JSON object.
///
/// ```
/// use tally_runtime::sink::WireProperties;
/// let mut properties = WireProperties::new();
/// properties.insert("plan", "pro");
/// properties.insert("seats", 3_u64);
/// assert_eq!(properties["plan"], serde_json::json!("pro"));
/// assert_eq!(properties.get("seats").and_then(|v| v.as_u64()), Some(3));
/// assert_eq!(serde_json::to_string(&properties).unwrap(), r#"{"plan":"pro","seats":3}"#);
/// ```
#[derive(Clone, Default, PartialEq)]
pub struct WireProperties {
    entries: Vec<(WireName, PropertyValue)>,
}

/// What indexing a missing name gives, as `serde_json::Value` does.
static NULL: PropertyValue = PropertyValue::Null;

impl WireProperties {
    /// No properties.
    pub fn new() -> Self {
        Self::default()
    }

    /// No properties, with room for `capacity`.
    pub fn with_capacity(capacity: usize) -> Self {
        WireProperties { entries: Vec::with_capacity(capacity) }
    }

    /// A property's value by wire name.
    pub fn get(&self, name: &str) -> Option<&PropertyValue> {
        self.entries.iter().find(|(n, _)| n.as_str() == name).map(|(_, value)| value)
    }

    /// Whether the property is present.
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets a property, replacing (in place) the value of one already present, which is
    /// returned.
    pub fn insert(&mut self, name: impl Into<WireName>, value: impl Into<PropertyValue>) -> Option<PropertyValue> {
        let name = name.into();
        let value = value.into();
        match self.entries.iter_mut().find(|(n, _)| *n == name) {
            Some((_, old)) => Some(std::mem::replace(old, value)),
            None => {
                self.entries.push((name, value));
                None
            }
        }
    }

    /// Appends a property the caller knows is not present yet (the plan's names are unique).
    #[inline]
    pub(crate) fn push_new(&mut self, name: WireName, value: PropertyValue) {
        debug_assert!(!self.contains_key(&name), "{name} twice");
        self.entries.push((name, value));
    }

    /// Removes a property, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<PropertyValue> {
        let index = self.entries.iter().position(|(n, _)| n.as_str() == name)?;
        Some(self.entries.remove(index).1)
    }

    /// The properties, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &PropertyValue)> {
        self.entries.iter().map(|(name, value)| (name.as_str(), value))
    }

    /// The names, in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> {
        self.entries.iter().map(|(name, _)| name.as_str())
    }

    /// How many properties there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The properties as a JSON object (a copy).
    pub fn to_json(&self) -> Map<String, Value> {
        self.iter().map(|(name, value)| (name.to_owned(), value.to_json())).collect()
    }
}

impl Index<&str> for WireProperties {
    type Output = PropertyValue;

    /// The value, or `null` when the property is absent (as `serde_json::Value` indexes).
    fn index(&self, name: &str) -> &PropertyValue {
        self.get(name).unwrap_or(&NULL)
    }
}

impl fmt::Debug for WireProperties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl fmt::Display for WireProperties {
    /// As JSON.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match serde_json::to_string(self) {
            Ok(json) => f.write_str(&json),
            Err(_) => Err(fmt::Error),
        }
    }
}

impl Serialize for WireProperties {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (name, value) in &self.entries {
            map.serialize_entry(name.as_str(), value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for WireProperties {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = WireProperties;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of properties")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<WireProperties, A::Error> {
                let mut properties = WireProperties::with_capacity(access.size_hint().unwrap_or(8));
                while let Some((name, value)) = access.next_entry::<String, Value>()? {
                    properties.insert(name, PropertyValue::from(value));
                }
                Ok(properties)
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

impl From<Map<String, Value>> for WireProperties {
    fn from(map: Map<String, Value>) -> Self {
        let mut properties = WireProperties::with_capacity(map.len());
        for (name, value) in map {
            properties.push_new(name.into(), value.into());
        }
        properties
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn serializes_as_the_object_it_holds_and_reads_back() {
        let mut properties = WireProperties::new();
        properties.insert("a", "x@y");
        properties.insert("n", -3_i64);
        properties.insert("u", u64::MAX);
        properties.insert("f", 0.5);
        properties.insert("nan", f64::NAN);
        properties.insert("b", true);
        properties.insert("null", PropertyValue::Null);
        properties.insert("nested", json!({"k": [1, "v"]}));
        properties.insert("a", "replaced in place");
        let text = serde_json::to_string(&properties).unwrap_or_default();
        assert_eq!(
            text,
            r#"{"a":"replaced in place","n":-3,"u":18446744073709551615,"f":0.5,"nan":null,"b":true,"null":null,"nested":{"k":[1,"v"]}}"#
        );
        let back: WireProperties = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(back.keys().collect::<Vec<_>>(), ["a", "n", "u", "f", "nan", "b", "null", "nested"]);
        assert_eq!(Value::Object(back.to_json()), serde_json::from_str::<Value>(&text).unwrap_or_default());
        assert_eq!(properties["missing"], PropertyValue::Null);
    }
}
