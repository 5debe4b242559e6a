//! Identity resolvers: who is acting in a request, for the request [`Context`] that the
//! middleware's events *and* every event emitted inside the handler (macros, tracing layer)
//! are keyed by.
//!
//! A resolver reads the request head and adds to a [`Resolution`]: identities, a session id,
//! groups, context properties, response headers. The layer runs its resolver once per request,
//! in [`Service::call`][call], before the inner service sees the
//! request. Which identity becomes the `distinct_id` is the catalog's strategy, not the
//! resolver's: the middleware's events and the handler's events share one.
//!
//! [call]: https://docs.rs/tower-service/0.3/tower_service/trait.Service.html#tymethod.call
//!
//! - [`FromExtension`]: a request extension inserted by the application's own authentication
//!   (a layer *outside* the tally layer, or an earlier middleware).
//! - [`FromSession`]: a session the application's session layer verified (its extension).
//! - [`AnonymousCookie`]: an anonymous id from a cookie, set on the response when absent.
//! - [`TrustedHeader`]: an identity header set by a trusted gateway. Client-supplied identity
//!   headers are never read unless this resolver is configured.
//! - a closure `Fn(&request::Parts, &mut Resolution)`, `()` for none, and tuples of resolvers
//!   (applied in order: a later one's values win).

use std::borrow::Cow;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::time::Duration;

use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderName, HeaderValue, request};
use serde_json::Value;
use tally_runtime::Identity;
use tally_runtime::context::Context;

/// What the resolvers learned about a request; the layer turns it into the request [`Context`].
#[derive(Debug, Default)]
pub struct Resolution {
    context: Context,
    peer: Option<SocketAddr>,
    via_trusted_proxy: bool,
    response_headers: Vec<(HeaderName, HeaderValue)>,
}

impl Resolution {
    pub(crate) fn new(peer: Option<SocketAddr>, via_trusted_proxy: bool) -> Self {
        Self { context: Context::new(), peer, via_trusted_proxy, response_headers: Vec::new() }
    }

    fn update(&mut self, f: impl FnOnce(Context) -> Context) {
        self.context = f(std::mem::take(&mut self.context));
    }

    /// Adds identities (kinds already present are replaced).
    pub fn add_identity(&mut self, identity: Identity) {
        self.update(|c| c.with_identity(identity));
    }

    /// Sets the session id (an id, never a session token).
    pub fn set_session_id(&mut self, id: impl Into<String>) {
        let id = id.into();
        self.update(|c| c.with_session_id(id));
    }

    /// Puts the request in a group (`organization` → `org-9`).
    pub fn add_group(&mut self, group_type: impl Into<Cow<'static, str>>, key: impl Into<String>) {
        let (group_type, key) = (group_type.into(), key.into());
        self.update(|c| c.with_group(group_type, key));
    }

    /// Adds a context property (for catalog properties with `fill = "context"`).
    pub fn set_property(&mut self, name: impl Into<Cow<'static, str>>, value: impl Into<Value>) {
        let (name, value) = (name.into(), value.into());
        self.update(|c| c.with_property(name, value));
    }

    /// The identities resolved so far.
    pub fn identity(&self) -> &Identity {
        self.context.identity()
    }

    /// The context resolved so far.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// The socket peer's address, when the server reports it.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Whether the request came through a configured trusted proxy.
    pub fn via_trusted_proxy(&self) -> bool {
        self.via_trusted_proxy
    }

    /// Adds a header to the response (appended: it never replaces one the handler set).
    pub fn add_response_header(&mut self, name: HeaderName, value: HeaderValue) {
        self.response_headers.push((name, value));
    }

    pub(crate) fn into_parts(self) -> (Context, Vec<(HeaderName, HeaderValue)>) {
        (self.context, self.response_headers)
    }
}

/// Resolves who is acting in a request. See the [module docs](self).
pub trait ResolveIdentity: Send + Sync + 'static {
    /// Adds what this resolver knows about `request` to `resolution`. Runs on the request path:
    /// must be cheap, must not block, must not panic.
    fn resolve(&self, request: &request::Parts, resolution: &mut Resolution);

    /// Called when the layer reports a logout, with the response headers (the anonymous cookie
    /// is renewed here, so that the next person on the device is not merged with this one).
    fn on_logout(&self, _response_headers: &mut HeaderMap) {}
}

impl ResolveIdentity for () {
    fn resolve(&self, _request: &request::Parts, _resolution: &mut Resolution) {}
}

impl<F> ResolveIdentity for F
where
    F: Fn(&request::Parts, &mut Resolution) + Send + Sync + 'static,
{
    fn resolve(&self, request: &request::Parts, resolution: &mut Resolution) {
        self(request, resolution)
    }
}

macro_rules! tuple_resolvers {
    ($($name:ident),+) => {
        impl<$($name: ResolveIdentity),+> ResolveIdentity for ($($name,)+) {
            #[allow(non_snake_case)]
            fn resolve(&self, request: &request::Parts, resolution: &mut Resolution) {
                let ($($name,)+) = self;
                $($name.resolve(request, resolution);)+
            }

            #[allow(non_snake_case)]
            fn on_logout(&self, response_headers: &mut HeaderMap) {
                let ($($name,)+) = self;
                $($name.on_logout(response_headers);)+
            }
        }
    };
}

tuple_resolvers!(A);
tuple_resolvers!(A, B);
tuple_resolvers!(A, B, C);
tuple_resolvers!(A, B, C, D);
tuple_resolvers!(A, B, C, D, E);

/// The identity from a request extension of type `T` that the application's authentication
/// inserted (it must run before the tally layer: in axum, a layer added *after* it).
///
/// ```
/// use tally_middleware::identity::FromExtension;
/// use tally_runtime::Identity;
///
/// #[derive(Clone)]
/// struct Principal { id: String, account: String }
///
/// let resolver = FromExtension::<Principal>::new(|p| Identity::user(&p.id).with_account(&p.account));
/// # let _ = resolver;
/// ```
///
/// A request without the extension (not authenticated) gets nothing from this resolver.
pub struct FromExtension<T, F = ()> {
    map: F,
    _type: PhantomData<fn(&T)>,
}

impl<T> FromExtension<T> {
    /// Maps the extension to an identity.
    pub fn new<F>(map: F) -> FromExtension<T, F>
    where
        F: Fn(&T) -> Identity + Send + Sync + 'static,
    {
        FromExtension { map, _type: PhantomData }
    }
}

impl<T, F: Clone> Clone for FromExtension<T, F> {
    fn clone(&self) -> Self {
        Self { map: self.map.clone(), _type: PhantomData }
    }
}

impl<T, F> std::fmt::Debug for FromExtension<T, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FromExtension").field("type", &std::any::type_name::<T>()).finish()
    }
}

impl<T, F> ResolveIdentity for FromExtension<T, F>
where
    T: Send + Sync + 'static,
    F: Fn(&T) -> Identity + Send + Sync + 'static,
{
    fn resolve(&self, request: &request::Parts, resolution: &mut Resolution) {
        if let Some(value) = request.extensions.get::<T>() {
            resolution.add_identity((self.map)(value));
        }
    }
}

/// A verified session: its id (never its token) and who it belongs to.
#[derive(Debug, Clone, Default)]
pub struct VerifiedSession {
    id: String,
    identity: Identity,
}

impl VerifiedSession {
    /// A session with this id.
    pub fn new(id: impl Into<String>) -> Self {
        Self { id: id.into(), identity: Identity::new() }
    }

    /// Who it belongs to.
    pub fn with_identity(mut self, identity: Identity) -> Self {
        self.identity = identity;
        self
    }
}

/// The session id and identity of a session that the application's session layer verified
/// and put in the request extensions as a `T` (a request whose session was not verified has
/// no such extension, and gets nothing from this resolver).
///
/// ```
/// use tally_middleware::identity::{FromSession, VerifiedSession};
/// use tally_runtime::Identity;
///
/// #[derive(Clone)]
/// struct Session { id: String, user_id: Option<String> }
///
/// let resolver = FromSession::<Session>::new(|s| {
///     let session = VerifiedSession::new(&s.id);
///     Some(match &s.user_id {
///         Some(user) => session.with_identity(Identity::user(user)),
///         None => session,
///     })
/// });
/// # let _ = resolver;
/// ```
pub struct FromSession<T, F = ()> {
    map: F,
    _type: PhantomData<fn(&T)>,
}

impl<T> FromSession<T> {
    /// Maps the session extension to a [`VerifiedSession`] (`None`: nothing to add).
    pub fn new<F>(map: F) -> FromSession<T, F>
    where
        F: Fn(&T) -> Option<VerifiedSession> + Send + Sync + 'static,
    {
        FromSession { map, _type: PhantomData }
    }
}

impl<T, F: Clone> Clone for FromSession<T, F> {
    fn clone(&self) -> Self {
        Self { map: self.map.clone(), _type: PhantomData }
    }
}

impl<T, F> std::fmt::Debug for FromSession<T, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FromSession").field("type", &std::any::type_name::<T>()).finish()
    }
}

impl<T, F> ResolveIdentity for FromSession<T, F>
where
    T: Send + Sync + 'static,
    F: Fn(&T) -> Option<VerifiedSession> + Send + Sync + 'static,
{
    fn resolve(&self, request: &request::Parts, resolution: &mut Resolution) {
        let Some(session) = request.extensions.get::<T>().and_then(|s| (self.map)(s)) else { return };
        if !session.id.is_empty() {
            resolution.set_session_id(session.id);
        }
        if !session.identity.is_empty() {
            resolution.add_identity(session.identity);
        }
    }
}

/// The longest identity value read from a header.
const MAX_HEADER_IDENTITY: usize = 200;

/// An identity kind read from a request header that a trusted gateway sets (and strips from
/// client requests). Never configured by default: without it, identity headers are ignored.
///
/// With [`only_via_trusted_proxy`](Self::only_via_trusted_proxy), the header is read only on
/// requests that came through a proxy configured in the layer's
/// [`ClientIp`](crate::client_ip::ClientIp).
#[derive(Debug, Clone)]
pub struct TrustedHeader {
    header: HeaderName,
    kind: Cow<'static, str>,
    only_via_proxy: bool,
}

impl TrustedHeader {
    /// Reads identity kind `kind` (`user`, `account`, …) from `header`, an
    /// `http::HeaderName` (in axum: `axum::http::HeaderName`). Header names are lowercase:
    /// `HeaderName::from_static("x-user-id")` (it panics on an uppercase or invalid name, at
    /// startup), or `HeaderName::try_from(name)` for a name read from configuration.
    ///
    /// ```
    /// use http::HeaderName;
    /// use tally_middleware::{TrackLayer, client_ip::ClientIp, identity::TrustedHeader};
    ///
    /// let layer = TrackLayer::new_for_http()
    ///     .client_ip(ClientIp::socket().trust_proxies(["10.0.0.0/8".parse()?]))
    ///     .identity(TrustedHeader::new(HeaderName::from_static("x-user-id"), "user").only_via_trusted_proxy());
    /// # Ok::<(), tally_middleware::client_ip::IpNetError>(())
    /// ```
    pub fn new(header: HeaderName, kind: impl Into<Cow<'static, str>>) -> Self {
        Self { header, kind: kind.into(), only_via_proxy: false }
    }

    /// Reads the header only on requests from a trusted proxy.
    pub fn only_via_trusted_proxy(mut self) -> Self {
        self.only_via_proxy = true;
        self
    }
}

impl ResolveIdentity for TrustedHeader {
    fn resolve(&self, request: &request::Parts, resolution: &mut Resolution) {
        if self.only_via_proxy && !resolution.via_trusted_proxy() {
            return;
        }
        let mut values = request.headers.get_all(&self.header).iter();
        // Exactly one value: two are ambiguous, and ambiguity is not trust.
        let (Some(value), None) = (values.next(), values.next()) else { return };
        let Ok(text) = std::str::from_utf8(value.as_bytes()) else { return };
        let text = text.trim();
        if text.is_empty() || text.len() > MAX_HEADER_IDENTITY || text.chars().any(char::is_control) {
            return;
        }
        resolution.add_identity(Identity::new().with(self.kind.clone(), text));
    }
}

/// The anonymous id, from a cookie the layer sets when the request has none (or a malformed
/// one): a UUID v7, `HttpOnly; SameSite=Lax; Path=/`, for [`max_age`](Self::max_age) (a year by
/// default). It is the identity kind `anonymous`: the `distinct_id` of events without a known
/// person (per the catalog's `on_missing`), and the id a login's `$identify` merges into the
/// person. On logout a new id is set, so the next person on the device starts afresh.
///
/// Only a well-formed incoming value is reused (8–64 characters of `A-Z a-z 0-9 - _`).
#[derive(Debug, Clone)]
pub struct AnonymousCookie {
    name: Cow<'static, str>,
    max_age: Duration,
    secure: bool,
    domain: Option<String>,
}

impl Default for AnonymousCookie {
    fn default() -> Self {
        Self::new()
    }
}

impl AnonymousCookie {
    /// The default cookie name.
    pub const DEFAULT_NAME: &'static str = "tally_anon";

    /// A cookie named [`DEFAULT_NAME`](Self::DEFAULT_NAME).
    pub fn new() -> Self {
        Self {
            name: Cow::Borrowed(Self::DEFAULT_NAME),
            max_age: Duration::from_secs(365 * 24 * 3600),
            secure: false,
            domain: None,
        }
    }

    /// The cookie's name (a cookie token: letters, digits, `-` and `_`; anything else keeps
    /// the default).
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        let name = name.into();
        if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            self.name = name;
        }
        self
    }

    /// How long the browser keeps it (default: 365 days).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Adds `Secure` (set it when the site is served over HTTPS only).
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// Adds `Domain=` (a domain name; anything with other characters is ignored).
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        let domain = domain.into();
        if !domain.is_empty() && domain.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') {
            self.domain = Some(domain);
        }
        self
    }

    fn incoming<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| std::str::from_utf8(value.as_bytes()).ok())
            .flat_map(|header| header.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.name)
            .map(|(_, value)| value.trim().trim_matches('"'))
            .filter(|value| is_well_formed_id(value))
    }

    fn set_cookie(&self, id: &str) -> Option<HeaderValue> {
        let mut cookie =
            format!("{}={id}; Max-Age={}; Path=/; HttpOnly; SameSite=Lax", self.name, self.max_age.as_secs());
        if let Some(domain) = &self.domain {
            cookie.push_str("; Domain=");
            cookie.push_str(domain);
        }
        if self.secure {
            cookie.push_str("; Secure");
        }
        HeaderValue::from_str(&cookie).ok()
    }
}

fn is_well_formed_id(value: &str) -> bool {
    (8..=64).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl ResolveIdentity for AnonymousCookie {
    fn resolve(&self, request: &request::Parts, resolution: &mut Resolution) {
        let id = match self.incoming(&request.headers) {
            Some(id) => id.to_owned(),
            None => {
                let id = uuid::Uuid::now_v7().to_string();
                if let Some(cookie) = self.set_cookie(&id) {
                    resolution.add_response_header(SET_COOKIE, cookie);
                }
                id
            }
        };
        resolution.add_identity(Identity::new().with_anonymous(id));
    }

    fn on_logout(&self, response_headers: &mut HeaderMap) {
        if let Some(cookie) = self.set_cookie(&uuid::Uuid::now_v7().to_string()) {
            response_headers.append(SET_COOKIE, cookie);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, &[u8])]) -> request::Parts {
        let mut builder = http::Request::builder();
        for (name, value) in headers {
            builder = builder.header(*name, HeaderValue::from_bytes(value).unwrap_or(HeaderValue::from_static("x")));
        }
        builder.body(()).map(|r| r.into_parts().0).unwrap_or_else(|_| http::Request::new(()).into_parts().0)
    }

    #[test]
    fn anonymous_cookie_reuses_only_well_formed_ids() {
        let cookie = AnonymousCookie::new();
        let mut r = Resolution::default();
        cookie.resolve(&parts(&[("cookie", b"a=b; tally_anon=0192f0c1-aaaa-7bbb-8ccc-123456789abc; c=d")]), &mut r);
        assert_eq!(r.identity().get("anonymous"), Some("0192f0c1-aaaa-7bbb-8ccc-123456789abc"));
        assert!(r.response_headers.is_empty());

        for hostile in [&b"tally_anon=<script>"[..], b"tally_anon=short", b"tally_anon=\xff\xfe"] {
            let mut r = Resolution::default();
            cookie.resolve(&parts(&[("cookie", hostile)]), &mut r);
            let id = r.identity().get("anonymous").map(str::to_owned).unwrap_or_default();
            assert!(is_well_formed_id(&id), "{id}");
            assert_eq!(r.response_headers.len(), 1);
            let set = r.response_headers[0].1.to_str().unwrap_or("");
            assert!(set.starts_with(&format!("tally_anon={id}; Max-Age=31536000; Path=/; HttpOnly; SameSite=Lax")));
        }
    }

    #[test]
    fn trusted_header_needs_one_sane_value() {
        let resolver = TrustedHeader::new(HeaderName::from_static("x-user"), "user");
        let mut r = Resolution::default();
        resolver.resolve(&parts(&[("x-user", b"u-1")]), &mut r);
        assert_eq!(r.identity().get("user"), Some("u-1"));
        let mut r = Resolution::default();
        resolver.resolve(&parts(&[("x-user", b"u-1"), ("x-user", b"u-2")]), &mut r);
        assert!(r.identity().is_empty());
        let mut r = Resolution::default();
        resolver.clone().only_via_trusted_proxy().resolve(&parts(&[("x-user", b"u-1")]), &mut r);
        assert!(r.identity().is_empty());
    }
}
