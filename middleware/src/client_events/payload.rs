//! The bodies a front end posts, read into events: posthog-js's capture payloads (one event,
//! an array of events, `{"batch": [...]}`; JSON, or `data=` form-encoded as JSON or base64)
//! and a plain `{"event", "properties"}`. Nothing here trusts the body's identity.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};

/// One event as a front end posted it: its name and properties, the identity keys removed.
#[derive(Debug)]
pub(crate) struct PostedEvent {
    pub(crate) name: String,
    pub(crate) properties: Map<String, Value>,
}

/// Why a body is not a payload tally reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// gzip (posthog-js's default compression): the endpoint reads uncompressed bodies only.
    Compressed,
    /// Not JSON (nor form data carrying JSON or base64 JSON).
    NotJson,
    /// JSON of the wrong shape; the text says which.
    Shape(&'static str),
}

impl Malformed {
    /// The answer's text: what is wrong, never the body.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Malformed::Compressed => {
                "the body is compressed; configure posthog-js with `disable_compression: true` (the endpoint reads \
                 JSON, or `data=` form data)"
            }
            Malformed::NotJson => "the body is not JSON, nor `data=` form data carrying JSON or base64 JSON",
            Malformed::Shape(what) => what,
        }
    }
}

/// Properties that say who the event is about or which project it is for. The identity comes
/// from the request's context and the project key from the tracker: these are never read,
/// whatever the catalog declares.
const IDENTITY_KEYS: [&str; 9] = [
    "distinct_id",
    "token",
    "api_key",
    "$set",
    "$set_once",
    "$unset",
    "$groups",
    "$anon_distinct_id",
    "$process_person_profile",
];

/// The gzip magic number, which posthog-js's `gzip-js` bodies start with.
const GZIP: [u8; 2] = [0x1f, 0x8b];

/// posthog-js's base64: the standard alphabet, padded (accepted without padding too).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The body as the JSON values of its events (not yet checked one by one).
pub(crate) fn events(content_type: Option<&str>, body: &[u8]) -> Result<Vec<Value>, Malformed> {
    let value: Value = serde_json::from_slice(&json_text(content_type, body)?).map_err(|_| Malformed::NotJson)?;
    match value {
        // posthog-js with request batching (its default) posts an array to `/e/`.
        Value::Array(items) => Ok(items),
        Value::Object(mut object) => match object.remove("batch") {
            // The `/batch/` endpoint's shape (server SDKs, posthog-js-lite).
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(Malformed::Shape("`batch` must be an array of events")),
            None => Ok(vec![Value::Object(object)]),
        },
        _ => Err(Malformed::Shape(
            "the body must be an event object, an array of events, or an object with a `batch` array",
        )),
    }
}

/// One event of the body: a non-empty `event` name and an object (or nothing) as
/// `properties`. Everything else on it (`distinct_id`, `$set`, `uuid`, `timestamp`, …) is
/// never read, and neither are the identity keys among its properties.
pub(crate) fn event(value: Value) -> Result<PostedEvent, Malformed> {
    let Value::Object(mut object) = value else {
        return Err(Malformed::Shape("each event must be a JSON object"));
    };
    let name = match object.remove("event") {
        Some(Value::String(name)) if !name.trim().is_empty() => name,
        _ => return Err(Malformed::Shape("each event needs a non-empty `event` string")),
    };
    let mut properties = match object.remove("properties") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(properties)) => properties,
        Some(_) => return Err(Malformed::Shape("`properties` must be a JSON object")),
    };
    for key in IDENTITY_KEYS {
        properties.remove(key);
    }
    Ok(PostedEvent { name, properties })
}

/// The JSON text of the body: as is, or the `data` field of form data (posthog-js's `base64`
/// compression, and older posthog-js versions without compression), base64-decoded when it
/// is not JSON already.
fn json_text(content_type: Option<&str>, body: &[u8]) -> Result<Vec<u8>, Malformed> {
    if body.starts_with(&GZIP) {
        return Err(Malformed::Compressed);
    }
    let is_form = content_type
        .is_some_and(|value| value.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"))
        || body.starts_with(b"data=");
    if !is_form {
        return Ok(body.to_vec());
    }
    let data = form_urlencoded::parse(body)
        .find(|(key, _)| key == "data")
        .map(|(_, value)| value.into_owned())
        .ok_or(Malformed::Shape("form data without a `data` field"))?;
    let trimmed = data.trim();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return Ok(data.into_bytes());
    }
    let decoded = BASE64.decode(trimmed).map_err(|_| Malformed::NotJson)?;
    if decoded.starts_with(&GZIP) {
        return Err(Malformed::Compressed);
    }
    Ok(decoded)
}

/// The size of a property's value as JSON text, counted without building the text.
pub(crate) fn json_size(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing a `Value` into a sink that never fails cannot fail; were it to, the count so far
    // is still a lower bound, and the body cap bounds it anyway.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn names(content_type: Option<&str>, body: &[u8]) -> Vec<String> {
        events(content_type, body).unwrap().into_iter().map(|v| event(v).unwrap().name).collect()
    }

    #[test]
    fn every_posthog_shape_reads_the_same_events() {
        let one = br#"{"event":"a","properties":{"x":1}}"#;
        assert_eq!(names(Some("application/json"), one), ["a"]);
        assert_eq!(names(None, br#"[{"event":"a"},{"event":"b"}]"#), ["a", "b"]);
        assert_eq!(names(None, br#"{"api_key":"k","batch":[{"event":"a"},{"event":"b"}]}"#), ["a", "b"]);
        let form = format!("data={}", form_urlencoded::byte_serialize(br#"[{"event":"a"}]"#).collect::<String>());
        assert_eq!(names(Some("application/x-www-form-urlencoded"), form.as_bytes()), ["a"]);
        let base64 = BASE64.encode(br#"{"event":"b","properties":{}}"#);
        let form = format!("data={}", form_urlencoded::byte_serialize(base64.as_bytes()).collect::<String>());
        assert_eq!(names(Some("application/x-www-form-urlencoded"), form.as_bytes()), ["b"]);
    }

    #[test]
    fn identity_keys_in_the_properties_are_never_read() {
        let posted = json!({"event": "a", "distinct_id": "evil", "$set": {"email": "x"},
            "properties": {"distinct_id": "evil", "token": "phc", "$set": {"a": 1}, "$groups": {"o": "x"}, "kept": 1}});
        let posted = event(posted).unwrap();
        assert_eq!(posted.properties.keys().collect::<Vec<_>>(), ["kept"]);
    }

    #[test]
    fn malformed_bodies_are_named_not_echoed() {
        assert_eq!(events(None, b"\x1f\x8b\x08\x00").unwrap_err(), Malformed::Compressed);
        assert_eq!(events(None, b"not json").unwrap_err(), Malformed::NotJson);
        assert_eq!(events(None, b"data=%%%").unwrap_err(), Malformed::NotJson);
        assert!(matches!(events(None, b"42").unwrap_err(), Malformed::Shape(_)));
        assert!(matches!(events(None, br#"{"batch":{}}"#).unwrap_err(), Malformed::Shape(_)));
        for bad in [json!(1), json!({"event": ""}), json!({"event": 3}), json!({"event": "a", "properties": []})] {
            assert!(matches!(event(bad).unwrap_err(), Malformed::Shape(_)));
        }
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(events(None, deep.as_bytes()).unwrap_err(), Malformed::NotJson, "serde_json's depth limit");
    }

    #[test]
    fn json_size_is_the_serialized_length() {
        for value in [json!("héllo"), json!([1, 2, {"a": null}]), json!(12.5)] {
            assert_eq!(json_size(&value), serde_json::to_string(&value).unwrap().len());
        }
    }
}
