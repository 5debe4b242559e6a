//! Login and logout: how their outcome reaches the middleware, and what it then emits.
//!
//! The handler (or the application's authentication layer, inside the tally layer) reports the
//! outcome as a response extension: [`LoginOutcome::success`] with the identity that logged in
//! and the method, [`LoginOutcome::failure`] with a reason, or [`LogoutOutcome`]. Or, without
//! touching the handler, [`AuthRoutes`] derives it from the route and the response status.
//! A [`DetectLogin`] hook decides; the layer's default is [`OutcomeExtensions`].
//!
//! When the response head arrives, the layer emits:
//!
//! - on success: `$identify` (when the request had an anonymous id, which the person absorbs),
//!   then the catalog's `login` event, keyed by the identity that logged in. The pipeline
//!   applies the event's person properties (`$set_once first_login`, …).
//! - on failure: the catalog's `login_failed` event with the reason and the method, keyed as
//!   any request without a known person (the catalog's `on_missing`). The reason and method are
//!   `&'static str`: codes. The attempted user name, when the handler gives it
//!   ([`LoginOutcome::with_username`]), is a fact for `fill = "username"` only, which the catalog
//!   must give a privacy class (`pseudonymize`, `drop`): it never leaves the process raw.
//! - on either: the catalog's `login_attempt` event, if it declares one, with `fill = "success"`.
//! - on logout: the catalog's `logout` event keyed by the request's identity (the one logging
//!   out), with the session's duration and last activity when the handler reports them
//!   ([`LogoutOutcome::with_session_started`]); identity resolvers may react (the anonymous cookie is
//!   renewed). An expiry ([`LogoutOutcome::expired`]) emits the `session_expired` event, or the
//!   `logout` event with `logout_reason = "timeout"` when the catalog has no such event.

use std::borrow::Cow;
use std::time::SystemTime;

use http::{Method, StatusCode, response};
use tally_runtime::Identity;
use tally_runtime::context::Context;

/// The outcome of a login attempt, as a response extension.
///
/// ```
/// use tally_middleware::login::LoginOutcome;
/// use tally_runtime::Identity;
///
/// // in an axum handler: `(Extension(outcome), Redirect::to("/"))`
/// let ok = LoginOutcome::success(Identity::user("u-7"), "password").with_session_id("s-1");
/// let bad = LoginOutcome::failure("invalid_credentials").with_method("password");
/// # let _ = (ok, bad);
/// ```
#[derive(Debug, Clone)]
pub struct LoginOutcome {
    kind: LoginKind,
    method: Option<&'static str>,
    username: Option<String>,
}

#[derive(Debug, Clone)]
enum LoginKind {
    Success { identity: Identity, session_id: Option<String> },
    Failure { reason: &'static str },
}

impl LoginOutcome {
    /// A successful login of `identity` through `method` (`password`, `sso`, `oidc`, … as the
    /// catalog's `login_method` property allows).
    pub fn success(identity: Identity, method: &'static str) -> Self {
        Self { kind: LoginKind::Success { identity, session_id: None }, method: Some(method), username: None }
    }

    /// A rejected login attempt, for `reason` (`invalid_credentials`, `mfa_failed`, …).
    pub fn failure(reason: &'static str) -> Self {
        Self { kind: LoginKind::Failure { reason }, method: None, username: None }
    }

    /// The user name the attempt gave, for `fill = "username"` (TimeTracker's
    /// `auth.login_failed.username`). Personal data: the catalog must give that property a
    /// privacy class, so it is pseudonymized (keyed HMAC) or dropped before leaving.
    pub fn with_username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// The user name the attempt gave, if reported.
    pub fn attempted_username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// The method used or attempted.
    pub fn with_method(mut self, method: &'static str) -> Self {
        self.method = Some(method);
        self
    }

    /// The id (never the token) of the session the login opened, for the login event.
    pub fn with_session_id(mut self, id: impl Into<String>) -> Self {
        if let LoginKind::Success { session_id, .. } = &mut self.kind {
            *session_id = Some(id.into());
        }
        self
    }

    /// Whether the login succeeded.
    pub fn is_success(&self) -> bool {
        matches!(self.kind, LoginKind::Success { .. })
    }

    /// The identity that logged in, for a success.
    pub fn identity(&self) -> Option<&Identity> {
        match &self.kind {
            LoginKind::Success { identity, .. } => Some(identity),
            LoginKind::Failure { .. } => None,
        }
    }

    /// The failure reason, for a failure.
    pub fn reason(&self) -> Option<&'static str> {
        match self.kind {
            LoginKind::Failure { reason } => Some(reason),
            LoginKind::Success { .. } => None,
        }
    }

    /// The method.
    pub fn login_method(&self) -> Option<&'static str> {
        self.method
    }

    pub(crate) fn session(&self) -> Option<&str> {
        match &self.kind {
            LoginKind::Success { session_id, .. } => session_id.as_deref(),
            LoginKind::Failure { .. } => None,
        }
    }
}

/// A logout or a session expiry, as a response extension.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use tally_middleware::login::LogoutOutcome;
///
/// let started = SystemTime::now() - Duration::from_secs(1800);
/// let manual = LogoutOutcome::new().with_session_started(started);
/// let expired = LogoutOutcome::expired().with_session_started(started).with_last_activity(SystemTime::now());
/// # let _ = (manual, expired);
/// ```
#[derive(Debug, Clone, Default)]
pub struct LogoutOutcome {
    identity: Option<Identity>,
    expired: bool,
    reason: Option<&'static str>,
    session_started: Option<SystemTime>,
    last_activity: Option<SystemTime>,
}

impl LogoutOutcome {
    /// A logout of the request's identity (`logout_reason = "manual"`).
    pub fn new() -> Self {
        Self::default()
    }

    /// The request's session expired (`session_expired`, else `logout` with
    /// `logout_reason = "timeout"`).
    pub fn expired() -> Self {
        Self { expired: true, ..Self::default() }
    }

    /// Why the session ended, for `fill = "logout_reason"` (default `manual`, or `timeout`
    /// when expired); e.g. `forced`.
    pub fn with_reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }

    /// When the session started: its duration fills `session_duration_secs`/`_mins`.
    pub fn with_session_started(mut self, at: SystemTime) -> Self {
        self.session_started = Some(at);
        self
    }

    /// When the session last saw activity, for `fill = "last_activity"`.
    pub fn with_last_activity(mut self, at: SystemTime) -> Self {
        self.last_activity = Some(at);
        self
    }

    /// Whether this reports an expiry.
    pub fn is_expiry(&self) -> bool {
        self.expired
    }

    pub(crate) fn logout_reason(&self) -> &'static str {
        self.reason.unwrap_or(if self.expired { "timeout" } else { "manual" })
    }

    /// How long the session lasted, until `now`; `None` when unknown or in the future.
    pub(crate) fn session_duration(&self, now: SystemTime) -> Option<std::time::Duration> {
        now.duration_since(self.session_started?).ok()
    }

    pub(crate) fn last_activity_at(&self) -> Option<SystemTime> {
        self.last_activity
    }

    /// A logout of this identity (when the request's own is already gone).
    pub fn with_identity(mut self, identity: Identity) -> Self {
        self.identity = Some(identity);
        self
    }

    pub(crate) fn who(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }
}

/// A login or a logout.
#[derive(Debug, Clone)]
pub enum AuthEvent {
    /// A login attempt.
    Login(LoginOutcome),
    /// A logout.
    Logout(LogoutOutcome),
}

/// What a [`DetectLogin`] hook sees of the request.
#[derive(Debug)]
pub struct RequestView<'a> {
    pub(crate) method: &'a Method,
    pub(crate) route: &'a str,
    pub(crate) context: &'a Context,
}

impl RequestView<'_> {
    /// The request method.
    pub fn method(&self) -> &Method {
        self.method
    }

    /// The route template (or the layer's constant for an unknown route).
    pub fn route(&self) -> &str {
        self.route
    }

    /// The request context (identities, session, request id).
    pub fn context(&self) -> &Context {
        self.context
    }
}

/// Decides whether a response reports a login or a logout. Called once per request when the
/// response head arrives (not for a panic or a service error). Implemented by
/// [`OutcomeExtensions`] (the default), [`AuthRoutes`], closures
/// `Fn(&RequestView, &mut response::Parts) -> Option<AuthEvent>`, `()` (never), and pairs
/// (the first that answers wins).
pub trait DetectLogin: Send + Sync + 'static {
    /// The login or logout this response reports, if any. It may take extensions out of the
    /// response.
    fn detect(&self, request: &RequestView<'_>, response: &mut response::Parts) -> Option<AuthEvent>;
}

impl DetectLogin for () {
    fn detect(&self, _request: &RequestView<'_>, _response: &mut response::Parts) -> Option<AuthEvent> {
        None
    }
}

impl<F> DetectLogin for F
where
    F: Fn(&RequestView<'_>, &mut response::Parts) -> Option<AuthEvent> + Send + Sync + 'static,
{
    fn detect(&self, request: &RequestView<'_>, response: &mut response::Parts) -> Option<AuthEvent> {
        self(request, response)
    }
}

impl<A: DetectLogin, B: DetectLogin> DetectLogin for (A, B) {
    fn detect(&self, request: &RequestView<'_>, response: &mut response::Parts) -> Option<AuthEvent> {
        self.0.detect(request, response).or_else(|| self.1.detect(request, response))
    }
}

/// Reads (and removes) a [`LoginOutcome`] or [`LogoutOutcome`] response extension.
#[derive(Debug, Clone, Copy, Default)]
pub struct OutcomeExtensions;

impl DetectLogin for OutcomeExtensions {
    fn detect(&self, _request: &RequestView<'_>, response: &mut response::Parts) -> Option<AuthEvent> {
        if let Some(login) = response.extensions.remove::<LoginOutcome>() {
            return Some(AuthEvent::Login(login));
        }
        response.extensions.remove::<LogoutOutcome>().map(AuthEvent::Logout)
    }
}

#[derive(Debug, Clone)]
struct AuthRoute {
    method: Method,
    route: Cow<'static, str>,
    login_method: Option<&'static str>,
}

/// Login and logout by route and status, for handlers that report nothing themselves.
///
/// For a login route: a `2xx` or `3xx` response is a success, of the identity in an
/// [`Identity`] response extension if the handler set one, else of the request's own identity
/// (for an authentication layer that already resolved it); `401` fails with
/// `invalid_credentials`, `403` with `forbidden`, `429` with `rate_limited`, any other `4xx`
/// with `rejected`. A `5xx` is a server error, not a login failure. For a logout route, a
/// `2xx` or `3xx` response is a logout.
///
/// ```
/// use http::Method;
/// use tally_middleware::login::AuthRoutes;
/// let routes = AuthRoutes::new().login(Method::POST, "/login", "password").logout(Method::POST, "/logout");
/// # let _ = routes;
/// ```
#[derive(Debug, Clone, Default)]
pub struct AuthRoutes {
    logins: Vec<AuthRoute>,
    logouts: Vec<AuthRoute>,
}

impl AuthRoutes {
    /// No routes.
    pub fn new() -> Self {
        Self::default()
    }

    /// `method route` (a route template) is a login through `login_method`.
    pub fn login(mut self, method: Method, route: impl Into<Cow<'static, str>>, login_method: &'static str) -> Self {
        self.logins.push(AuthRoute { method, route: route.into(), login_method: Some(login_method) });
        self
    }

    /// `method route` is a logout.
    pub fn logout(mut self, method: Method, route: impl Into<Cow<'static, str>>) -> Self {
        self.logouts.push(AuthRoute { method, route: route.into(), login_method: None });
        self
    }
}

fn matches(route: &AuthRoute, request: &RequestView<'_>) -> bool {
    route.method == *request.method && route.route == request.route
}

fn succeeded(status: StatusCode) -> bool {
    status.is_success() || status.is_redirection()
}

impl DetectLogin for AuthRoutes {
    fn detect(&self, request: &RequestView<'_>, response: &mut response::Parts) -> Option<AuthEvent> {
        let status = response.status;
        if let Some(login) = self.logins.iter().find(|r| matches(r, request)) {
            let method = login.login_method.unwrap_or("unknown");
            if succeeded(status) {
                let identity = match response.extensions.remove::<Identity>() {
                    Some(identity) => identity,
                    None => known_identity(request.context),
                };
                return Some(AuthEvent::Login(LoginOutcome::success(identity, method)));
            }
            let reason = match status.as_u16() {
                401 => "invalid_credentials",
                403 => "forbidden",
                429 => "rate_limited",
                400..=499 => "rejected",
                _ => return None,
            };
            return Some(AuthEvent::Login(LoginOutcome::failure(reason).with_method(method)));
        }
        if self.logouts.iter().any(|r| matches(r, request)) && succeeded(status) {
            return Some(AuthEvent::Logout(LogoutOutcome::new()));
        }
        None
    }
}

/// The request's identities without the anonymous id.
fn known_identity(context: &Context) -> Identity {
    context
        .identity()
        .iter()
        .filter(|(kind, _)| *kind != Identity::ANONYMOUS)
        .fold(Identity::new(), |identity, (kind, value)| identity.with(kind.to_owned(), value))
}
