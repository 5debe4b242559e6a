//! Tower middleware that turns HTTP (axum) and gRPC (tonic) requests into the catalog's role
//! events, and opens the request [`Context`](tally_runtime::context::Context) that every event emitted
//! inside the handler (`#[track_event]`, the tracing layer) is keyed by.
//!
//! One layer serves both protocols through a classifier, as tower-http's `TraceLayer` does:
//!
//! ```
//! use axum::{Router, routing::{get, post}};
//! use tally_middleware::TrackLayer;
//! use tally_middleware::identity::{AnonymousCookie, FromExtension};
//! use tally_runtime::Identity;
//!
//! #[derive(Clone)]
//! struct Principal { id: String, account: String }
//!
//! async fn login() {}
//! async fn show_project() {}
//!
//! let app: Router = Router::new()
//!     .route("/login", post(login))
//!     .route("/projects/{id}", get(show_project))
//!     .layer(TrackLayer::new_for_http().identity((
//!         AnonymousCookie::new(),
//!         FromExtension::<Principal>::new(|p| Identity::user(&p.id).with_account(&p.account)),
//!     )));
//! // tonic: Server::builder().layer(TrackLayer::new_for_grpc())…
//! ```
//!
//! Which events: the ones the catalog gives a `role`
//! ([`Role`](tally_runtime::catalog::model::Role)); a catalog without an event for a role simply
//! gets none, and [`TrackLayer::event_name`] / [`TrackLayer::disable`] change the mapping. The
//! middleware never names a catalog property: it sets the request context (method, route template,
//! user agent, anonymized client IP, request id, identities) and the event's facts (status, sizes,
//! duration, error type and message, login method and failure reason), and the pipeline fills the
//! properties the catalog declares with the matching `fill`. Which tracker: the one given to
//! [`TrackLayer::tracker`], else [`tally_runtime::routing::current()`] when the request arrives; with
//! neither, nothing is emitted but the context, request id and cookies still work.
//!
//! # When each event fires
//!
//! ### `request_received` (off by default, see [`TrackLayer::received`])
//! In [`Service::call`][call], after the identity resolvers ran and
//! before the request is passed to the inner service. Sampled.
//!
//! [call]: https://docs.rs/tower-service/0.3/tower_service/trait.Service.html#tymethod.call
//!
//! ### `request_completed`
//! When the inner service's response future completes with a response that the classifier says is a
//! success, as soon as the response head is there (before the body is sent); for a gRPC response
//! without `grpc-status` in its head, when the body ends with an `OK` status. Sampled
//! ([`TrackLayer::sample_rate`]). Its duration is the time to the response head (for such gRPC
//! responses, to the end of the stream); its response size is the body's exact size when known
//! (HTTP) or the bytes counted (gRPC).
//!
//! ### `request_failed`
//! At the same moments, when the response is classified as a failure (a `5xx`; with
//! [`ServerErrorsAsFailures::client_errors_as_failures`](classify::ServerErrorsAsFailures::client_errors_as_failures),
//! a `4xx`; a gRPC code other than `OK`); and also when the handler panics, when the inner service
//! returns an error, when a gRPC response body fails, and when the response future or a gRPC body
//! is dropped before the outcome is known (error type `cancelled`: the client went away). Never
//! sampled.
//!
//! ### `error`
//! Together with `request_failed`, when the failure is a server error: a `5xx`, a server-side gRPC
//! code (`INTERNAL`, `UNAVAILABLE`, …), a panic, a service or body error. Never sampled. A
//! panicking handler is answered with `500` (gRPC: `INTERNAL`); the service keeps serving.
//!
//! ### `login`, `login_failed`, `logout`
//! When the response head arrives and the [`DetectLogin`](login::DetectLogin) hook reports one (a
//! [`LoginOutcome`](login::LoginOutcome) or [`LogoutOutcome`](login::LogoutOutcome) response
//! extension by default; [`AuthRoutes`](login::AuthRoutes) by route and status). A successful login
//! first sends `$identify`, merging the request's anonymous id into the person who logged in. See
//! [`login`].
//!
//! # The request context
//!
//! Before the inner service is called, the layer resolves a request id ([`request_id`]), the client
//! IP ([`ClientIp`](client_ip::ClientIp)), and identities
//! ([`ResolveIdentity`](identity::ResolveIdentity)), and runs the inner service's response future
//! inside that [`Context`](tally_runtime::context::Context), with the tracker when one was given. Anything
//! emitted by the handler thus shares the identity, request id and tracker.
//!
//! Without a tracker anywhere (none given to the layer, none scoped around the service with
//! `Tracker::scope`, none installed as the default with `TrackerBuilder::install`), the layer does only what needs no
//! tracker: the request id, in the request headers and on the response as configured (none with
//! [`RequestIdMode::Read`](request_id::RequestIdMode::Read) or
//! [`RequestIdMode::Off`](request_id::RequestIdMode::Off)), and the
//! answer to a panicking handler. It opens no context (`Context::current()` in the handler is the
//! outer one, if any), runs no identity resolver or login detector (so no anonymous cookie is set)
//! and emits nothing. Whether a tracker exists is checked on each request, so a tracker installed
//! later is used from the next request on.
//!
//! # Front ends' events
//!
//! [`ClientEvents`](client_events::ClientEvents) is the endpoint a web app's front end posts its
//! events to (posthog-js pointed at the app, or a plain `fetch`): mounted under this layer, it
//! accepts the catalog's client events, keyed by the request's identity, never the body's. See
//! [`client_events`].
//!
//! # Hostile input
//!
//! Nothing a client sends makes the layer panic or emit a malformed event: non-UTF-8 or oversized
//! headers are ignored or truncated, methods outside the standard set are `OTHER`, raw paths are
//! never reported (an unknown route is [`TrackLayer::unmatched_route`]), request ids and anonymous
//! ids are reused only when well formed, and identity headers are read only when a
//! [`TrustedHeader`](identity::TrustedHeader) is configured.

pub mod classify;
pub mod client_events;
pub mod client_ip;
mod future;
pub mod identity;
mod layer;
pub mod login;
mod record;
pub mod request_id;

// The root holds the layer and the types its service returns; everything else is reached
// through its module, once (`identity::AnonymousCookie`, `login::LoginOutcome`, …).
pub use future::{ResponseFuture, TrackBody};
pub use layer::{TrackLayer, TrackService};
