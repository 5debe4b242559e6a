//! One capture request checked as PostHog's capture does, without a server: for a collector
//! that serves its own routes (`tally dev`) and wants this crate's wire rules, not a copy.

use axum::http::HeaderMap;
use serde_json::Value;

use super::wire::{self, Request};
use super::{Config, ReceivedEvent, Rejection};

/// What an accepted capture request holds.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Captured {
    /// The events PostHog would ingest, in batch order.
    pub events: Vec<ReceivedEvent>,
    /// Events PostHog would drop while accepting the rest (over [`MAX_EVENT_BYTES`](crate::MAX_EVENT_BYTES)).
    pub dropped: Vec<Rejection>,
}

/// A capture request PostHog would refuse as a whole.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Refused {
    /// The record of the refusal; its `status` is the answer's status.
    pub rejection: Rejection,
    /// The JSON body PostHog answers with (`{type, code, detail, attr}`).
    pub body: Value,
}

/// Decodes (gzip by header, `?compression=` or magic bytes) and checks one capture request's
/// body with PostHog's rules and limits, as the [`Receiver`](crate::Receiver) does; no API key
/// is required to match. `number` is the request's sequence number, kept in what it returns.
/// The body must already be within [`MAX_BODY_BYTES`](crate::MAX_BODY_BYTES).
///
/// ```
/// use tally_receiver::{HeaderMap, capture};
///
/// let body = br#"{"api_key": "phc_x", "batch": [{"event": "login", "distinct_id": "u1"}]}"#;
/// let captured = capture(1, "/batch/", None, &HeaderMap::new(), body).unwrap();
/// assert_eq!(captured.events[0].event, "login");
///
/// let refused = capture(2, "/batch/", None, &HeaderMap::new(), b"{not json").unwrap_err();
/// assert_eq!(refused.rejection.status.as_u16(), 400);
/// ```
pub fn capture(
    number: usize,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Captured, Box<Refused>> {
    let config = Config::default();
    let request = Request { number, path, query, headers, body };
    match wire::process(&config, &request) {
        Ok(outcome) => Ok(Captured { events: outcome.events, dropped: outcome.dropped }),
        Err(refused) => Err(Box::new(Refused { body: refused.refusal.body(), rejection: refused.rejection })),
    }
}
