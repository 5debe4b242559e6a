//! The request context: who is acting, in which request and session, for which groups.
//!
//! The middleware opens a context around each request; the macros and the tracing layer read
//! it when they emit. A context is scoped to a task ([`Context::scope`]); a nested scope sees
//! the outer one's values with its own on top. Spawned tasks do not inherit it by themselves:
//! carry it with [`FutureExt::in_current_context`], as tracing's `in_current_span`.
//!
//! ```
//! use tally_runtime::{Context, Identity};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let outer = Context::new().identity(Identity::user("u-1")).request_id("req-1");
//! outer.scope(async {
//!     Context::new().group("organization", "org-9").scope(async {
//!         let current = Context::current().unwrap();
//!         assert_eq!(current.identities().get("user"), Some("u-1"));
//!         assert_eq!(current.group_key("organization"), Some("org-9"));
//!     }).await;
//! }).await;
//! # });
//! ```

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;

use serde_json::Value;

use crate::event::Event;
use crate::identity::Identity;
use crate::logged_error::LoggedError;
use crate::tracker::Tracker;

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
    tracker: Option<Tracker>,
    /// Shared by the clones and nested scopes of one request (see `logged_error.rs`).
    logged_error: Arc<LoggedError>,
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
    pub fn identity(mut self, identity: Identity) -> Self {
        self.identities.merge(&identity);
        self
    }

    /// Sets the request id.
    pub fn request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }

    /// Sets the session id.
    pub fn session_id(mut self, id: impl Into<String>) -> Self {
        self.session_id = Some(id.into());
        self
    }

    /// Puts the request in a PostHog group (`organization` → `org-9`).
    pub fn group(mut self, group_type: impl Into<Cow<'static, str>>, key: impl Into<String>) -> Self {
        let group_type = group_type.into();
        self.groups.retain(|(t, _)| *t != group_type);
        self.groups.push((group_type, key.into()));
        self
    }

    /// Adds a property that events declaring it with `fill = "context"` take.
    pub fn property(mut self, name: impl Into<Cow<'static, str>>, value: impl Into<Value>) -> Self {
        let name = name.into();
        self.properties.retain(|(n, _)| *n != name);
        self.properties.push((name, value.into()));
        self
    }

    /// Sets what the middleware knows about the request.
    pub fn request(mut self, request: RequestInfo) -> Self {
        self.request = request;
        self
    }

    /// Routes events emitted in this scope to `tracker` instead of the global default.
    pub fn tracker(mut self, tracker: Tracker) -> Self {
        self.tracker = Some(tracker);
        self
    }

    /// The identities.
    pub fn identities(&self) -> &Identity {
        &self.identities
    }

    /// The request id.
    pub fn get_request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The session id.
    pub fn get_session_id(&self) -> Option<&str> {
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
    pub fn get_property(&self, name: &str) -> Option<&Value> {
        self.properties.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// What the middleware knows about the request.
    pub fn request_info(&self) -> &RequestInfo {
        &self.request
    }

    /// The tracker this scope routes to, if set.
    pub fn get_tracker(&self) -> Option<&Tracker> {
        self.tracker.as_ref()
    }

    /// Takes the error event the tracing layer holds for this request (an ERROR log inside it,
    /// with [`TallyLayer::errors_as_events`](crate::TallyLayer::errors_as_events)), so that a
    /// front door reporting the request's failure emits one event for both. Not taken, it is
    /// emitted when the request's context ends.
    pub fn take_logged_error(&self) -> Option<Event> {
        self.logged_error.take()
    }

    /// The request's held error event.
    #[cfg_attr(not(feature = "tracing-layer"), allow(dead_code))]
    pub(crate) fn logged_error(&self) -> &LoggedError {
        &self.logged_error
    }

    /// A copy that does not share the request's held error (an event held there carries one:
    /// sharing would keep the request alive forever).
    #[cfg_attr(not(feature = "tracing-layer"), allow(dead_code))]
    pub(crate) fn detached(&self) -> Context {
        Context { logged_error: Arc::default(), ..self.clone() }
    }

    /// This context on top of `outer`: values set here win.
    pub(crate) fn over(self, outer: &Context) -> Context {
        let names_request = self.request_id.is_some();
        let mut merged = outer.clone();
        merged.identities.merge(&self.identities);
        merged.request_id = self.request_id.or(merged.request_id);
        merged.session_id = self.session_id.or(merged.session_id);
        for (group_type, key) in self.groups {
            merged = merged.group(group_type, key);
        }
        for (name, value) in self.properties {
            merged = merged.property(name, value);
        }
        let request = self.request;
        merged.request = RequestInfo {
            method: request.method.or(merged.request.method),
            route: request.route.or(merged.request.route),
            user_agent: request.user_agent.or(merged.request.user_agent),
            client_ip: request.client_ip.or(merged.request.client_ip),
        };
        merged.tracker = self.tracker.or(merged.tracker);
        // A context that names a request is that request's: its errors are its own.
        if names_request {
            merged.logged_error = self.logged_error;
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

    /// Runs `future` with an already built context in scope, as is.
    pub async fn scope_arc<F: Future>(context: Arc<Context>, future: F) -> F::Output {
        CURRENT.scope(context, future).await
    }

    /// [`Context::scope_arc`] as a future whose type can be named, so that a middleware's
    /// response future holds it without boxing.
    pub fn scoped<F: Future>(context: Arc<Context>, future: F) -> Scoped<F> {
        CURRENT.scope(context, future)
    }
}

/// Carrying the context into spawned tasks.
pub trait FutureExt: Future + Sized {
    /// Runs this future inside the context current where this is called:
    /// `tokio::spawn(work().in_current_context())`.
    fn in_current_context(self) -> impl Future<Output = Self::Output> {
        let context = Context::current();
        async move {
            match context {
                Some(context) => CURRENT.scope(context, self).await,
                None => self.await,
            }
        }
    }
}

impl<F: Future> FutureExt for F {}
