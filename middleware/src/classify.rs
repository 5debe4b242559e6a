//! Classifiers: how a protocol names a request (method, route template) and whether its
//! outcome is a success, a failure, or a server error.
//!
//! [`ServerErrorsAsFailures`] is HTTP's ([`TrackLayer::new_for_http`]): a `5xx` response is a
//! failure and a server error; client errors are successes unless the catalog's
//! `request_failed` event declares `failed_statuses = ["4xx", "5xx"]` (the tracking plan's
//! decision, applied by the layer whatever the classifier) or
//! [`ServerErrorsAsFailures::client_errors_as_failures`] is set.
//! [`GrpcErrorsAsFailures`] is gRPC's ([`TrackLayer::new_for_grpc`]): the `grpc-status` of the
//! response head (a trailers-only response) or, when the head has none, of the trailers, is a
//! failure unless it is `OK` or declared a success with [`GrpcErrorsAsFailures::with_success`].
//! The codes that mean the server failed (`UNKNOWN`, `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`,
//! `INTERNAL`, `UNAVAILABLE`, `DATA_LOSS`, the codes gRPC maps to HTTP `5xx`) are server errors.
//!
//! A server error emits the catalog's `request_failed` event *and* its `error` event; any other
//! failure only `request_failed`; a success `request_completed`.
//!
//! [`TrackLayer::new_for_http`]: crate::TrackLayer::new_for_http
//! [`TrackLayer::new_for_grpc`]: crate::TrackLayer::new_for_grpc

use std::borrow::Cow;

use http::{HeaderMap, HeaderValue, Method, StatusCode, request};

/// How a protocol names and classifies requests. Implemented by [`ServerErrorsAsFailures`]
/// (HTTP) and [`GrpcErrorsAsFailures`] (gRPC); implement it for another protocol on top of HTTP.
///
/// Every method must be cheap and must not panic: they run on the request path.
pub trait Classify: Send + Sync + 'static {
    /// The method as reported (`GET`, …; `grpc`). Must have a small, fixed set of values.
    fn method(&self, request: &request::Parts) -> Cow<'static, str>;

    /// The route template (`/projects/{id}`, `/pkg.Service/Method`), never the raw path: it
    /// leaks ids and personal data. `None` when unknown; the layer then reports its constant
    /// (see [`TrackLayer::unmatched_route`](crate::TrackLayer::unmatched_route)).
    fn route(&self, request: &request::Parts) -> Option<Cow<'static, str>>;

    /// Classifies the response head; [`Classified::RequiresEos`] when only the end of the
    /// stream can tell (gRPC without `grpc-status` in the head).
    fn classify_response(&self, status: StatusCode, headers: &HeaderMap) -> Classified;

    /// Classifies the end of a stream, with its trailers if it had any, after
    /// [`Classified::RequiresEos`].
    fn classify_eos(&self, trailers: Option<&HeaderMap>) -> Outcome;

    /// The outcome when no response (or no end of stream) came: the handler panicked, the
    /// service or the body failed, or the client went away.
    fn classify_error(&self, failure: ServiceFailure) -> Outcome;

    /// The response sent in place of a panicked handler's (its body is empty).
    fn panic_response(&self) -> http::Response<()>;
}

/// Why the inner service produced no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServiceFailure {
    /// The handler panicked; the layer answers with [`Classify::panic_response`].
    Panic,
    /// The inner service returned an error (the connection is then usually closed), or the
    /// response body failed.
    Error,
    /// The request was dropped before its outcome was known: the client went away.
    Cancelled,
}

/// The result of classifying a response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classified {
    /// The head tells the outcome.
    Ready(Outcome),
    /// Only the end of the stream tells it (see [`Classify::classify_eos`]).
    RequiresEos,
}

/// The outcome of one request: its status (HTTP status or gRPC code) and, for a failure, what
/// failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    status: u16,
    failure: Option<Failure>,
}

impl Outcome {
    /// A success with this status.
    pub fn success(status: u16) -> Self {
        Self { status, failure: None }
    }

    /// A failure with this status.
    pub fn failure(status: u16, failure: Failure) -> Self {
        Self { status, failure: Some(failure) }
    }

    /// The HTTP status or gRPC code (`fill = "status"`).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// What failed, for a failure.
    pub fn failure_info(&self) -> Option<&Failure> {
        self.failure.as_ref()
    }

    /// Whether the request failed.
    pub fn is_failure(&self) -> bool {
        self.failure.is_some()
    }

    /// Whether the request failed on the server's side (which also emits the `error` event).
    pub fn is_server_error(&self) -> bool {
        self.failure.as_ref().is_some_and(|f| f.server_error)
    }
}

/// What failed: an error type and a fixed, sanitized message (never a handler's own message,
/// which can quote personal data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    error_type: Cow<'static, str>,
    message: Cow<'static, str>,
    server_error: bool,
}

impl Failure {
    /// A failure of the client's making (`request_failed` only).
    pub fn client(error_type: impl Into<Cow<'static, str>>, message: impl Into<Cow<'static, str>>) -> Self {
        Self { error_type: error_type.into(), message: message.into(), server_error: false }
    }

    /// A server error (`request_failed` and `error`).
    pub fn server(error_type: impl Into<Cow<'static, str>>, message: impl Into<Cow<'static, str>>) -> Self {
        Self { error_type: error_type.into(), message: message.into(), server_error: true }
    }

    /// The kind of error (`fill = "error_type"`): `server_error`, `panic`, `not_found`, ….
    pub fn error_type(&self) -> &str {
        &self.error_type
    }

    /// The message (`fill = "error_message"`).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether it is a server error.
    pub fn is_server_error(&self) -> bool {
        self.server_error
    }
}

/// A route template set by a router other than axum's, as a request extension the layer reads
/// (insert it before the layer sees the request). axum's `MatchedPath` is read directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTemplate(pub Cow<'static, str>);

/// The standard methods by name; anything else is reported as `OTHER` so that a client cannot
/// invent values.
fn http_method(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

/// The longest route template reported; a longer one is treated as unknown.
const MAX_ROUTE: usize = 256;

/// HTTP: `5xx` responses are failures and server errors; `4xx` are successes unless
/// [`client_errors_as_failures`](Self::client_errors_as_failures) is set (the same rule as
/// tower-http's classifier of that name).
///
/// The route is axum's `MatchedPath` (feature `axum`) or a [`RouteTemplate`] extension.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerErrorsAsFailures {
    client_errors: bool,
}

impl ServerErrorsAsFailures {
    /// Server errors only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also reports `4xx` responses as failures (`request_failed`, with an error type such as
    /// `authentication`, `authorization`, `validation`, `not_found`, `rate_limited`), never as
    /// server errors.
    pub fn client_errors_as_failures(mut self) -> Self {
        self.client_errors = true;
        self
    }
}

fn status_message(status: StatusCode) -> Cow<'static, str> {
    Cow::Owned(format!("HTTP {} {}", status.as_u16(), status.canonical_reason().unwrap_or("")).trim_end().to_owned())
}

/// A client error (`4xx`) as a failure, when the catalog's `failed_statuses` says so.
pub(crate) fn client_failure(status: u16) -> Outcome {
    match StatusCode::from_u16(status) {
        Ok(status) => {
            Outcome::failure(status.as_u16(), Failure::client(client_error_type(status), status_message(status)))
        }
        Err(_) => Outcome::failure(status, Failure::client("client_error", format!("HTTP {status}"))),
    }
}

fn client_error_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "authentication",
        403 => "authorization",
        400 | 422 => "validation",
        404 => "not_found",
        429 => "rate_limited",
        _ => "client_error",
    }
}

impl Classify for ServerErrorsAsFailures {
    fn method(&self, request: &request::Parts) -> Cow<'static, str> {
        Cow::Borrowed(http_method(&request.method))
    }

    fn route(&self, request: &request::Parts) -> Option<Cow<'static, str>> {
        if let Some(RouteTemplate(route)) = request.extensions.get::<RouteTemplate>() {
            return (route.len() <= MAX_ROUTE).then(|| route.clone());
        }
        #[cfg(feature = "axum")]
        if let Some(matched) = request.extensions.get::<axum::extract::MatchedPath>() {
            let route = matched.as_str();
            return (route.len() <= MAX_ROUTE).then(|| Cow::Owned(route.to_owned()));
        }
        None
    }

    fn classify_response(&self, status: StatusCode, _headers: &HeaderMap) -> Classified {
        let code = status.as_u16();
        if status.is_server_error() {
            Classified::Ready(Outcome::failure(code, Failure::server("server_error", status_message(status))))
        } else if self.client_errors && status.is_client_error() {
            Classified::Ready(Outcome::failure(
                code,
                Failure::client(client_error_type(status), status_message(status)),
            ))
        } else {
            Classified::Ready(Outcome::success(code))
        }
    }

    fn classify_eos(&self, _trailers: Option<&HeaderMap>) -> Outcome {
        // HTTP classifies at the head; a stream that ends is not a new outcome.
        Outcome::success(200)
    }

    fn classify_error(&self, failure: ServiceFailure) -> Outcome {
        match failure {
            ServiceFailure::Panic => Outcome::failure(500, Failure::server("panic", "the request handler panicked")),
            ServiceFailure::Error => {
                Outcome::failure(500, Failure::server("service_error", "the service returned an error"))
            }
            ServiceFailure::Cancelled => {
                Outcome::failure(499, Failure::client("cancelled", "the client went away before the response"))
            }
        }
    }

    fn panic_response(&self) -> http::Response<()> {
        let mut response = http::Response::new(());
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        response
    }
}

/// gRPC status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GrpcCode {
    /// `OK`.
    Ok = 0,
    /// `CANCELLED`.
    Cancelled = 1,
    /// `UNKNOWN` (also any code outside 0–16).
    Unknown = 2,
    /// `INVALID_ARGUMENT`.
    InvalidArgument = 3,
    /// `DEADLINE_EXCEEDED`.
    DeadlineExceeded = 4,
    /// `NOT_FOUND`.
    NotFound = 5,
    /// `ALREADY_EXISTS`.
    AlreadyExists = 6,
    /// `PERMISSION_DENIED`.
    PermissionDenied = 7,
    /// `RESOURCE_EXHAUSTED`.
    ResourceExhausted = 8,
    /// `FAILED_PRECONDITION`.
    FailedPrecondition = 9,
    /// `ABORTED`.
    Aborted = 10,
    /// `OUT_OF_RANGE`.
    OutOfRange = 11,
    /// `UNIMPLEMENTED`.
    Unimplemented = 12,
    /// `INTERNAL`.
    Internal = 13,
    /// `UNAVAILABLE`.
    Unavailable = 14,
    /// `DATA_LOSS`.
    DataLoss = 15,
    /// `UNAUTHENTICATED`.
    Unauthenticated = 16,
}

const GRPC_CODES: [(GrpcCode, &str, &str); 17] = [
    (GrpcCode::Ok, "OK", "ok"),
    (GrpcCode::Cancelled, "CANCELLED", "cancelled"),
    (GrpcCode::Unknown, "UNKNOWN", "unknown"),
    (GrpcCode::InvalidArgument, "INVALID_ARGUMENT", "invalid_argument"),
    (GrpcCode::DeadlineExceeded, "DEADLINE_EXCEEDED", "deadline_exceeded"),
    (GrpcCode::NotFound, "NOT_FOUND", "not_found"),
    (GrpcCode::AlreadyExists, "ALREADY_EXISTS", "already_exists"),
    (GrpcCode::PermissionDenied, "PERMISSION_DENIED", "permission_denied"),
    (GrpcCode::ResourceExhausted, "RESOURCE_EXHAUSTED", "resource_exhausted"),
    (GrpcCode::FailedPrecondition, "FAILED_PRECONDITION", "failed_precondition"),
    (GrpcCode::Aborted, "ABORTED", "aborted"),
    (GrpcCode::OutOfRange, "OUT_OF_RANGE", "out_of_range"),
    (GrpcCode::Unimplemented, "UNIMPLEMENTED", "unimplemented"),
    (GrpcCode::Internal, "INTERNAL", "internal"),
    (GrpcCode::Unavailable, "UNAVAILABLE", "unavailable"),
    (GrpcCode::DataLoss, "DATA_LOSS", "data_loss"),
    (GrpcCode::Unauthenticated, "UNAUTHENTICATED", "unauthenticated"),
];

impl GrpcCode {
    /// The code for a number; anything outside 0–16 is `UNKNOWN`, as gRPC specifies.
    pub fn from_i32(code: i32) -> Self {
        usize::try_from(code).ok().and_then(|i| GRPC_CODES.get(i)).map_or(GrpcCode::Unknown, |(code, _, _)| *code)
    }

    /// The number.
    pub fn as_u16(self) -> u16 {
        self as u16
    }

    /// The name as gRPC writes it (`NOT_FOUND`).
    pub fn name(self) -> &'static str {
        GRPC_CODES[self as usize].1
    }

    /// The name as an error type (`not_found`).
    pub fn error_type(self) -> &'static str {
        GRPC_CODES[self as usize].2
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// gRPC: every code but `OK` is a failure, unless declared a success with
/// [`with_success`](Self::with_success); `UNKNOWN`, `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`,
/// `INTERNAL`, `UNAVAILABLE` and `DATA_LOSS` are server errors (see
/// [`with_server_error`](Self::with_server_error)).
///
/// The status is read from the `grpc-status` header of the response head (a trailers-only
/// response, as for most errors) or else from the trailers; a stream that ends without one is
/// `OK` if it ended cleanly. The route is the request path when it has gRPC's
/// `/package.Service/Method` shape.
#[derive(Debug, Clone, Copy)]
pub struct GrpcErrorsAsFailures {
    success: u32,
    server_errors: u32,
}

impl Default for GrpcErrorsAsFailures {
    fn default() -> Self {
        Self::new()
    }
}

impl GrpcErrorsAsFailures {
    /// `OK` is the only success.
    pub fn new() -> Self {
        let server_errors = [
            GrpcCode::Unknown,
            GrpcCode::DeadlineExceeded,
            GrpcCode::Unimplemented,
            GrpcCode::Internal,
            GrpcCode::Unavailable,
            GrpcCode::DataLoss,
        ]
        .iter()
        .fold(0, |bits, code| bits | code.bit());
        Self { success: GrpcCode::Ok.bit(), server_errors }
    }

    /// Treats `code` as a success (`request_completed`), e.g. `NOT_FOUND` for a lookup API.
    pub fn with_success(mut self, code: GrpcCode) -> Self {
        self.success |= code.bit();
        self
    }

    /// Treats `code`, when a failure, as a server error (also emits the `error` event).
    pub fn with_server_error(mut self, code: GrpcCode) -> Self {
        self.server_errors |= code.bit();
        self
    }

    /// Treats `code`, when a failure, as the client's (`request_failed` only).
    pub fn without_server_error(mut self, code: GrpcCode) -> Self {
        self.server_errors &= !code.bit();
        self
    }

    fn outcome(&self, code: GrpcCode) -> Outcome {
        if self.success & code.bit() != 0 {
            return Outcome::success(code.as_u16());
        }
        let message = Cow::Owned(format!("gRPC status {}", code.name()));
        let failure = if self.server_errors & code.bit() != 0 {
            Failure::server(code.error_type(), message)
        } else {
            Failure::client(code.error_type(), message)
        };
        Outcome::failure(code.as_u16(), failure)
    }
}

/// The `grpc-status` of a header map: `None` when absent; an unparsable value is `UNKNOWN`.
fn grpc_status(headers: &HeaderMap) -> Option<GrpcCode> {
    let value: &HeaderValue = headers.get("grpc-status")?;
    let code = std::str::from_utf8(value.as_bytes()).ok().and_then(|text| text.trim().parse::<i32>().ok());
    Some(code.map_or(GrpcCode::Unknown, GrpcCode::from_i32))
}

/// Whether `path` has gRPC's `/package.Service/Method` shape.
fn is_grpc_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else { return false };
    let Some((service, method)) = rest.split_once('/') else { return false };
    let ident = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
    path.len() <= MAX_ROUTE && ident(service) && ident(method)
}

impl Classify for GrpcErrorsAsFailures {
    fn method(&self, _request: &request::Parts) -> Cow<'static, str> {
        Cow::Borrowed("grpc")
    }

    fn route(&self, request: &request::Parts) -> Option<Cow<'static, str>> {
        let path = request.uri.path();
        is_grpc_path(path).then(|| Cow::Owned(path.to_owned()))
    }

    fn classify_response(&self, status: StatusCode, headers: &HeaderMap) -> Classified {
        match grpc_status(headers) {
            Some(code) => Classified::Ready(self.outcome(code)),
            // Not gRPC at all (a proxy's or the server's own HTTP error).
            None if status.is_server_error() => Classified::Ready(Outcome::failure(
                GrpcCode::Unavailable.as_u16(),
                Failure::server("http_error", status_message(status)),
            )),
            None => Classified::RequiresEos,
        }
    }

    fn classify_eos(&self, trailers: Option<&HeaderMap>) -> Outcome {
        match trailers.and_then(grpc_status) {
            Some(code) => self.outcome(code),
            None => self.outcome(GrpcCode::Ok),
        }
    }

    fn classify_error(&self, failure: ServiceFailure) -> Outcome {
        match failure {
            ServiceFailure::Panic => {
                Outcome::failure(GrpcCode::Internal.as_u16(), Failure::server("panic", "the request handler panicked"))
            }
            ServiceFailure::Error => Outcome::failure(
                GrpcCode::Unknown.as_u16(),
                Failure::server("service_error", "the service returned an error"),
            ),
            ServiceFailure::Cancelled => Outcome::failure(
                GrpcCode::Cancelled.as_u16(),
                Failure::client("cancelled", "the client went away before the response"),
            ),
        }
    }

    fn panic_response(&self) -> http::Response<()> {
        let mut response = http::Response::new(());
        let headers = response.headers_mut();
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert("grpc-status", HeaderValue::from_static("13"));
        headers.insert("grpc-message", HeaderValue::from_static("the%20request%20handler%20panicked"));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn http_server_errors_fail_and_client_errors_succeed_by_default() {
        let c = ServerErrorsAsFailures::new();
        let Classified::Ready(ok) = c.classify_response(StatusCode::NOT_FOUND, &HeaderMap::new()) else { panic!() };
        assert!(!ok.is_failure());
        let Classified::Ready(bad) = c.classify_response(StatusCode::BAD_GATEWAY, &HeaderMap::new()) else { panic!() };
        assert!(bad.is_server_error());
        assert_eq!(bad.failure_info().map(Failure::message), Some("HTTP 502 Bad Gateway"));
        let c = c.client_errors_as_failures();
        let Classified::Ready(denied) = c.classify_response(StatusCode::UNAUTHORIZED, &HeaderMap::new()) else {
            panic!()
        };
        assert!(denied.is_failure() && !denied.is_server_error());
        assert_eq!(denied.failure_info().map(Failure::error_type), Some("authentication"));
    }

    #[test]
    fn grpc_status_from_head_or_trailers() {
        let c = GrpcErrorsAsFailures::new();
        assert_eq!(c.classify_response(StatusCode::OK, &HeaderMap::new()), Classified::RequiresEos);
        let Classified::Ready(nf) = c.classify_response(StatusCode::OK, &headers(&[("grpc-status", "5")])) else {
            panic!()
        };
        assert_eq!(nf.status(), 5);
        assert!(nf.is_failure() && !nf.is_server_error());
        let internal = c.classify_eos(Some(&headers(&[("grpc-status", "13")])));
        assert!(internal.is_server_error());
        assert_eq!(internal.failure_info().map(Failure::error_type), Some("internal"));
        assert!(!c.classify_eos(None).is_failure());
        let garbage = c.classify_eos(Some(&headers(&[("grpc-status", "nope")])));
        assert_eq!(garbage.status(), 2);
        let lenient = c.with_success(GrpcCode::NotFound);
        assert!(!lenient.classify_eos(Some(&headers(&[("grpc-status", "5")]))).is_failure());
        assert_eq!(GrpcCode::from_i32(99), GrpcCode::Unknown);
        assert_eq!(GrpcCode::from_i32(-1), GrpcCode::Unknown);
    }

    #[test]
    fn grpc_routes_only_in_service_method_shape() {
        assert!(is_grpc_path("/helloworld.Greeter/SayHello"));
        assert!(!is_grpc_path("/users/42/profile"));
        assert!(!is_grpc_path("/a/"));
        assert!(!is_grpc_path("/a%20b/c"));
        assert!(!is_grpc_path(""));
    }
}
