//! Identities and `distinct_id`s.

use std::borrow::Cow;
use std::fmt;

/// The `distinct_id` of an event as sent to PostHog, already formatted (e.g. `tp.acme`) and
/// pseudonymized where the catalog says so.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DistinctId(String);

impl DistinctId {
    /// PostHog truncates longer ids; tally truncates first so the id it reports is the one stored.
    pub const MAX_LEN: usize = 200;

    /// A `distinct_id` used as is (no catalog format, no pseudonymization).
    pub fn new(id: impl Into<String>) -> Self {
        let mut id = id.into();
        if id.len() > Self::MAX_LEN {
            let mut end = Self::MAX_LEN;
            while !id.is_char_boundary(end) {
                end -= 1;
            }
            id.truncate(end);
        }
        Self(id)
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id, without a copy.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for DistinctId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DistinctId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DistinctId({:?})", self.0)
    }
}

/// An identity kind as named in the catalog's `[identity.kinds]` (`user`, `account`, …).
pub(crate) type IdentityKind = Cow<'static, str>;

/// The identities known for a request or a process: kind → raw value.
///
/// Which one keys an event, and how it is formatted and pseudonymized, is the catalog's
/// identity strategy; this only says who is acting.
///
/// ```
/// use tally_runtime::Identity;
/// let who = Identity::user("u-7").with_account("acme");
/// assert_eq!(who.get("account"), Some("acme"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    entries: Vec<(IdentityKind, String)>,
}

impl Identity {
    /// The well-known kind for the anonymous id the middleware keeps in a cookie.
    pub const ANONYMOUS: &'static str = "anonymous";

    /// No identity.
    pub fn new() -> Self {
        Self::default()
    }

    /// An identity of kind `user`.
    pub fn user(id: impl Into<String>) -> Self {
        Self::new().with("user", id)
    }

    /// An identity of kind `principal`.
    pub fn principal(id: impl Into<String>) -> Self {
        Self::new().with("principal", id)
    }

    /// An identity of kind `agent`.
    pub fn agent(handle: impl Into<String>) -> Self {
        Self::new().with("agent", handle)
    }

    /// Adds kind `account`.
    pub fn with_account(self, id: impl Into<String>) -> Self {
        self.with("account", id)
    }

    /// Adds the anonymous id.
    pub fn with_anonymous(self, id: impl Into<String>) -> Self {
        self.with(Self::ANONYMOUS, id)
    }

    /// Adds (or replaces) any kind.
    pub fn with(mut self, kind: impl Into<Cow<'static, str>>, value: impl Into<String>) -> Self {
        self.set(kind, value);
        self
    }

    /// Sets (or replaces) any kind.
    pub fn set(&mut self, kind: impl Into<Cow<'static, str>>, value: impl Into<String>) {
        let kind = kind.into();
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| *k == kind) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((kind, value)),
        }
    }

    /// The raw value of a kind.
    pub fn get(&self, kind: &str) -> Option<&str> {
        self.entries.iter().find(|(k, _)| k == kind).map(|(_, v)| v.as_str())
    }

    /// Whether no kind is known.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every kind and value.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_ref(), v.as_str()))
    }

    /// `other`'s kinds on top of these.
    pub(crate) fn merge(&mut self, other: &Identity) {
        for (kind, value) in &other.entries {
            self.set(kind.clone(), value.clone());
        }
    }
}
