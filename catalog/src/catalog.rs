//! [`Catalog`]: a parsed, structurally valid tracking plan and the queries every front door
//! needs.

use std::path::Path;

use crate::diagnostic::{CatalogError, Diagnostic, Location, Severity, Source};
use crate::model::access::named;
use crate::model::{
    CatalogFile, Category, ChangelogEntry, EventDef, Funnel, Group, IdentityKindDef, Naming, OnMissing, PropertyDef,
    PropertyType, RetentionClass, Role, StatusClass,
};
use crate::{lint, parse, validate};

/// A loaded catalog: the file's content plus its source, for diagnostics.
///
/// Loading checks the TOML, every key and every reference (an identity kind, a group, a
/// replacement event…). Policy checks (naming, personal data, descriptions) are lints:
/// see [`Catalog::lint`].
#[derive(Debug, Clone)]
pub struct Catalog {
    file: CatalogFile,
    source: Source,
}

impl Catalog {
    /// Reads and parses a catalog file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, CatalogError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|error| {
            CatalogError::single(Diagnostic {
                severity: Severity::Error,
                code: "unreadable",
                message: format!("cannot read the catalog: {error}"),
                help: Some(
                    "check the path; a crate's catalog defaults to `catalog.toml` next to its Cargo.toml".into(),
                ),
                location: Location { file: path.to_path_buf(), line: 1, column: 1 },
            })
        })?;
        Self::from_bytes(path, bytes)
    }

    /// Parses a catalog from the bytes of a file; text that is not UTF-8 is an error at the
    /// first invalid byte, with its byte offset.
    pub fn from_bytes(path: impl AsRef<Path>, bytes: Vec<u8>) -> Result<Self, CatalogError> {
        let text = Source::decode(path.as_ref(), bytes).map_err(CatalogError::single)?;
        Self::parse(path, text)
    }

    /// Parses a catalog from text; `path` names the file in diagnostics.
    ///
    /// Every error found is reported, not only the first: unknown keys and values, wrong
    /// types and every invalid reference, in file order.
    pub fn parse(path: impl AsRef<Path>, text: impl Into<String>) -> Result<Self, CatalogError> {
        let source = Source::new(path, text);
        let parsed = parse::parse(&source);
        let mut errors = parsed.errors;
        if let Some(file) = &parsed.file {
            // A repaired key or value may trip a check at the same place: report it once.
            let structural = validate::validate(file, &source);
            let reported: Vec<Location> = errors.iter().map(|d| d.location.clone()).collect();
            errors.extend(structural.into_iter().filter(|d| !reported.contains(&d.location)));
        }
        errors.sort_by_key(|d| (d.location.line, d.location.column));
        match parsed.file {
            Some(file) if errors.is_empty() => Ok(Self { file, source }),
            _ => Err(CatalogError { diagnostics: errors }),
        }
    }

    /// The lint findings, errors first, each at `file:line:col` (suppressions applied).
    pub fn lint(&self) -> Vec<Diagnostic> {
        lint::run(&self.file, &self.source)
    }

    /// The catalog's source text and path.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The catalog's name.
    pub fn name(&self) -> &str {
        self.file.catalog.name.as_ref()
    }

    /// The catalog's version.
    pub fn version(&self) -> &str {
        self.file.catalog.version.as_ref()
    }

    /// The wire namespace prefix (`tp.`), or `""`.
    pub fn namespace(&self) -> &str {
        self.file.catalog.namespace.as_ref().map_or("", |ns| ns.as_ref())
    }

    /// The naming convention of event names.
    pub fn naming(&self) -> Naming {
        self.file.catalog.naming
    }

    /// An event by its catalog name (without the namespace).
    pub fn event(&self, name: &str) -> Option<&EventDef> {
        self.file.events.get(name)
    }

    /// The events, in file order.
    pub fn events(&self) -> impl ExactSizeIterator<Item = (&str, &EventDef)> + Clone {
        named(&self.file.events)
    }

    /// The catalog event closest to a misspelled name.
    pub fn closest_event(&self, name: &str) -> Option<&str> {
        crate::closest(name, self.events().map(|(name, _)| name))
    }

    /// The event name as sent: namespace + name.
    pub fn wire_name(&self, name: &str) -> String {
        // Called for every event the worker processes: one allocation, no formatting machinery.
        [self.namespace(), name].concat()
    }

    /// The event that plays `role` for the middleware, if the catalog declares one.
    pub fn role_event(&self, role: Role) -> Option<&str> {
        self.events().find(|(_, event)| event.role() == Some(role)).map(|(name, _)| name)
    }

    /// Whether an HTTP response with this status class is a failed request: the
    /// `request_failed` event's `failed_statuses`, else server errors only.
    ///
    /// ```
    /// use tally_catalog::{Catalog, model::StatusClass};
    /// let catalog = Catalog::parse("catalog.toml", r#"
    ///     [catalog]
    ///     name = "api"
    ///     version = "1.0.0"
    ///     [events."api.request_failed"]
    ///     role = "request_failed"
    ///     failed_statuses = ["4xx", "5xx"]
    /// "#).unwrap();
    /// assert!(catalog.fails_on(StatusClass::ClientError));
    /// ```
    pub fn fails_on(&self, class: StatusClass) -> bool {
        let declared =
            self.role_event(Role::RequestFailed).and_then(|name| self.event(name)).and_then(EventDef::failed_statuses);
        match declared {
            Some(classes) => classes.contains(&class),
            None => class == StatusClass::ServerError,
        }
    }

    /// The identity kind that keys `event`: the event's own, else its category's, else the
    /// catalog's `identity.person`. `None` when the catalog declares no identity at all.
    pub fn identity_of<'a>(&'a self, event: &'a EventDef) -> Option<&'a str> {
        let category = event.category().and_then(|name| self.category(name));
        event.identity().or_else(|| category.and_then(Category::identity)).or_else(|| self.person())
    }

    /// The property declared as the event's duration (`fill = "duration_ms"`/`"duration_secs"`).
    pub fn duration_property<'a>(&'a self, event: &'a EventDef) -> Option<(&'a str, PropertyType)> {
        event
            .properties()
            .find(|(_, property)| property.fill().is_some_and(|fill| fill.is_duration()))
            .map(|(name, property)| (name, property.ty()))
    }

    /// Every property an event carries: the common ones it does not redeclare, then its own,
    /// in file order (the order the runtime sends them in).
    pub fn properties_of<'a>(
        &'a self,
        event: &'a EventDef,
    ) -> impl Iterator<Item = (&'a str, &'a PropertyDef)> + Clone {
        self.common_properties().filter(|(name, _)| event.property(name).is_none()).chain(event.properties())
    }

    /// A property of an event by name: its own, else a common one.
    pub fn property_of<'a>(&'a self, event: &'a EventDef, name: &str) -> Option<&'a PropertyDef> {
        event.property(name).or_else(|| self.common_property(name))
    }

    /// Where an event's name is written in the catalog file (`file:line:col`).
    pub fn event_location(&self, name: &str) -> Option<Location> {
        let (key, _) = self.file.events.get_key_value(name)?;
        Some(self.source.location(key.span().start))
    }

    /// What the plan covers (`catalog.description`).
    pub fn description(&self) -> Option<&str> {
        self.file.catalog.description.as_deref()
    }

    /// Who owns the plan (`catalog.owner`).
    pub fn owner(&self) -> Option<&str> {
        self.file.catalog.owner.as_deref()
    }

    /// The identity kind that keys events by default (`identity.person`).
    pub fn person(&self) -> Option<&str> {
        self.file.identity.person.as_ref().map(|kind| kind.get_ref().as_str())
    }

    /// What happens to an event whose identity is unknown (`identity.on_missing`).
    pub fn on_missing(&self) -> OnMissing {
        self.file.identity.on_missing
    }

    /// The declared identity kinds, in file order.
    pub fn identity_kinds(&self) -> impl ExactSizeIterator<Item = (&str, &IdentityKindDef)> + Clone {
        named(&self.file.identity.kinds)
    }

    /// An identity kind by name.
    pub fn identity_kind(&self, name: &str) -> Option<&IdentityKindDef> {
        self.file.identity.kinds.get(name)
    }

    /// The PostHog group types, in file order.
    pub fn groups(&self) -> impl ExactSizeIterator<Item = (&str, &Group)> + Clone {
        named(&self.file.groups)
    }

    /// A group type by name.
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.file.groups.get(name)
    }

    /// The retention classes, in file order.
    pub fn retention_classes(&self) -> impl ExactSizeIterator<Item = (&str, &RetentionClass)> + Clone {
        named(&self.file.retention)
    }

    /// A retention class by name.
    pub fn retention_class(&self, name: &str) -> Option<&RetentionClass> {
        self.file.retention.get(name)
    }

    /// The categories, in file order.
    pub fn categories(&self) -> impl ExactSizeIterator<Item = (&str, &Category)> + Clone {
        named(&self.file.categories)
    }

    /// A category by name.
    pub fn category(&self, name: &str) -> Option<&Category> {
        self.file.categories.get(name)
    }

    /// The properties every event carries (`[common]`), in file order.
    pub fn common_properties(&self) -> impl ExactSizeIterator<Item = (&str, &PropertyDef)> + Clone {
        named(&self.file.common)
    }

    /// A common property by name.
    pub fn common_property(&self, name: &str) -> Option<&PropertyDef> {
        self.file.common.get(name)
    }

    /// Whether free-text values are scrubbed of personal data no classification caught
    /// (`privacy.scrub_free_text`, on by default).
    pub fn scrub_free_text(&self) -> bool {
        self.file.privacy.scrub_free_text
    }

    /// The team's privacy rules in words (`privacy.rules`).
    pub fn privacy_rules(&self) -> &[String] {
        &self.file.privacy.rules
    }

    /// The funnels, in file order.
    pub fn funnels(&self) -> impl ExactSizeIterator<Item = (&str, &Funnel)> + Clone {
        named(&self.file.funnels)
    }

    /// The plan's history, newest first.
    pub fn changelog(&self) -> &[ChangelogEntry] {
        &self.file.changelog
    }
}
