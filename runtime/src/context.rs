//! The request context: who is acting, in which request and session, for which groups.
//!
//! The middleware opens a context around each request; the macros and the tracing layer read
//! it when they emit. A context is scoped to a task ([`Context::scope`]); a nested scope sees
//! the outer one's values with its own on top. Spawned tasks do not inherit it by themselves:
//! carry it with [`InContext::in_current_context`], as tracing's `Instrument::in_current_span`.
//!
//! A context says what events are about, never where they go: which tracker receives them is
//! routing ([`Tracker::scope`](crate::Tracker::scope)), kept apart as tracing keeps its
//! `Dispatch` apart from a `Span`.
//!
//! ```
//! use tally_runtime::{Identity, context::Context};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let outer = Context::new().with_identity(Identity::user("u-1")).with_request_id("req-1");
//! outer.scope(async {
//!     Context::new().with_group("organization", "org-9").scope(async {
//!         let current = Context::current().unwrap();
//!         assert_eq!(current.identity().get("user"), Some("u-1"));
//!         assert_eq!(current.group_key("organization"), Some("org-9"));
//!     }).await;
//! }).await;
//! # });
//! ```

use std::any::Any;
use std::borrow::Cow;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use crate::identity::Identity;

tokio::task_local! {
    static CURRENT: Arc<Context>;
}

/// The future [`Context::scoped`] returns: `F`, polled with a context in scope.
pub type Scoped<F> = tokio::task::futures::TaskLocalFuture<Arc<Context>, F>;

/// What the middleware knows about the request (never the raw path).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// HTTP method, or `grpc`.
    pub method: Option<Cow<'static, str>>,
    /// Route template (`/projects/{id}`) or gRPC method (`/pkg.Service/Method`).
    pub route: Option<Cow<'static, str>>,
    /// The client's user agent.
    pub user_agent: Option<String>,
    /// The client's IP address, as observed (anonymized by the privacy step).
    pub client_ip: Option<std::net::IpAddr>,
}

/// A request-scoped context. Build it, then run code inside it with [`Context::scope`].
#[derive(Debug, Clone, Default)]
pub struct Context {
    identities: Identity,
    request_id: Option<String>,
    session_id: Option<String>,
    groups: Vec<(Cow<'static, str>, String)>,
    properties: Vec<(Cow<'static, str>, Value)>,
    request: RequestInfo,
    /// Shared by the clones and nested scopes of one request (see `logged_error.rs`).
    at_end: Arc<AtEnd>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// The context of the current task, if one is in scope.
    pub fn current() -> Option<Arc<Context>> {
        CURRENT.try_with(Arc::clone).ok()
    }

    /// Adds identities (kinds already present are replaced).
    pub fn with_identity(mut self, identity: Identity) -> Self {
        self.identities.merge(&identity);
        self
    }

    /// Sets the request id.
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }

    /// Sets the session id.
    pub fn with_session_id(mut self, id: impl Into<String>) -> Self {
        self.session_id = Some(id.into());
        self
    }

    /// Puts the request in a PostHog group (`organization` → `org-9`).
    pub fn with_group(mut self, group_type: impl Into<Cow<'static, str>>, key: impl Into<String>) -> Self {
        let group_type = group_type.into();
        self.groups.retain(|(t, _)| *t != group_type);
        self.groups.push((group_type, key.into()));
        self
    }

    /// Adds a property that events declaring it with `fill = "context"` take.
    pub fn with_property(mut self, name: impl Into<Cow<'static, str>>, value: impl Into<Value>) -> Self {
        let name = name.into();
        self.properties.retain(|(n, _)| *n != name);
        self.properties.push((name, value.into()));
        self
    }

    /// Sets what the middleware knows about the request.
    pub fn with_request_info(mut self, request: RequestInfo) -> Self {
        self.request = request;
        self
    }

    /// The identities.
    pub fn identity(&self) -> &Identity {
        &self.identities
    }

    /// The request id.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Whether this context is a request's: it names a request id or describes the request (a
    /// front door opened it, with or without an id). Such a context holds the request's errors.
    pub(crate) fn names_request(&self) -> bool {
        self.request_id.is_some() || self.request.method.is_some() || self.request.route.is_some()
    }

    /// The session id.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// The key of a group type.
    pub fn group_key(&self, group_type: &str) -> Option<&str> {
        self.groups.iter().find(|(t, _)| t == group_type).map(|(_, key)| key.as_str())
    }

    /// Every group type and key.
    pub fn groups(&self) -> impl Iterator<Item = (&str, &str)> {
        self.groups.iter().map(|(t, k)| (t.as_ref(), k.as_str()))
    }

    /// A context property.
    pub fn property(&self, name: &str) -> Option<&Value> {
        self.properties.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// What the middleware knows about the request.
    pub fn request_info(&self) -> &RequestInfo {
        &self.request
    }

    /// What the request reports when it ends unless taken first (see `logged_error.rs`).
    pub(crate) fn at_end(&self) -> MutexGuard<'_, Option<Box<dyn AtRequestEnd>>> {
        crate::lock(&self.at_end.held)
    }

    /// A copy that does not share the request's held error (an event held there carries one:
    /// sharing would keep the request alive forever).
    #[cfg_attr(not(feature = "tracing-layer"), allow(dead_code))]
    pub(crate) fn detached(&self) -> Context {
        Context { at_end: Arc::default(), ..self.clone() }
    }

    /// This context on top of `outer`: values set here win.
    pub(crate) fn over(self, outer: &Context) -> Context {
        let names_request = self.names_request();
        let mut merged = outer.clone();
        merged.identities.merge(&self.identities);
        merged.request_id = self.request_id.or(merged.request_id);
        merged.session_id = self.session_id.or(merged.session_id);
        for (group_type, key) in self.groups {
            merged = merged.with_group(group_type, key);
        }
        for (name, value) in self.properties {
            merged = merged.with_property(name, value);
        }
        let request = self.request;
        merged.request = RequestInfo {
            method: request.method.or(merged.request.method),
            route: request.route.or(merged.request.route),
            user_agent: request.user_agent.or(merged.request.user_agent),
            client_ip: request.client_ip.or(merged.request.client_ip),
        };
        // A context that names a request is that request's: its errors are its own.
        if names_request {
            merged.at_end = self.at_end;
        }
        merged
    }

    /// This context merged over the current one, ready to be scoped.
    pub fn nested(self) -> Arc<Context> {
        match Context::current() {
            Some(outer) => Arc::new(self.over(&outer)),
            None => Arc::new(self),
        }
    }

    /// Runs `future` with this context (on top of the current one) in scope.
    pub async fn scope<F: Future>(self, future: F) -> F::Output {
        CURRENT.scope(self.nested(), future).await
    }

    /// Runs `f` with this context (on top of the current one) in scope, synchronously.
    pub fn sync_scope<R>(self, f: impl FnOnce() -> R) -> R {
        CURRENT.sync_scope(self.nested(), f)
    }

    /// Runs `future` with an already built context (from [`Context::nested`]) in scope, as
    /// is; the returned future's type can be named, so that a middleware's response future
    /// holds it without boxing.
    pub fn scoped<F: Future>(context: Arc<Context>, future: F) -> Scoped<F> {
        CURRENT.scope(context, future)
    }
}

/// Runs futures inside a request [`Context`]: what carries the context into spawned tasks.
///
/// Named for what it does, as tracing's `Instrument` (`in_current_span`); not `FutureExt`,
/// which `futures` and `tokio-stream` use for their own extension traits, nor `WithContext`,
/// OpenTelemetry's. It carries the context only: carry the routing to a tracker, when one is
/// scoped, with [`WithTracker`](crate::routing::WithTracker).
///
/// ```
/// use tally_runtime::context::{Context, InContext};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// Context::new().with_request_id("req-1").scope(async {
///     let task = async { Context::current().and_then(|c| c.request_id().map(str::to_owned)) };
///     assert_eq!(tokio::spawn(task.in_current_context()).await.unwrap().as_deref(), Some("req-1"));
/// }).await;
/// # });
/// ```
pub trait InContext: Future + Sized {
    /// Runs this future inside the context current where this is called (none: as is):
    /// `tokio::spawn(work().in_current_context())`.
    fn in_current_context(self) -> impl Future<Output = Self::Output> {
        let context = Context::current();
        async move {
            match context {
                Some(context) => Context::scoped(context, self).await,
                None => self.await,
            }
        }
    }

    /// Runs this future inside `context` (on top of the context current where this is called).
    fn in_context(self, context: Context) -> Scoped<Self> {
        Context::scoped(context.nested(), self)
    }
}

impl<F: Future> InContext for F {}

/// What a request reports when it ends, unless a front door takes it first: the tracing
/// layer's held error event (`logged_error.rs`) is the one kind. The context only keeps it,
/// opaque, so that it depends on nothing that emits (no event, no tracker).
pub(crate) trait AtRequestEnd: Any + Send + Sync {
    /// The request ended and nobody took it: report it now.
    fn report(self: Box<Self>);
}

/// The slot the clones and nested scopes of one request share.
#[derive(Default)]
struct AtEnd {
    held: Mutex<Option<Box<dyn AtRequestEnd>>>,
}

impl Drop for AtEnd {
    fn drop(&mut self) {
        let held = self.held.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        if let Some(held) = held {
            held.report();
        }
    }
}

impl std::fmt::Debug for AtEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtEnd").field("held", &crate::lock(&self.held).is_some()).finish()
    }
}
