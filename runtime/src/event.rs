//! [`Event`]: what a front door (macro, tracing layer, middleware) hands to the pipeline.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use arrayvec::ArrayVec;
use smallvec::SmallVec;
use smol_str::SmolStr;

use crate::clock::Stamp;
use crate::context::Context;
use crate::identity::DistinctId;
use crate::identity::Identity;
use crate::value::PropertyValue;

/// A property name: static for code-defined events, owned for dynamic ones.
pub type PropertyName = Cow<'static, str>;

/// A property as an event carries it.
pub(crate) type Property = (PropertyName, PropertyValue);

/// An event's properties, in insertion order; the first six are stored in the event itself.
/// Most events have no more, and an allocation on the emitting thread that the worker frees
/// on another core costs glibc's malloc more than the rest of the emit (the event is moved
/// into the queue's recycled buffers, never allocated on its own).
#[derive(Debug, Clone, Default)]
pub(crate) struct Properties {
    first: ArrayVec<Property, 6>,
    /// Only ever non-empty when `first` is full.
    more: Vec<Property>,
    /// About the bytes of the properties serialized, summed as they are added: the values are
    /// still in registers then, while summing them at emit read back what was just stored.
    bytes: usize,
}

/// About the bytes of a property serialized: its name, its value, quotes and separators.
#[inline(always)]
fn property_bytes((name, value): &Property) -> usize {
    name.len() + 4 + value.byte_size()
}

impl Properties {
    /// Adds a property after the others.
    #[inline(always)]
    pub(crate) fn push(&mut self, property: Property) {
        self.bytes += property_bytes(&property);
        if let Err(full) = self.first.try_push(property) {
            self.more.push(full.element());
        }
    }

    /// Empty, with room for `count` properties.
    #[inline]
    fn with_room(count: usize) -> Self {
        Properties { first: ArrayVec::new(), more: Vec::with_capacity(count.saturating_sub(6)), bytes: 0 }
    }

    #[cfg(feature = "tracing-layer")]
    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_empty()
    }

    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = &Property> {
        self.first.iter().chain(&self.more)
    }

    /// The properties where they are, for taking their values out: moving whole properties
    /// out (name and value, through a chained iterator) cost the worker more than checking them.
    /// Only for the worker: the byte count is not updated.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Property> {
        self.first.iter_mut().chain(&mut self.more)
    }

    /// Keeps the properties `keep` says yes to, in their order.
    #[cfg(feature = "tracing-layer")]
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&Property) -> bool) {
        if self.more.is_empty() {
            self.first.retain(|property| keep(property));
            self.bytes = self.first.iter().map(property_bytes).sum();
        } else {
            let kept: Vec<Property> = std::mem::take(self).into_iter().filter(|property| keep(property)).collect();
            self.extend(kept);
        }
    }
}

impl IntoIterator for Properties {
    type Item = Property;
    type IntoIter = std::iter::Chain<arrayvec::IntoIter<Property, 6>, std::vec::IntoIter<Property>>;

    fn into_iter(self) -> Self::IntoIter {
        self.first.into_iter().chain(self.more)
    }
}

impl Extend<Property> for Properties {
    fn extend<I: IntoIterator<Item = Property>>(&mut self, properties: I) {
        properties.into_iter().for_each(|property| self.push(property));
    }
}

/// Facts a front door measured about the event, for catalog properties declared with the
/// matching `fill` (the middleware knows the status, the tracing layer the error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fact {
    /// HTTP status or gRPC code (`fill = "status"`).
    Status,
    /// Request body size in bytes (`fill = "request_size"`).
    RequestSize,
    /// Response body size in bytes (`fill = "response_size"`).
    ResponseSize,
    /// The kind of error (`fill = "error_type"`).
    ErrorType,
    /// A sanitized error message (`fill = "error_message"`).
    ErrorMessage,
    /// Why a login failed (`fill = "failure_reason"`).
    FailureReason,
    /// How the user logged in (`fill = "login_method"`).
    LoginMethod,
    /// Whether a login attempt succeeded (`fill = "success"`).
    Success,
    /// The user name a login attempt gave (`fill = "username"`); personal data, which the
    /// catalog's privacy class of the property treats.
    Username,
    /// How long the session that ended lasted, in seconds as a number
    /// (`fill = "session_duration_secs"`, `fill = "session_duration_mins"`).
    SessionDuration,
    /// When the session that ended last saw activity, RFC 3339 (`fill = "last_activity"`).
    LastActivity,
    /// Why the session ended (`fill = "logout_reason"`).
    LogoutReason,
}

/// The special events tally builds itself.
#[derive(Debug, Clone)]
pub(crate) enum Special {
    /// `$identify`: merge `anonymous` into the identity's person.
    Identify { anonymous: String, identity: Identity },
}

/// One event on its way to the pipeline.
///
/// Building one is cheap: the name and property names are usually `&'static str`, values are
/// [`PropertyValue`]s (literal text is not copied), the emit time is one read of the CPU's
/// cycle counter, and everything else (the time of day, validation, identity, privacy,
/// serialization) happens on the worker. Building with [`insert`](Self::insert) on a local
/// is the cheapest way: each [`with`](Self::with) moves the event (a few hundred bytes).
///
/// ```
/// use tally_runtime::Event;
/// let event = Event::new("project.created").with("project_id", "p-42").with("has_client", true);
/// assert_eq!(event.name(), "project.created");
/// assert_eq!(event.property("has_client"), Some(&true.into()));
/// ```
#[derive(Debug, Clone)]
pub struct Event {
    /// A literal is not copied; other names up to 23 bytes are stored inline.
    pub(crate) name: SmolStr,
    pub(crate) properties: Properties,
    pub(crate) stamp: Stamp,
    pub(crate) context: Option<Arc<Context>>,
    /// What only some front doors set, boxed to keep the event small: it is moved at every
    /// builder call and into the queue.
    details: Option<Box<Details>>,
    /// Values came through tracing: the worker converts them to the declared types.
    pub(crate) coerce_types: bool,
}

#[derive(Debug, Clone, Default)]
struct Details {
    /// Inline: the middleware sets up to five (status, sizes, error type and message).
    facts: SmallVec<[(Fact, PropertyValue); 5]>,
    distinct_id: Option<DistinctId>,
    duration: Option<Duration>,
    /// An event tally makes itself (`$identify`).
    special: Option<Special>,
}

impl Event {
    /// An event with a catalog name (without the wire namespace).
    #[inline]
    pub fn new(name: impl Into<Cow<'static, str>>) -> Self {
        Self::with_capacity(name, 0)
    }

    /// An event with room for `properties` properties.
    #[inline]
    pub fn with_capacity(name: impl Into<Cow<'static, str>>, properties: usize) -> Self {
        let name = match name.into() {
            Cow::Borrowed(name) => SmolStr::new_static(name),
            Cow::Owned(name) => SmolStr::from(name),
        };
        Self::from_name(name, properties)
    }

    /// An event whose name is copied from `name`: without an allocation up to 23 bytes, for
    /// names that live in a catalog rather than in the code (as the middleware's role events).
    ///
    /// ```
    /// use tally_runtime::Event;
    /// let catalog_name = String::from("api.request_completed");
    /// assert_eq!(Event::named(&catalog_name).name(), "api.request_completed");
    /// ```
    #[inline]
    pub fn named(name: &str) -> Self {
        Self::from_name(SmolStr::new(name), 0)
    }

    #[inline]
    pub(crate) fn from_name(name: SmolStr, properties: usize) -> Self {
        Self {
            name,
            properties: Properties::with_room(properties),
            // A counter reading, not a time of day: the conversion waits for the worker.
            stamp: Stamp::now(),
            context: None,
            details: None,
            coerce_types: false,
        }
    }

    /// The catalog name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds a property (builder style). A later value for the same name wins.
    #[inline(always)]
    pub fn with(mut self, name: impl Into<PropertyName>, value: impl Into<PropertyValue>) -> Self {
        self.insert(name, value);
        self
    }

    /// Adds a property. A later value for the same name wins.
    #[inline(always)]
    pub fn insert(&mut self, name: impl Into<PropertyName>, value: impl Into<PropertyValue>) {
        self.properties.push((name.into(), value.into()));
    }

    /// The value given for a property, if any (the last one wins).
    pub fn property(&self, name: &str) -> Option<&PropertyValue> {
        self.properties.iter().rev().find(|(key, _)| key == name).map(|(_, value)| value)
    }

    /// The properties, in insertion order.
    pub fn properties(&self) -> impl Iterator<Item = (&str, &PropertyValue)> {
        self.properties.iter().map(|(key, value)| (key.as_ref(), value))
    }

    /// Keys the event by this `distinct_id`, overriding the catalog's identity strategy.
    pub fn with_distinct_id(mut self, distinct_id: DistinctId) -> Self {
        self.details().distinct_id = Some(distinct_id);
        self
    }

    /// Records how long the operation took, for a property declared with a duration `fill`.
    pub fn with_duration(mut self, duration: Duration) -> Self {
        self.set_duration(duration);
        self
    }

    /// [`with_duration`](Self::with_duration) in place.
    pub(crate) fn set_duration(&mut self, duration: Duration) {
        self.details().duration = Some(duration);
    }

    /// Records a fact measured by the front door (see [`Fact`]).
    pub fn with_fact(mut self, fact: Fact, value: impl Into<PropertyValue>) -> Self {
        self.details().facts.push((fact, value.into()));
        self
    }

    /// Sets the request context explicitly (front doors normally take the current one).
    pub fn with_context(mut self, context: Arc<Context>) -> Self {
        self.context = Some(context);
        self
    }

    /// Appends properties, taking `properties` as they are when the event has none yet.
    #[cfg(feature = "tracing-layer")]
    pub(crate) fn extend_properties(&mut self, properties: Properties) {
        if self.properties.is_empty() {
            self.properties = properties;
        } else {
            self.properties.extend(properties);
        }
    }

    /// About the bytes of the event serialized: its name, its property names and values,
    /// its facts. What the size cap compares, and (with the event's own size) what the queue
    /// charges to its byte budget.
    #[inline]
    pub(crate) fn byte_size(&self) -> usize {
        let properties = self.properties.bytes;
        let facts: usize = self.details.as_ref().map_or(0, |details| {
            details.facts.iter().map(|(_, value)| value.byte_size()).sum::<usize>() + std::mem::size_of::<Details>()
        });
        self.name.len() + properties + facts
    }

    pub(crate) fn fact(&self, fact: Fact) -> Option<&PropertyValue> {
        let facts = &self.details.as_ref()?.facts;
        facts.iter().rev().find(|(f, _)| *f == fact).map(|(_, value)| value)
    }

    pub(crate) fn distinct_id(&self) -> Option<&DistinctId> {
        self.details.as_ref()?.distinct_id.as_ref()
    }

    pub(crate) fn duration(&self) -> Option<Duration> {
        self.details.as_ref()?.duration
    }

    /// An event tally makes itself, processed as `special` says.
    pub(crate) fn special(name: &'static str, special: Special) -> Self {
        let mut event = Event::new(name);
        event.details().special = Some(special);
        event
    }

    pub(crate) fn take_special(&mut self) -> Option<Special> {
        self.details.as_mut()?.special.take()
    }

    fn details(&mut self) -> &mut Details {
        self.details.get_or_insert_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(properties: &Properties) -> Vec<&str> {
        properties.iter().map(|(name, _)| name.as_ref()).collect()
    }

    #[test]
    fn properties_past_the_first_six_keep_their_order_and_the_last_value_wins() {
        let mut event = Event::new("e");
        for i in 0..9_u64 {
            event.insert(format!("p{i}"), i);
        }
        event.insert("p2", 99_u64);
        assert_eq!(names(&event.properties), ["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p2"]);
        assert_eq!(event.property("p2"), Some(&PropertyValue::from(99_u64)));
        let taken: Vec<_> = std::mem::take(&mut event.properties).into_iter().map(|(name, _)| name).collect();
        assert_eq!(taken.len(), 10);
        assert_eq!(taken[9], "p2");
    }

    /// The running byte count is what summing the properties gives, after any change.
    fn summed(properties: &Properties) -> usize {
        properties.iter().map(property_bytes).sum()
    }

    #[test]
    fn the_byte_count_follows_every_push() {
        let mut event = Event::new("e");
        assert_eq!(event.properties.bytes, 0);
        for i in 0..9_u64 {
            event.insert(format!("p{i}"), "x".repeat(i as usize));
            assert_eq!(event.properties.bytes, summed(&event.properties));
        }
        event.insert("nested", serde_json::json!({"k": [1, 2, "three"]}));
        assert_eq!(event.properties.bytes, summed(&event.properties));
        assert_eq!(event.byte_size(), "e".len() + summed(&event.properties));
    }

    #[cfg(feature = "tracing-layer")]
    #[test]
    fn retain_keeps_the_order_across_both_parts() {
        let mut properties = Properties::default();
        for i in 0..9_u64 {
            properties.push((format!("p{i}").into(), i.into()));
        }
        properties.retain(|(name, _)| name != "p1" && name != "p7");
        assert_eq!(names(&properties), ["p0", "p2", "p3", "p4", "p5", "p6", "p8"]);
        assert_eq!(properties.bytes, summed(&properties));
        properties.push(("p9".into(), 9_u64.into()));
        assert_eq!(names(&properties), ["p0", "p2", "p3", "p4", "p5", "p6", "p8", "p9"]);
        properties.retain(|(name, _)| name.as_ref() < "p4");
        assert_eq!(names(&properties), ["p0", "p2", "p3"]);
        assert_eq!(properties.bytes, summed(&properties));
    }
}
