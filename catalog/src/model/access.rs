//! Read access to the catalog model: the stable, public face of the parse tree.
//!
//! The parse tree keeps spans (`Spanned`) and insertion-ordered maps (`IndexMap`) for
//! diagnostics; both stay inside tally-catalog. Users read the model through these
//! accessors, which return plain `&str`, `bool`, `Copy` enums and iterators in file order, so
//! that a new catalog key is a new method, not a semver break. Every accessor is a field read
//! or a map walk: the runtime reads them once, when it compiles its plan.

use crate::model::{
    Category, ChangelogEntry, Deprecation, EventDef, Fill, Funnel, Group, IdentityKindDef, IdentitySource, Name,
    Origin, PersonProperty, Privacy, PropertyDef, PropertyType, RetentionClass, Role, StatusClass,
};

/// `(name, item)` pairs of a map keyed by catalog names, in file order.
pub(crate) fn named<T>(map: &indexmap::IndexMap<Name, T>) -> impl ExactSizeIterator<Item = (&str, &T)> + Clone {
    map.iter().map(|(name, item)| (name.get_ref().as_str(), item))
}

fn text(value: &Option<serde_spanned::Spanned<String>>) -> Option<&str> {
    value.as_ref().map(|value| value.get_ref().as_str())
}

impl EventDef {
    /// What happened, in one sentence.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// When exactly it fires.
    pub fn trigger(&self) -> Option<&str> {
        self.trigger.as_deref()
    }

    /// The category it belongs to (see [`crate::Catalog::category`]).
    pub fn category(&self) -> Option<&str> {
        text(&self.category)
    }

    /// Who owns it.
    pub fn owner(&self) -> Option<&str> {
        self.owner.as_deref()
    }

    /// The catalog version that introduced it.
    pub fn since(&self) -> Option<&str> {
        self.since.as_deref()
    }

    /// Its deprecation, when it should no longer be emitted.
    pub fn deprecated(&self) -> Option<&Deprecation> {
        self.deprecated.as_ref()
    }

    /// Where it originates.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// The identity kind the event itself names; [`crate::Catalog::identity_of`] resolves the
    /// one that keys it (event, else category, else `identity.person`).
    pub fn identity(&self) -> Option<&str> {
        text(&self.identity)
    }

    /// The role it plays for the middleware.
    pub fn role(&self) -> Option<Role> {
        self.role.as_ref().map(|role| *role.get_ref())
    }

    /// For the `request_failed` event: the status classes that make a request failed, as
    /// declared (`failed_statuses`); [`crate::Catalog::fails_on`] applies the default.
    pub fn failed_statuses(&self) -> Option<&[StatusClass]> {
        self.failed_statuses.as_ref().map(|statuses| statuses.get_ref().as_slice())
    }

    /// Its own properties, in file order (the common ones are [`crate::Catalog::common_properties`]).
    pub fn properties(&self) -> impl ExactSizeIterator<Item = (&str, &PropertyDef)> + Clone {
        named(&self.properties)
    }

    /// One of its own properties by name.
    pub fn property(&self, name: &str) -> Option<&PropertyDef> {
        self.properties.get(name)
    }

    /// Person properties it sets (`$set`), in file order.
    pub fn set(&self) -> impl ExactSizeIterator<Item = (&str, &PersonProperty)> + Clone {
        named(&self.set)
    }

    /// Person properties it sets only once (`$set_once`), in file order.
    pub fn set_once(&self) -> impl ExactSizeIterator<Item = (&str, &PersonProperty)> + Clone {
        named(&self.set_once)
    }

    /// The reason given for suppressing lint `rule` on this event, if it is suppressed here.
    pub fn allowed(&self, rule: &str) -> Option<&str> {
        self.allow.get(rule).map(String::as_str)
    }
}

impl Deprecation {
    /// The catalog version that deprecated the event.
    pub fn since(&self) -> Option<&str> {
        self.since.as_deref()
    }

    /// The event to emit instead.
    pub fn replacement(&self) -> Option<&str> {
        text(&self.replacement)
    }

    /// Why it is deprecated.
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }
}

impl PropertyDef {
    /// The value type.
    pub fn ty(&self) -> PropertyType {
        *self.ty.get_ref()
    }

    /// The allowed values of an enum (or of an array's enum items).
    pub fn values(&self) -> Option<&[String]> {
        self.values.as_deref()
    }

    /// The item type of an array.
    pub fn items(&self) -> Option<PropertyType> {
        self.items
    }

    /// Whether `null` is allowed.
    pub fn nullable(&self) -> bool {
        self.nullable
    }

    /// Whether every event must carry it.
    pub fn required(&self) -> bool {
        self.required
    }

    /// Whether an empty string (or array) is a violation.
    pub fn non_empty(&self) -> bool {
        self.non_empty
    }

    /// The longest allowed string in characters (or array in items).
    pub fn max_length(&self) -> Option<u32> {
        self.max_length
    }

    /// What it means.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// How its value is treated before it leaves the process.
    pub fn privacy(&self) -> Privacy {
        self.privacy
    }

    /// Why personal data may leave (with [`Privacy::Allowed`]).
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// The value the pipeline fills in when the emitter gives none.
    pub fn fill(&self) -> Option<&Fill> {
        self.fill.as_ref().map(|fill| fill.get_ref())
    }

    /// The reason given for suppressing lint `rule` on this property, if it is suppressed here.
    pub fn allowed(&self, rule: &str) -> Option<&str> {
        self.allow.get(rule).map(String::as_str)
    }
}

impl PersonProperty {
    /// Where the value comes from: `timestamp`, or `property.<name>`.
    pub fn from(&self) -> &str {
        self.from.get_ref()
    }

    /// The event property (by name) whose presence is required to set it.
    pub fn when(&self) -> Option<&str> {
        text(&self.when)
    }

    /// What it means.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
}

impl IdentityKindDef {
    /// What this identity is and where it comes from.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// Where its value is set.
    pub fn source(&self) -> IdentitySource {
        self.source
    }

    /// The wire format of its `distinct_id` (`{id}` stands for the value).
    pub fn format(&self) -> Option<&str> {
        text(&self.format)
    }

    /// Whether the value is replaced by its keyed hash before it leaves the process.
    pub fn pseudonymize(&self) -> bool {
        self.pseudonymize
    }

    /// Whether the value is personal data.
    pub fn personal(&self) -> bool {
        self.personal
    }

    /// The kinds whose `distinct_id`s are set on the person to cross-link it, in file order.
    pub fn links(&self) -> impl ExactSizeIterator<Item = &str> + Clone {
        self.link.iter().map(|kind| kind.get_ref().as_str())
    }

    /// The reason given for suppressing lint `rule` on this kind, if it is suppressed here.
    pub fn allowed(&self, rule: &str) -> Option<&str> {
        self.allow.get(rule).map(String::as_str)
    }
}

impl Group {
    /// What the group is.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The event property that also carries the group key.
    pub fn property(&self) -> Option<&str> {
        text(&self.property)
    }
}

impl RetentionClass {
    /// How long events are kept, e.g. `2 years`.
    pub fn period(&self) -> &str {
        self.period.get_ref()
    }

    /// When events move to cold storage.
    pub fn archive_after(&self) -> Option<&str> {
        text(&self.archive_after)
    }

    /// Why this retention applies.
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }
}

impl Category {
    /// What the category covers.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The retention class of its events.
    pub fn retention(&self) -> Option<&str> {
        text(&self.retention)
    }

    /// The identity kind that keys its events.
    pub fn identity(&self) -> Option<&str> {
        text(&self.identity)
    }

    /// The reason given for suppressing lint `rule` in this category, if it is suppressed here.
    pub fn allowed(&self, rule: &str) -> Option<&str> {
        self.allow.get(rule).map(String::as_str)
    }
}

impl Funnel {
    /// What the funnel measures.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The events, in order.
    pub fn steps(&self) -> impl ExactSizeIterator<Item = &str> + Clone {
        self.steps.iter().map(|step| step.get_ref().as_str())
    }
}

impl ChangelogEntry {
    /// The catalog version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The date, `YYYY-MM-DD`.
    pub fn date(&self) -> Option<&str> {
        self.date.as_deref()
    }

    /// What changed.
    pub fn changes(&self) -> &[String] {
        &self.changes
    }
}
