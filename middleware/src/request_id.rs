//! The request id: a sane incoming one is reused, otherwise one is generated; it goes into the
//! request context (`fill = "request_id"`; handlers read it with
//! `Context::current()?.get_request_id()`), the request headers (for the handler and inner
//! layers) and the response headers, where one already set is never overwritten.
//!
//! Sane: 1 to 128 characters of `A-Z a-z 0-9 - _ . :` (an id, not free text that could carry
//! personal data). A request with several values, or an insane one, gets a fresh id in place
//! of the client's.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use http::{HeaderMap, HeaderName, HeaderValue};

/// The default header, `x-request-id`.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest request id reused.
const MAX_LEN: usize = 128;

/// Whether an incoming id may be reused.
pub(crate) fn is_sane(value: &[u8]) -> bool {
    (1..=MAX_LEN).contains(&value.len())
        && value.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// The request's id: the incoming one if sane (and alone), else a new one written into the
/// request headers in its place.
pub(crate) fn resolve(headers: &mut HeaderMap, name: &HeaderName) -> (String, HeaderValue) {
    let mut values = headers.get_all(name).iter();
    if let (Some(value), None) = (values.next(), values.next())
        && is_sane(value.as_bytes())
        && let Ok(text) = value.to_str()
    {
        return (text.to_owned(), value.clone());
    }
    let id = generate();
    // A generated id is always a valid header value (hex digits and `-`).
    match HeaderValue::from_str(&id) {
        Ok(value) => {
            headers.insert(name.clone(), value.clone());
            (id, value)
        }
        Err(_) => (id, HeaderValue::from_static("-")),
    }
}

/// Sets the id on the response unless a handler or inner layer already set one.
pub(crate) fn propagate(headers: &mut HeaderMap, name: &HeaderName, value: HeaderValue) {
    if !headers.contains_key(name) {
        headers.insert(name.clone(), value);
    }
}

/// A new id: a random 64-bit prefix drawn once per process and a counter, shaped like a UUID
/// (`8-4-4-4-12` hex digits). Unique across processes with overwhelming probability; cheap (no
/// system call, no formatting machinery per request).
pub(crate) fn generate() -> String {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let prefix = *PREFIX.get_or_init(|| {
        let random = uuid::Uuid::now_v7().as_u128();
        (random as u64) ^ ((random >> 64) as u64)
    });
    let value = (u128::from(prefix) << 64) | u128::from(COUNTER.fetch_add(1, Ordering::Relaxed));
    let mut out = String::with_capacity(36);
    for i in 0..32 {
        if matches!(i, 8 | 12 | 16 | 20) {
            out.push('-');
        }
        out.push(char::from(HEX[((value >> (124 - 4 * i)) & 0xf) as usize]));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reuses_sane_and_replaces_insane_ids() {
        let mut headers = HeaderMap::new();
        headers.insert(X_REQUEST_ID, HeaderValue::from_static("abc-123"));
        assert_eq!(resolve(&mut headers, &X_REQUEST_ID).0, "abc-123");

        for insane in [&b"has space"[..], b"", b"a@b.example", &[b'a'; 200], b"\xff\xfe"] {
            let mut headers = HeaderMap::new();
            headers.insert(X_REQUEST_ID, HeaderValue::from_bytes(insane).unwrap());
            let (id, _) = resolve(&mut headers, &X_REQUEST_ID);
            assert_ne!(id.as_bytes(), insane);
            assert!(is_sane(id.as_bytes()));
            assert_eq!(headers.get(X_REQUEST_ID).unwrap().to_str().unwrap(), id);
        }
        let mut headers = HeaderMap::new();
        headers.append(X_REQUEST_ID, HeaderValue::from_static("one"));
        headers.append(X_REQUEST_ID, HeaderValue::from_static("two"));
        let (id, _) = resolve(&mut headers, &X_REQUEST_ID);
        assert!(id != "one" && id != "two");
    }

    #[test]
    fn generated_ids_differ() {
        assert_ne!(generate(), generate());
        assert_eq!(generate().len(), 36);
    }

    #[test]
    fn never_overwrites_a_response_id() {
        let mut headers = HeaderMap::new();
        headers.insert(X_REQUEST_ID, HeaderValue::from_static("inner"));
        propagate(&mut headers, &X_REQUEST_ID, HeaderValue::from_static("ours"));
        assert_eq!(headers.get(X_REQUEST_ID).unwrap(), "inner");
    }
}
