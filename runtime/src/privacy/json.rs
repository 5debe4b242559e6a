//! The free-text scrub over a JSON value: strings, array items, object values and object
//! keys, at any depth.

use std::borrow::Cow;

use serde_json::{Map, Value};
use smallvec::SmallVec;

use super::scrub::{scrub, scrub_str};

/// Scrubs every string inside a JSON value, object keys included, and replaces a whole number
/// that is a card number; returns the number of redactions.
///
/// A key that holds personal data is replaced by its scrubbed form, and moves to the end of
/// the object. When that form is already a key (two addresses as keys, or a key that was
/// literally `[email]`), it gets the first free suffix `#2`, `#3`, …: no value is lost or
/// merged into another, and each key's redactions are counted.
///
/// ```
/// use serde_json::json;
/// let mut value = json!({"ada@example.com": 1, "bob@example.com": 2, "k": ["10.0.0.1", 3]});
/// assert_eq!(tally_runtime::privacy::scrub_value(&mut value), 3);
/// assert_eq!(value, json!({"[email]": 1, "[email]#2": 2, "k": ["[ip]", 3]}));
/// ```
pub fn scrub_value(value: &mut Value) -> usize {
    match value {
        Value::String(text) => scrub(text),
        Value::Array(items) => items.iter_mut().map(scrub_value).sum(),
        Value::Object(map) => scrub_object(map),
        Value::Number(number) => {
            let whole = number.as_u64().or_else(|| number.as_f64().and_then(super::whole));
            match whole.and_then(super::card_number) {
                Some(placeholder) => {
                    *value = Value::String(placeholder.to_owned());
                    1
                }
                None => 0,
            }
        }
        Value::Null | Value::Bool(_) => 0,
    }
}

fn scrub_object(map: &mut Map<String, Value>) -> usize {
    let mut count: usize = map.values_mut().map(scrub_value).sum();
    // Nothing is allocated unless a key is personal.
    let mut personal: SmallVec<[(String, String, usize); 2]> = SmallVec::new();
    for key in map.keys() {
        if let (Cow::Owned(scrubbed), n) = scrub_str(key) {
            personal.push((key.clone(), scrubbed, n));
        }
    }
    for (key, scrubbed, n) in personal {
        if let Some(value) = map.remove(&key) {
            let free = free_key(map, scrubbed);
            map.insert(free, value);
            count += n;
        }
    }
    count
}

/// `key` if the map does not hold it, else `key#2`, `key#3`, … whichever is free first.
fn free_key(map: &Map<String, Value>, key: String) -> String {
    if !map.contains_key(&key) {
        return key;
    }
    (2..).map(|n| format!("{key}#{n}")).find(|candidate| !map.contains_key(candidate)).unwrap_or(key)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn scrubs_keys_values_and_items_at_any_depth() {
        let mut value = json!({
            "a": ["x@y.io", 3, {"deep 10.0.0.1": "ok"}],
            "b": {"c": "10.0.0.1", "ada@example.com": "Bearer abc123"},
            "[email]": "kept",
        });
        assert_eq!(scrub_value(&mut value), 5);
        assert_eq!(
            value,
            json!({
                "a": ["[email]", 3, {"deep [ip]": "ok"}],
                "b": {"c": "[ip]", "[email]": "[credential]"},
                "[email]": "kept",
            })
        );
    }

    #[test]
    fn colliding_keys_stay_distinct() {
        let mut value = json!({"[email]": 0, "a@example.com": 1, "b@example.com": 2});
        assert_eq!(scrub_value(&mut value), 2);
        let map = value.as_object().unwrap_or_else(|| unreachable!());
        assert_eq!(map.len(), 3);
        assert_eq!(map["[email]"], json!(0));
        let mut moved = [map["[email]#2"].clone(), map["[email]#3"].clone()];
        moved.sort_by_key(|v| v.as_i64());
        assert_eq!(moved, [json!(1), json!(2)]);
    }
}
