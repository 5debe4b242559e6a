//! [`TrackLayer`] and [`TrackService`]: the request context around the inner service, and the
//! catalog's role events for each request.

use std::borrow::Cow;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use http::{HeaderName, HeaderValue, Method, Request, Response, request};
use http_body::Body;
use tally_runtime::Tracker;
use tally_runtime::catalog::model::Role;
use tally_runtime::context::{Context, RequestInfo};
use tower_layer::Layer;
use tower_service::Service;

use crate::classify::{Classified, Classify, GrpcErrorsAsFailures, ServerErrorsAsFailures, ServiceFailure};
use crate::client_ip::ClientIp;
use crate::future::{CatchUnwind, Eos, Inner, ResponseFuture, TrackBody};
use crate::identity::{Resolution, ResolveIdentity};
use crate::login::{AuthEvent, DetectLogin, OutcomeExtensions, RequestView};
use crate::record::{Recorder, RoleName, Route, Settings};
use crate::request_id::{self, RequestIdMode};

/// The tower layer that tracks requests: see the [crate docs](crate) for what it emits and when.
///
/// `C` classifies responses ([`ServerErrorsAsFailures`] for HTTP, [`GrpcErrorsAsFailures`] for
/// gRPC), `I` resolves identities ([`ResolveIdentity`]; none by default), `L` detects logins
/// and logouts ([`DetectLogin`]; [`OutcomeExtensions`] by default). Each builder method that
/// takes a hook swaps one type parameter; `()` switches a hook off.
#[must_use]
pub struct TrackLayer<C, I = (), L = OutcomeExtensions> {
    classifier: Arc<C>,
    identity: Arc<I>,
    login: Arc<L>,
    settings: Arc<Settings>,
}

impl<C, I, L> Clone for TrackLayer<C, I, L> {
    fn clone(&self) -> Self {
        Self {
            classifier: self.classifier.clone(),
            identity: self.identity.clone(),
            login: self.login.clone(),
            settings: self.settings.clone(),
        }
    }
}

impl<C, I, L> std::fmt::Debug for TrackLayer<C, I, L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackLayer").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl TrackLayer<ServerErrorsAsFailures> {
    /// A layer for HTTP: `5xx` responses fail, route templates from axum's `MatchedPath`.
    pub fn new_for_http() -> Self {
        TrackLayer::new(ServerErrorsAsFailures::new())
    }
}

impl TrackLayer<GrpcErrorsAsFailures> {
    /// A layer for gRPC (`tonic::transport::Server::builder().layer(…)`): `grpc-status` codes
    /// other than `OK` fail, routes are `/package.Service/Method`.
    pub fn new_for_grpc() -> Self {
        TrackLayer::new(GrpcErrorsAsFailures::new())
    }
}

impl<C: Classify> TrackLayer<C> {
    /// A layer with this classifier.
    pub fn new(classifier: C) -> Self {
        Self {
            classifier: Arc::new(classifier),
            identity: Arc::new(()),
            login: Arc::new(OutcomeExtensions),
            settings: Arc::new(Settings::default()),
        }
    }
}

impl<C, I, L> TrackLayer<C, I, L> {
    fn settings(mut self, f: impl FnOnce(&mut Settings)) -> Self {
        let settings = Arc::make_mut(&mut self.settings);
        f(settings);
        settings.resolve_roles();
        self
    }

    /// Emits to this tracker, and routes every event emitted inside the handler to it too
    /// ([`Tracker::scope`] around the inner service's future). Default:
    /// [`tally_runtime::routing::current()`] at request time.
    pub fn tracker(self, tracker: Tracker) -> Self {
        self.settings(|s| s.tracker = Some(tracker))
    }

    /// Replaces the classifier.
    pub fn classifier<C2: Classify>(self, classifier: C2) -> TrackLayer<C2, I, L> {
        TrackLayer {
            classifier: Arc::new(classifier),
            identity: self.identity,
            login: self.login,
            settings: self.settings,
        }
    }

    /// Resolves identities with `resolver` (a tuple for several; `()` for none).
    pub fn identity<I2: ResolveIdentity>(self, resolver: I2) -> TrackLayer<C, I2, L> {
        TrackLayer {
            classifier: self.classifier,
            identity: Arc::new(resolver),
            login: self.login,
            settings: self.settings,
        }
    }

    /// Detects logins and logouts with `detector` (`()`: never).
    pub fn login<L2: DetectLogin>(self, detector: L2) -> TrackLayer<C, I, L2> {
        TrackLayer {
            classifier: self.classifier,
            identity: self.identity,
            login: Arc::new(detector),
            settings: self.settings,
        }
    }

    /// Emits the `request_received` role event when the request arrives (default: off).
    pub fn received(self, enabled: bool) -> Self {
        self.settings(|s| s.received = enabled)
    }

    /// Keeps `request_received` and `request_completed` for this share of requests (0.0–1.0,
    /// default 1.0), decided by a hash of the request id, so a request's two events go together
    /// (a request without an id, under [`RequestIdMode::Read`] or [`RequestIdMode::Off`]: by its
    /// turn).
    /// Failures, errors, logins and logouts are never sampled out.
    pub fn sample_rate(self, rate: f64) -> Self {
        let threshold = if rate.is_nan() || rate <= 0.0 {
            0
        } else if rate >= 1.0 {
            u64::MAX
        } else {
            (rate * u64::MAX as f64) as u64
        };
        self.settings(|s| s.sample_threshold = threshold)
    }

    /// Emits `name` for `role` instead of the event the catalog gives that role.
    pub fn event_name(self, role: Role, name: impl Into<Cow<'static, str>>) -> Self {
        let name = RoleName::Named(name.into());
        self.settings(|s| s.set_role(role, name))
    }

    /// Never emits `role`'s event.
    pub fn disable(self, role: Role) -> Self {
        self.settings(|s| s.set_role(role, RoleName::Off))
    }

    /// The request id header (default `x-request-id`).
    pub fn request_id_header(self, header: HeaderName) -> Self {
        self.settings(|s| s.request_id_header = header)
    }

    /// What the layer does with the request id (default [`RequestIdMode::Set`]: reuses or
    /// generates one, sets it on the request, echoes it on the response).
    /// [`RequestIdMode::Read`] behind tower-http's `SetRequestIdLayer` (the events carry its
    /// id, tally writes no header); [`RequestIdMode::Off`] for no request id at all.
    ///
    /// ```
    /// use tally_middleware::TrackLayer;
    /// use tally_middleware::request_id::RequestIdMode;
    ///
    /// let layer = TrackLayer::new_for_http().request_id(RequestIdMode::Off);
    /// ```
    pub fn request_id(self, mode: RequestIdMode) -> Self {
        self.settings(|s| s.request_id = mode)
    }

    /// Where the client IP comes from (default: [`ClientIp::socket`]).
    pub fn client_ip(self, client_ip: ClientIp) -> Self {
        self.settings(|s| s.client_ip = client_ip)
    }

    /// The route reported when no template is known (default `<unmatched>`).
    pub fn unmatched_route(self, route: &'static str) -> Self {
        self.settings(|s| s.unmatched_route = Cow::Borrowed(route))
    }
}

impl<S, C, I, L> Layer<S> for TrackLayer<C, I, L> {
    type Service = TrackService<S, C, I, L>;

    fn layer(&self, inner: S) -> Self::Service {
        TrackService {
            inner,
            shared: Arc::new(Shared {
                classifier: self.classifier.clone(),
                identity: self.identity.clone(),
                login: self.login.clone(),
                settings: self.settings.clone(),
            }),
        }
    }
}

pub(crate) struct Shared<C, I, L> {
    classifier: Arc<C>,
    identity: Arc<I>,
    login: Arc<L>,
    settings: Arc<Settings>,
}

/// The service [`TrackLayer`] makes.
pub struct TrackService<S, C, I = (), L = OutcomeExtensions> {
    inner: S,
    shared: Arc<Shared<C, I, L>>,
}

impl<S: Clone, C, I, L> Clone for TrackService<S, C, I, L> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone(), shared: self.shared.clone() }
    }
}

impl<S: std::fmt::Debug, C, I, L> std::fmt::Debug for TrackService<S, C, I, L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackService").field("inner", &self.inner).finish_non_exhaustive()
    }
}

/// The longest user agent kept, in bytes.
const MAX_USER_AGENT: usize = 512;

fn user_agent(request: &request::Parts) -> Option<String> {
    let value = request.headers.get(http::header::USER_AGENT)?;
    let text = std::str::from_utf8(value.as_bytes()).ok()?.trim();
    if text.is_empty() || text.chars().any(char::is_control) {
        return None;
    }
    let mut end = text.len().min(MAX_USER_AGENT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Some(text[..end].to_owned())
}

fn content_length(request: &request::Parts) -> Option<u64> {
    let value = request.headers.get(http::header::CONTENT_LENGTH)?;
    std::str::from_utf8(value.as_bytes()).ok()?.trim().parse().ok()
}

impl<S, C, I, L, ReqBody, ResBody> Service<Request<ReqBody>> for TrackService<S, C, I, L>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: Body,
    ResBody: Body,
    C: Classify,
    I: ResolveIdentity,
    L: DetectLogin,
{
    type Response = Response<TrackBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, C, I, L>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let settings = &self.shared.settings;
        let tracked = settings.tracker.is_some() || tally_runtime::routing::has_current();
        let request_id = match settings.request_id {
            RequestIdMode::Set => Some(request_id::resolve(request.headers_mut(), &settings.request_id_header)),
            // Read for the context only: without a tracker there is none.
            RequestIdMode::Read if tracked => request_id::read(request.headers(), &settings.request_id_header),
            RequestIdMode::Read | RequestIdMode::Off => None,
        };

        // No tracker anywhere (none on the layer, none scoped around the service, none installed):
        // the request id only (as set), no context, no identity, no events. See the crate docs.
        if !tracked {
            let shared = self.shared.clone();
            let inner = std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(request)))
                .ok()
                .map_or(Inner::Done, |future| Inner::Plain { future: CatchUnwind::new(future) });
            return ResponseFuture { inner, state: Some(Completion::Untracked { shared, request_id }) };
        }
        self.call_tracked(request, request_id)
    }
}

impl<S, C, I, L> TrackService<S, C, I, L>
where
    C: Classify,
    I: ResolveIdentity,
    L: DetectLogin,
{
    /// A request with a tracker: the request context around the inner service, and the events.
    fn call_tracked<ReqBody, ResBody>(
        &mut self,
        request: Request<ReqBody>,
        request_id: Option<HeaderValue>,
    ) -> ResponseFuture<S::Future, C, I, L>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>>,
        ReqBody: Body,
    {
        let start = Instant::now();
        let shared = self.shared.clone();
        let settings = &shared.settings;
        let classifier = &shared.classifier;

        let (parts, body) = request.into_parts();
        let request_id_text = request_id.as_ref().map(request_id::as_text);
        let (peer, client_ip, via_proxy) = settings.client_ip.resolve(&parts);
        let mut resolution = Resolution::new(peer, via_proxy);
        shared.identity.resolve(&parts, &mut resolution);
        let (context, response_headers) = resolution.into_parts();

        let route = classifier.route(&parts).unwrap_or_else(|| settings.unmatched_route.clone());
        let info = RequestInfo {
            method: Some(classifier.method(&parts)),
            route: Some(route),
            user_agent: user_agent(&parts),
            client_ip,
        };
        let sampled = settings.sampled(request_id_text.as_deref());
        let context = match request_id_text {
            Some(id) => context.with_request_id(id),
            None => context,
        };
        let context = context.with_request_info(info).nested();
        // Echoed on the response only when this layer set it.
        let request_id = request_id.filter(|_| settings.request_id == RequestIdMode::Set);
        let route = Route::of_request(settings);
        // The inner future's route is a task-local, which owns its handle: one tracker clone per
        // request (an atomic increment), none for the installed default; a tracker scoped around
        // the service is held by the recorder too, as its events may complete outside that scope.
        let task_route = route.to_owned_handle(settings);
        let method: Method = parts.method.clone();
        let request_size = content_length(&parts).or_else(|| body.size_hint().exact());

        let recorder = route.tracker(settings).is_some_and(Tracker::is_enabled).then(|| Recorder {
            settings: settings.clone(),
            context: context.clone(),
            route,
            start,
            request_size,
            sampled,
        });
        if let Some(recorder) = &recorder {
            recorder.received();
        }

        let request = Request::from_parts(parts, body);
        // A panic in `call` itself is caught too; the inner future runs in the request context,
        // routed to the request's tracker.
        let inner = std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(request))).ok().map_or(
            Inner::Done,
            |future| Inner::Scoped {
                future: CatchUnwind::new(Context::scoped(
                    context.clone(),
                    tally_runtime::routing::routed(task_route, future),
                )),
            },
        );
        // Boxed once: the response future stays small, and is moved cheaply, with or without it.
        let state = Box::new(RequestState { shared, recorder, method, context, response_headers, request_id });
        ResponseFuture { inner, state: Some(Completion::Tracked(state)) }
    }
}

/// How the response future completes: with the request's context and events, or (no tracker)
/// with the request id only.
pub(crate) enum Completion<C: Classify, I, L> {
    Tracked(Box<RequestState<C, I, L>>),
    Untracked { shared: Arc<Shared<C, I, L>>, request_id: Option<HeaderValue> },
}

impl<C: Classify, I: ResolveIdentity, L: DetectLogin> Completion<C, I, L> {
    /// The inner service answered (`Ok`), failed (`Err(Some(error))`) or panicked (`Err(None)`).
    pub(crate) fn complete<B: Body, E>(
        self,
        result: Result<Response<B>, Option<E>>,
    ) -> Result<Response<TrackBody<B>>, E> {
        match self {
            Completion::Tracked(state) => state.complete(result),
            Completion::Untracked { shared, request_id } => {
                let header = &shared.settings.request_id_header;
                match result {
                    Ok(mut response) => {
                        request_id::propagate(response.headers_mut(), header, request_id);
                        Ok(response.map(|body| TrackBody::new(body, None)))
                    }
                    Err(Some(error)) => Err(error),
                    Err(None) => {
                        let (mut parts, ()) = shared.classifier.panic_response().into_parts();
                        request_id::propagate(&mut parts.headers, header, request_id);
                        Ok(Response::from_parts(parts, TrackBody::empty()))
                    }
                }
            }
        }
    }
}

/// What the response future needs once the inner service answered.
pub(crate) struct RequestState<C: Classify, I, L> {
    shared: Arc<Shared<C, I, L>>,
    recorder: Option<Recorder>,
    method: Method,
    context: Arc<Context>,
    response_headers: Vec<(HeaderName, HeaderValue)>,
    /// The id to echo on the response (`None`: not this layer's to echo).
    request_id: Option<HeaderValue>,
}

impl<C: Classify, I: ResolveIdentity, L: DetectLogin> RequestState<C, I, L> {
    /// The inner service answered (`Ok`), failed (`Err(Some(error))`) or panicked (`Err(None)`).
    pub(crate) fn complete<B: Body, E>(
        mut self,
        result: Result<Response<B>, Option<E>>,
    ) -> Result<Response<TrackBody<B>>, E> {
        let shared = self.shared.clone();
        let recorder = self.recorder.take();
        match result {
            Ok(response) => {
                let request = RequestView {
                    method: &self.method,
                    route: self.context.request_info().route.as_deref().unwrap_or_default(),
                    context: &self.context,
                };
                let response_headers = std::mem::take(&mut self.response_headers);
                Ok(respond(&shared, response, recorder, &request, response_headers, self.request_id.take()))
            }
            Err(Some(error)) => {
                if let Some(recorder) = recorder {
                    recorder.finish(&shared.classifier.classify_error(ServiceFailure::Error), None);
                }
                Err(error)
            }
            Err(None) => {
                if let Some(recorder) = recorder {
                    recorder.finish(&shared.classifier.classify_error(ServiceFailure::Panic), None);
                }
                let (mut parts, ()) = shared.classifier.panic_response().into_parts();
                request_id::propagate(&mut parts.headers, &shared.settings.request_id_header, self.request_id.take());
                Ok(Response::from_parts(parts, TrackBody::empty()))
            }
        }
    }
}

impl<C: Classify, I, L> Drop for RequestState<C, I, L> {
    /// Dropped before the outcome was known: the client went away (`cancelled`).
    fn drop(&mut self) {
        if let Some(recorder) = self.recorder.take() {
            recorder.finish(&self.shared.classifier.classify_error(ServiceFailure::Cancelled), None);
        }
    }
}

/// The response head arrived: login and logout, headers, classification, and the body.
fn respond<C, I, L, B>(
    shared: &Shared<C, I, L>,
    response: Response<B>,
    recorder: Option<Recorder>,
    request: &RequestView<'_>,
    response_headers: Vec<(HeaderName, HeaderValue)>,
    request_id: Option<HeaderValue>,
) -> Response<TrackBody<B>>
where
    C: Classify,
    I: ResolveIdentity,
    L: DetectLogin,
    B: Body,
{
    let mut recorder = recorder;
    let (mut parts, body) = response.into_parts();
    for (name, value) in response_headers {
        parts.headers.append(name, value);
    }
    request_id::propagate(&mut parts.headers, &shared.settings.request_id_header, request_id);
    match shared.login.detect(request, &mut parts) {
        Some(AuthEvent::Login(outcome)) => {
            if let Some(recorder) = &mut recorder {
                recorder.login(&outcome);
            }
        }
        Some(AuthEvent::Logout(outcome)) => {
            if let Some(recorder) = &recorder {
                recorder.logout(&outcome);
            }
            shared.identity.on_logout(&mut parts.headers);
        }
        None => {}
    }
    let Some(recorder) = recorder else { return Response::from_parts(parts, TrackBody::new(body, None)) };
    match shared.classifier.classify_response(parts.status, &parts.headers) {
        Classified::Ready(outcome) => {
            recorder.finish(&outcome, body.size_hint().exact());
            Response::from_parts(parts, TrackBody::new(body, None))
        }
        Classified::RequiresEos if body.is_end_stream() => {
            recorder.finish(&shared.classifier.classify_eos(None), Some(0));
            Response::from_parts(parts, TrackBody::new(body, None))
        }
        Classified::RequiresEos => {
            let classifier: Arc<dyn Classify> = shared.classifier.clone();
            let eos = Box::new(Eos { recorder, classifier, bytes: 0 });
            Response::from_parts(parts, TrackBody::new(body, Some(eos)))
        }
    }
}
