//! PostHog's capture wire format: decoding, parsing and checking one request body.
//!
//! Everything here is synchronous and free of I/O: [`process`] turns a request's headers and
//! body into the events to store and the events to drop, or into the [`Refusal`] the whole
//! request gets.

use std::borrow::Cow;
use std::io::{self, Read, Write};

use axum::http::header::CONTENT_ENCODING;
use axum::http::{HeaderMap, StatusCode};
use flate2::read::MultiGzDecoder;
use serde_json::{Map, Value, json};

use super::{Config, MAX_DISTINCT_ID_CHARS, ReceivedEvent, Rejection};

/// How much of a body a [`Rejection`] keeps.
pub(super) const EXCERPT_BYTES: usize = 1024;

/// Why a whole request is refused: the HTTP answer, in PostHog's error shape.
#[derive(Debug)]
pub(super) struct Refusal {
    pub(super) status: StatusCode,
    /// PostHog's error `type`, e.g. `validation_error`.
    kind: &'static str,
    /// PostHog's error `code`, e.g. `invalid_payload`.
    code: &'static str,
    pub(super) detail: String,
    pub(super) batch_index: Option<usize>,
    pub(super) event: Option<String>,
}

impl Refusal {
    /// `400`: the request does not hold valid events.
    pub(super) fn invalid(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "validation_error", "invalid_payload", detail.into())
    }

    /// `401`: the project API key is missing or not the expected one.
    fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "authentication_error", "invalid_api_key", detail.into())
    }

    /// `400`: an event's `distinct_id` is on the receiver's refused list.
    pub(super) fn refused_id(index: usize, event: &str) -> Self {
        let mut refusal = Self::invalid(format!("an event's distinct_id is refused (batch index {index})"));
        refusal.batch_index = Some(index);
        refusal.event = Some(event.to_owned());
        refusal
    }

    /// `413`: the body is larger than the limit.
    pub(super) fn too_large(limit: usize) -> Self {
        let detail = format!("request body is larger than {limit} bytes");
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "validation_error", "payload_too_large", detail)
    }

    /// `404`: not a capture endpoint.
    pub(super) fn not_found(method: &str, path: &str) -> Self {
        let detail = format!("no capture endpoint at {method} {path}");
        Self::new(StatusCode::NOT_FOUND, "invalid_request", "not_found", detail)
    }

    /// `405`: a capture endpoint, but not `POST`.
    pub(super) fn method_not_allowed(method: &str, path: &str) -> Self {
        let detail = format!("{path} accepts POST, not {method}");
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "invalid_request", "method_not_allowed", detail)
    }

    fn new(status: StatusCode, kind: &'static str, code: &'static str, detail: String) -> Self {
        Self { status, kind, code, detail, batch_index: None, event: None }
    }

    /// Blame one event of the batch.
    fn at(mut self, index: usize, event: &Value) -> Self {
        self.detail = format!("{} (batch index {index})", self.detail);
        self.batch_index = Some(index);
        self.event = event.get("event").and_then(Value::as_str).map(str::to_owned);
        self
    }

    /// The JSON body PostHog answers errors with.
    pub(super) fn body(&self) -> Value {
        json!({"type": self.kind, "code": self.code, "detail": self.detail, "attr": null})
    }

    /// The record of this refusal.
    pub(super) fn rejection(&self, request: usize, path: &str, body: &[u8]) -> Rejection {
        Rejection {
            status: self.status,
            reason: self.detail.clone(),
            path: path.to_owned(),
            request,
            event: self.event.clone(),
            batch_index: self.batch_index,
            body_excerpt: excerpt(body),
        }
    }
}

/// What one request is: its number and path, its headers and query, its (still encoded) body.
pub(super) struct Request<'a> {
    pub(super) number: usize,
    pub(super) path: &'a str,
    pub(super) query: Option<&'a str>,
    pub(super) headers: &'a HeaderMap,
    pub(super) body: &'a [u8],
}

/// What an accepted request leaves: events to store, oversized events to record as dropped.
pub(super) struct Outcome {
    /// How many good events the request held (kept in `events` when the receiver keeps them).
    pub(super) accepted: usize,
    pub(super) events: Vec<ReceivedEvent>,
    pub(super) dropped: Vec<Rejection>,
}

/// A refused request: the answer, and the record to keep (with the decoded body when it got
/// that far).
pub(super) struct Refused {
    pub(super) refusal: Refusal,
    pub(super) rejection: Rejection,
}

/// Decode, parse and check a capture request, the way PostHog's capture does.
pub(super) fn process(config: &Config, request: &Request<'_>) -> Result<Outcome, Box<Refused>> {
    let refuse = |refusal: Refusal, body: &[u8]| {
        let rejection = refusal.rejection(request.number, request.path, body);
        Box::new(Refused { refusal, rejection })
    };
    let body = decode(request.headers, request.query, request.body, config.max_body_bytes)
        .map_err(|refusal| refuse(refusal, request.body))?;
    let payload = parse(&body).map_err(|refusal| refuse(refusal, &body))?;
    let checked = check(config, &payload).map_err(|refusal| refuse(refusal, &body))?;

    let kept = if config.keep_events { checked.len() } else { 0 };
    let mut outcome = Outcome { accepted: 0, events: Vec::with_capacity(kept), dropped: Vec::new() };
    // Measuring means serializing again: skip it when the body is too small to hold an
    // oversized event (with room for re-serialization to lengthen numbers like `1e2`).
    let may_be_oversized = body.len().saturating_mul(2) > config.max_event_bytes;
    let Payload { events, sent_at, historical_migration, .. } = &payload;
    // Kept events get their raw object moved in once `checked` no longer borrows it.
    let mut kept_at = Vec::with_capacity(kept);
    for (batch_index, (raw, event)) in events.iter().zip(checked).enumerate() {
        let size = if may_be_oversized { json_len(raw) } else { 0 };
        if size > config.max_event_bytes {
            let reason = format!(
                "event is larger than {} bytes ({size} bytes): dropped (batch index {batch_index})",
                config.max_event_bytes
            );
            outcome.dropped.push(Rejection {
                status: StatusCode::OK,
                reason,
                path: request.path.to_owned(),
                request: request.number,
                event: Some(event.event.to_owned()),
                batch_index: Some(batch_index),
                body_excerpt: excerpt(raw.to_string().as_bytes()),
            });
            continue;
        }
        outcome.accepted += 1;
        if !config.keep_events {
            continue;
        }
        outcome.events.push(ReceivedEvent {
            uuid: event.uuid.map(str::to_owned),
            event: event.event.to_owned(),
            distinct_id: event.distinct_id.into_owned(),
            timestamp: event.timestamp.map(str::to_owned),
            properties: Value::Object(event.properties.cloned().unwrap_or_default()),
            api_key: event.api_key.to_owned(),
            batch_index,
            request: request.number,
            path: request.path.to_owned(),
            sent_at: sent_at.clone(),
            historical_migration: *historical_migration,
            raw: Value::Null,
        });
        kept_at.push(batch_index);
    }
    let mut events = payload.events;
    for (kept, index) in outcome.events.iter_mut().zip(kept_at) {
        if let Some(raw) = events.get_mut(index) {
            kept.raw = std::mem::take(raw);
        }
    }
    Ok(outcome)
}

/// Undo gzip when the header, the `compression` query parameter or the magic bytes say so.
fn decode<'a>(
    headers: &HeaderMap,
    query: Option<&str>,
    body: &'a [u8],
    limit: usize,
) -> Result<Cow<'a, [u8]>, Refusal> {
    let header = match headers.get(CONTENT_ENCODING).map(|value| value.to_str()) {
        None => None,
        Some(Ok(value)) => Some(value.trim().to_ascii_lowercase()),
        Some(Err(_)) => return Err(Refusal::invalid("Content-Encoding is not ASCII")),
    };
    let header_gzip = match header.as_deref() {
        None | Some("" | "identity") => false,
        Some("gzip" | "x-gzip") => true,
        Some(other) => return Err(Refusal::invalid(format!("unsupported Content-Encoding `{other}`"))),
    };
    let query_gzip = match compression_param(query) {
        None | Some("") => false,
        Some("gzip" | "gzip-js") => true,
        Some(other) => return Err(Refusal::invalid(format!("unsupported compression `{other}`"))),
    };
    let magic = body.starts_with(&[0x1f, 0x8b]);
    if !(header_gzip || query_gzip || magic) {
        return Ok(Cow::Borrowed(body));
    }
    let mut decoded = Vec::new();
    let limit_plus_one = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    MultiGzDecoder::new(body)
        .take(limit_plus_one)
        .read_to_end(&mut decoded)
        .map_err(|error| Refusal::invalid(format!("body is not valid gzip: {error}")))?;
    if decoded.len() > limit {
        return Err(Refusal::too_large(limit));
    }
    Ok(Cow::Owned(decoded))
}

/// The value of the `compression` query parameter, if present.
fn compression_param(query: Option<&str>) -> Option<&str> {
    query?.split('&').find_map(|pair| match pair.split_once('=') {
        Some(("compression", value)) => Some(value),
        None if pair == "compression" => Some(""),
        _ => None,
    })
}

/// A parsed body: the batch envelope's fields, and the events as they arrived.
struct Payload {
    api_key: Option<String>,
    sent_at: Option<String>,
    historical_migration: bool,
    events: Vec<Value>,
}

/// Accept one event, an array of events, or a `{batch: [...]}` envelope.
fn parse(body: &[u8]) -> Result<Payload, Refusal> {
    let value: Value =
        serde_json::from_slice(body).map_err(|error| Refusal::invalid(format!("malformed request data: {error}")))?;
    let payload = match value {
        Value::Array(events) => Payload { api_key: None, sent_at: None, historical_migration: false, events },
        Value::Object(mut envelope) if envelope.contains_key("batch") => {
            let Some(Value::Array(events)) = envelope.remove("batch") else {
                return Err(Refusal::invalid("`batch` must be an array of events"));
            };
            Payload {
                api_key: api_key(&envelope).map(str::to_owned),
                sent_at: envelope.get("sent_at").and_then(Value::as_str).map(str::to_owned),
                historical_migration: envelope.get("historical_migration").and_then(Value::as_bool).unwrap_or(false),
                events,
            }
        }
        event @ Value::Object(_) => {
            Payload { api_key: None, sent_at: None, historical_migration: false, events: vec![event] }
        }
        _ => return Err(Refusal::invalid("request must be an event, an array of events or a batch")),
    };
    if payload.events.is_empty() {
        return Err(Refusal::invalid("request holds no events"));
    }
    Ok(payload)
}

/// A project API key as PostHog reads it: `api_key`, else `token`; empty means absent.
fn api_key(object: &Map<String, Value>) -> Option<&str> {
    ["api_key", "token"].iter().filter_map(|key| object.get(*key)?.as_str()).find(|key| !key.is_empty())
}

/// One event's checked fields, borrowed from the parsed body (copied only when kept).
struct Checked<'a> {
    event: &'a str,
    /// Truncated, or a number as text.
    distinct_id: Cow<'a, str>,
    uuid: Option<&'a str>,
    timestamp: Option<&'a str>,
    properties: Option<&'a Map<String, Value>>,
    api_key: &'a str,
}

/// Check every event, and the API key; the first failure refuses the whole request.
fn check<'a>(config: &Config, payload: &'a Payload) -> Result<Vec<Checked<'a>>, Refusal> {
    // The key comes first, as in PostHog: a request with no valid key learns nothing more.
    let mut keys = Vec::with_capacity(payload.events.len());
    for (index, raw) in payload.events.iter().enumerate() {
        let own =
            raw.as_object().and_then(|event| api_key(event).or_else(|| api_key(event.get("properties")?.as_object()?)));
        let Some(key) = payload.api_key.as_deref().or(own) else {
            let refusal = Refusal::unauthorized(
                "API key not provided. You can find your project API key in PostHog project settings.",
            );
            return Err(if payload.events.len() > 1 { refusal.at(index, raw) } else { refusal });
        };
        if config.api_key.as_ref().is_some_and(|expected| *expected != key) {
            return Err(Refusal::unauthorized(
                "Project API key invalid. You can find your project API key in PostHog project settings.",
            ));
        }
        keys.push(key);
    }
    payload
        .events
        .iter()
        .zip(keys)
        .enumerate()
        .map(|(index, (raw, api_key))| check_event(raw, api_key).map_err(|refusal| refusal.at(index, raw)))
        .collect()
}

fn check_event<'a>(raw: &'a Value, api_key: &'a str) -> Result<Checked<'a>, Refusal> {
    let Some(object) = raw.as_object() else {
        return Err(Refusal::invalid("an event is not a JSON object"));
    };
    let event = match object.get("event") {
        None | Some(Value::Null) => return Err(Refusal::invalid("one or more events is missing an event name")),
        Some(Value::String(name)) if name.is_empty() => {
            return Err(Refusal::invalid("one or more events has an empty event name"));
        }
        Some(Value::String(name)) => name.as_str(),
        Some(_) => return Err(Refusal::invalid("an event name is not a string")),
    };
    let properties = match object.get("properties") {
        None | Some(Value::Null) => None,
        Some(Value::Object(properties)) => Some(properties),
        Some(_) => return Err(Refusal::invalid("event properties are not a JSON object")),
    };
    let distinct_id =
        match object.get("distinct_id").filter(|id| !id.is_null()).or_else(|| properties?.get("distinct_id")) {
            None | Some(Value::Null) => return Err(Refusal::invalid("one or more events is missing a distinct_id")),
            Some(Value::String(id)) if id.is_empty() => {
                return Err(Refusal::invalid("one or more events has an empty distinct_id"));
            }
            Some(Value::String(id)) => match id.char_indices().nth(MAX_DISTINCT_ID_CHARS) {
                Some((cut, _)) => Cow::Borrowed(&id[..cut]),
                None => Cow::Borrowed(id.as_str()),
            },
            Some(Value::Number(id)) => Cow::Owned(id.to_string()),
            Some(_) => return Err(Refusal::invalid("a distinct_id is neither a string nor a number")),
        };
    let uuid = match object.get("uuid") {
        None | Some(Value::Null) => None,
        Some(Value::String(uuid)) if is_uuid(uuid) => Some(uuid.as_str()),
        Some(_) => return Err(Refusal::invalid("an event uuid is not a valid UUID")),
    };
    let timestamp = match object.get("timestamp") {
        None | Some(Value::Null) => None,
        Some(Value::String(timestamp)) => Some(timestamp.as_str()),
        Some(_) => return Err(Refusal::invalid("an event timestamp is not a string")),
    };
    Ok(Checked { event, distinct_id, uuid, timestamp, properties, api_key })
}

/// The hyphenated form `8-4-4-4-12` of hex digits (any version).
fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, byte)| match i {
            8 | 13 | 18 | 23 => *byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        })
}

/// The length of a value's compact JSON, without building it.
fn json_len(value: &Value) -> usize {
    struct Count(usize);
    impl Write for Count {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing a `Value` to a sink that never fails cannot fail.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// The start of a body as text, cut at a character boundary.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_BYTES)]);
    if body.len() <= EXCERPT_BYTES {
        return text.into_owned();
    }
    // A multi-byte character cut in two shows as U+FFFD at the end; drop it.
    let text = text.trim_end_matches('\u{fffd}');
    format!("{text}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        assert!(is_uuid("0190a6c4-6d1e-7b3e-9d2a-4f1c2b3a4d5e"));
        assert!(!is_uuid("0190a6c4-6d1e-7b3e-9d2a-4f1c2b3a4d5"));
        assert!(!is_uuid("0190a6c4x6d1e-7b3e-9d2a-4f1c2b3a4d5e"));
    }

    #[test]
    fn compression_query() {
        assert_eq!(compression_param(Some("ver=1&compression=gzip-js")), Some("gzip-js"));
        assert_eq!(compression_param(Some("ver=1")), None);
        assert_eq!(compression_param(None), None);
    }

    #[test]
    fn json_len_matches_serialization() {
        let value = json!({"event": "é", "n": [1, 2, null]});
        assert_eq!(json_len(&value), value.to_string().len());
    }

    #[test]
    fn excerpt_is_bounded() {
        assert_eq!(excerpt(b"short"), "short");
        let long = "é".repeat(EXCERPT_BYTES);
        let cut = excerpt(long.as_bytes());
        assert!(cut.ends_with('…'));
        assert!(!cut.contains('\u{fffd}'));
        assert!(cut.len() <= EXCERPT_BYTES + '…'.len_utf8());
    }
}
