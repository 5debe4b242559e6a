//! The HTTP side: routes, reading bodies within the limit, answers.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use http_body_util::BodyExt;
use serde_json::json;

use super::Shared;
use super::wire::{self, Refusal};

/// The capture endpoints, each also served with a trailing slash.
const ENDPOINTS: [&str; 5] = ["/batch", "/capture", "/e", "/track", "/i/v0/e"];

/// How far past the limit an oversized body is still read (and discarded), so that the client
/// gets to read the `413` instead of a reset connection while it is still sending.
const DRAIN_BYTES: usize = 64 * 1024 * 1024;

pub(super) fn router(shared: Arc<Shared>) -> Router {
    let mut router = Router::new();
    for endpoint in ENDPOINTS {
        router = router.route(endpoint, any(capture)).route(&format!("{endpoint}/"), any(capture));
    }
    router.fallback(not_found).with_state(shared)
}

async fn capture(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let number = shared.next_request();
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    if parts.method != Method::POST {
        let refusal = Refusal::method_not_allowed(parts.method.as_str(), path);
        shared.record(0, Vec::new(), vec![refusal.rejection(number, path, &[])]);
        return answer(&refusal);
    }
    let limit = shared.config.max_body_bytes;
    let body = match read_body(body, limit).await {
        Ok(body) => body,
        Err((refusal, head)) => {
            shared.record(0, Vec::new(), vec![refusal.rejection(number, path, &head)]);
            return answer(&refusal);
        }
    };
    if shared.hold_if_hanging().await {
        return injected(StatusCode::SERVICE_UNAVAILABLE);
    }
    let failure = shared.take_failure();
    if let Some(failure) = failure.filter(|failure| !failure.after_storing) {
        return injected(failure.status);
    }
    let request = wire::Request { number, path, query: parts.uri.query(), headers: &parts.headers, body: &body };
    match wire::process(&shared.config, &request) {
        Ok(outcome) if let Some(index) = shared.refused_at(&outcome.events) => {
            let refusal = Refusal::refused_id(index, &outcome.events[index].event);
            shared.record(0, Vec::new(), vec![refusal.rejection(number, path, &body)]);
            answer(&refusal)
        }
        Ok(outcome) => {
            shared.record(outcome.accepted, outcome.events, outcome.dropped);
            match failure {
                Some(lost) => injected(lost.status),
                None => (StatusCode::OK, Json(json!({"status": 1}))).into_response(),
            }
        }
        Err(refused) => {
            let response = answer(&refused.refusal);
            shared.record(0, Vec::new(), vec![refused.rejection]);
            response
        }
    }
}

async fn not_found(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let number = shared.next_request();
    let refusal = Refusal::not_found(request.method().as_str(), request.uri().path());
    shared.record(0, Vec::new(), vec![refusal.rejection(number, request.uri().path(), &[])]);
    answer(&refusal)
}

/// The answer to a request that [`Receiver::fail_next`](super::Receiver::fail_next) or
/// [`fail_next_after_storing`](super::Receiver::fail_next_after_storing) told to fail.
fn injected(status: StatusCode) -> Response {
    let detail = "failure injected by the test receiver";
    let body = json!({"type": "server_error", "code": "injected_failure", "detail": detail, "attr": null});
    (status, Json(body)).into_response()
}

fn answer(refusal: &Refusal) -> Response {
    (refusal.status, Json(refusal.body())).into_response()
}

/// The whole body, or a `413` once it passes `limit` (the rest is read and discarded, up to
/// [`DRAIN_BYTES`] more), or a `400` when the connection fails mid-body; a refusal comes with
/// the start of the body.
async fn read_body(mut body: Body, limit: usize) -> Result<Vec<u8>, (Refusal, Vec<u8>)> {
    let mut bytes = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(error) => return Err((Refusal::invalid(format!("could not read the body: {error}")), bytes)),
        };
        let Ok(data) = frame.into_data() else { continue };
        total = total.saturating_add(data.len());
        if total <= limit {
            bytes.extend_from_slice(&data);
        } else {
            // Keep only what an excerpt shows: the body's first bytes.
            bytes.truncate(wire::EXCERPT_BYTES);
            let room = wire::EXCERPT_BYTES - bytes.len();
            bytes.extend_from_slice(&data[..data.len().min(room)]);
            bytes.shrink_to_fit();
            if total > limit.saturating_add(DRAIN_BYTES) {
                break;
            }
        }
    }
    if total > limit { Err((Refusal::too_large(limit), bytes)) } else { Ok(bytes) }
}
