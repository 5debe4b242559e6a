//! The request id: an incoming one is reused only when it has the shape of an id tally would
//! generate, otherwise one is generated; it goes into the request context (`fill =
//! "request_id"`; handlers read it with `Context::current()?.request_id()`), the request
//! headers (for the handler and inner layers) and the response headers, where one already set
//! is never overwritten.
//!
//! Reused: exactly one value that is a UUID in its hyphenated form (`8-4-4-4-12` hex digits,
//! either case), which is also the shape of the ids tally generates. Anything else (an IP
//! address, a JWT, a card number, an email, a name, free text) is an identifier a client chose
//! and could carry personal data: it is replaced by a fresh id, in the request headers too, so
//! the handler and the events see the same one.
//!
//! All of this is the default, [`RequestIdMode::Set`]; [`TrackLayer::request_id`] chooses
//! another [`RequestIdMode`]: reading an id another layer set ([`RequestIdMode::Read`]), or
//! none at all ([`RequestIdMode::Off`]).
//!
//! [`TrackLayer::request_id`]: crate::TrackLayer::request_id

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::header::Entry;
use http::{HeaderMap, HeaderName, HeaderValue};

/// The default header, `x-request-id`.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What [`TrackLayer`](crate::TrackLayer) does with the request id header
/// ([`TrackLayer::request_id`](crate::TrackLayer::request_id); the header is
/// [`TrackLayer::request_id_header`](crate::TrackLayer::request_id_header)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RequestIdMode {
    /// The default: reuses the incoming id when it is one UUID-shaped value, else generates one
    /// and writes it into the request headers in its place; the context and the events carry
    /// it, and the response echoes it (unless the handler or an inner layer set one). With or
    /// without a tracker.
    #[default]
    Set,
    /// Reads the id another layer set (tower-http's `SetRequestIdLayer` outside this one, a
    /// proxy), for the context and the events, under the same rule as [`RequestIdMode::Set`]:
    /// one UUID-shaped value, else none. Never generates one, never writes a header (the
    /// response's is that layer's job: tower-http's `PropagateRequestIdLayer`). One header
    /// lookup per tracked request; none without a tracker.
    Read,
    /// Never looks at the header: no request id in the context or the events (a `request_id`
    /// property with `fill = "request_id"` stays empty), none on the response. The cheapest.
    Off,
}

/// Whether an incoming id may be reused: a hyphenated UUID (version and variant bits are not
/// checked: tally's own ids are UUID-shaped without being version-4 UUIDs).
pub(crate) fn is_reusable(value: &[u8]) -> bool {
    value.len() == 36
        && value.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// The request's id: the incoming one if reusable (and alone), else a new one written into
/// the request headers in its place (one lookup of the header either way). A generated id costs
/// one allocation: its bytes, shared by the request's and the response's header values (the
/// context's copy, when there is a context, is read back from it).
pub(crate) fn resolve(headers: &mut HeaderMap, name: &HeaderName) -> HeaderValue {
    match headers.entry(name) {
        Entry::Occupied(mut entry) => {
            if let Some(value) = single_reusable(entry.iter()) {
                return value.clone();
            }
            // Replaces every value the client sent.
            let id = new_id();
            entry.insert(id.clone());
            id
        }
        Entry::Vacant(entry) => {
            let id = new_id();
            entry.insert(id.clone());
            id
        }
    }
}

/// The incoming id another layer set, under the rule of [`resolve`]: exactly one value, UUID
/// shaped; `None` otherwise (nothing is written).
pub(crate) fn read(headers: &HeaderMap, name: &HeaderName) -> Option<HeaderValue> {
    single_reusable(headers.get_all(name).iter()).cloned()
}

/// The one value of a header when it is alone and reusable ([`is_reusable`]).
fn single_reusable<'a>(mut values: impl Iterator<Item = &'a HeaderValue>) -> Option<&'a HeaderValue> {
    match (values.next(), values.next()) {
        (Some(value), None) if is_reusable(value.as_bytes()) => Some(value),
        _ => None,
    }
}

/// A generated id as a header value.
fn new_id() -> HeaderValue {
    let mut id = [0; ID_LEN];
    generate_into(&mut id);
    // A generated id is always a valid header value (hex digits and `-`).
    HeaderValue::from_maybe_shared(Bytes::from_owner(id)).unwrap_or(HeaderValue::from_static("-"))
}

/// The id as text, for the request context (a reused id was checked to be a UUID, a generated
/// one is hex digits and `-`: both are ASCII).
pub(crate) fn as_text(value: &HeaderValue) -> String {
    value.to_str().unwrap_or_default().to_owned()
}

/// Sets the id on the response unless a handler or inner layer already set one (`None`: an id
/// this layer does not echo, or none).
pub(crate) fn propagate(headers: &mut HeaderMap, name: &HeaderName, value: Option<HeaderValue>) {
    if let Some(value) = value
        && let Entry::Vacant(entry) = headers.entry(name)
    {
        entry.insert(value);
    }
}

/// The length of an id: a hyphenated UUID.
const ID_LEN: usize = 36;

/// A new id, written into `out`: a random 64-bit prefix drawn once per process and a counter,
/// shaped like a UUID (`8-4-4-4-12` hex digits). Unique across processes with overwhelming
/// probability; cheap (no system call, no allocation, no formatting machinery per request: uuid's
/// encoder, a table lookup per byte).
fn generate_into(out: &mut [u8; ID_LEN]) {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| {
        let random = uuid::Uuid::now_v7().as_u128();
        (random as u64) ^ ((random >> 64) as u64)
    });
    let value = (u128::from(prefix) << 64) | u128::from(COUNTER.fetch_add(1, Ordering::Relaxed));
    uuid::Uuid::from_u128(value).hyphenated().encode_lower(out);
}

/// A new id as text.
#[cfg(test)]
pub(crate) fn generate() -> String {
    let mut id = [0; ID_LEN];
    generate_into(&mut id);
    String::from_utf8_lossy(&id).into_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reuses_uuids_and_replaces_everything_else() {
        for uuid in ["0b8e2a4c-6f1d-4d2e-9c33-5a7e1f0b9d21", "0B8E2A4C-6F1D-4D2E-9C33-5A7E1F0B9D21", &generate()] {
            let mut headers = HeaderMap::new();
            headers.insert(X_REQUEST_ID, HeaderValue::from_str(uuid).unwrap());
            assert_eq!(resolve(&mut headers, &X_REQUEST_ID), uuid);
        }
        let others: [&[u8]; 14] = [
            b"abc-123",
            b"req-abc.123",
            b"203.0.113.77",
            b"2001:db8::1",
            b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig",
            b"4111-1111-1111-1111",
            b"a@b.example",
            b"has space",
            b"",
            b"0b8e2a4c6f1d4d2e9c335a7e1f0b9d21",
            b"0b8e2a4c-6f1d-4d2e-9c33-5a7e1f0b9d21x",
            b"{0b8e2a4c-6f1d-4d2e-9c33-5a7e1f0b9d2}",
            b"0b8e2a4c-6f1d-4d2e-9c33_5a7e1f0b9d21",
            b"\xff\xfe",
        ];
        for other in others {
            let mut headers = HeaderMap::new();
            headers.insert(X_REQUEST_ID, HeaderValue::from_bytes(other).unwrap());
            let id = as_text(&resolve(&mut headers, &X_REQUEST_ID));
            assert_ne!(id.as_bytes(), other);
            assert!(is_reusable(id.as_bytes()));
            assert_eq!(headers.get(X_REQUEST_ID).unwrap().to_str().unwrap(), id);
        }
        let mut headers = HeaderMap::new();
        let (one, two) = (generate(), generate());
        headers.append(X_REQUEST_ID, HeaderValue::from_str(&one).unwrap());
        headers.append(X_REQUEST_ID, HeaderValue::from_str(&two).unwrap());
        let id = as_text(&resolve(&mut headers, &X_REQUEST_ID));
        assert!(id != one && id != two, "two values: neither is trusted");
    }

    #[test]
    fn generated_ids_are_uuids_the_layer_would_reuse() {
        let (one, two) = (generate(), generate());
        assert_ne!(one, two);
        for id in [one, two] {
            assert!(uuid::Uuid::try_parse(&id).is_ok_and(|uuid| uuid.hyphenated().to_string() == id), "{id}");
            assert!(is_reusable(id.as_bytes()), "{id}");
        }
    }

    #[test]
    fn generated_ids_differ_across_threads() {
        let mut ids: Vec<String> = (0..100).map(|_| generate()).collect();
        let other_thread = std::thread::spawn(|| (0..100).map(|_| generate()).collect::<Vec<_>>());
        ids.extend(other_thread.join().unwrap());
        assert!(ids.iter().all(|id| is_reusable(id.as_bytes())), "{ids:?}");
        let count = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), count, "every id differs");
    }

    #[test]
    fn reads_only_one_uuid_shaped_id_and_writes_nothing() {
        let uuid = "0b8e2a4c-6f1d-4d2e-9c33-5a7e1f0b9d21";
        let mut headers = HeaderMap::new();
        assert_eq!(read(&headers, &X_REQUEST_ID), None);
        assert!(headers.is_empty());
        headers.insert(X_REQUEST_ID, HeaderValue::from_static(uuid));
        assert_eq!(read(&headers, &X_REQUEST_ID).unwrap(), uuid);
        headers.insert(X_REQUEST_ID, HeaderValue::from_static("ada@example.com"));
        assert_eq!(read(&headers, &X_REQUEST_ID), None, "not an id tally would reuse");
        headers.insert(X_REQUEST_ID, HeaderValue::from_static(uuid));
        headers.append(X_REQUEST_ID, HeaderValue::from_static(uuid));
        assert_eq!(read(&headers, &X_REQUEST_ID), None, "two values: neither is trusted");
    }

    #[test]
    fn never_overwrites_a_response_id() {
        let mut headers = HeaderMap::new();
        headers.insert(X_REQUEST_ID, HeaderValue::from_static("inner"));
        propagate(&mut headers, &X_REQUEST_ID, Some(HeaderValue::from_static("ours")));
        assert_eq!(headers.get(X_REQUEST_ID).unwrap(), "inner");
    }
}
