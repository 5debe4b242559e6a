//! [`Catalog`]: a parsed, structurally valid tracking plan and the queries every front door
//! needs.

use std::path::Path;

use crate::diagnostic::{CatalogError, Diagnostic, Location, Severity, Source};
use crate::model::{CatalogFile, Event, Naming, PropertyType, Role, StatusClass};
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

    /// The catalog's content.
    pub fn file(&self) -> &CatalogFile {
        &self.file
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
    pub fn event(&self, name: &str) -> Option<&Event> {
        self.file.events.get(name)
    }

    /// The events, in file order.
    pub fn events(&self) -> impl Iterator<Item = (&str, &Event)> {
        self.file.events.iter().map(|(name, event)| (name.as_ref().as_str(), event))
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
        self.events().find(|(_, event)| event.role.as_ref().is_some_and(|r| *r.as_ref() == role)).map(|(name, _)| name)
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
        let declared = self
            .role_event(Role::RequestFailed)
            .and_then(|name| self.event(name))
            .and_then(|event| event.failed_statuses.as_ref());
        match declared {
            Some(classes) => classes.as_ref().contains(&class),
            None => class == StatusClass::ServerError,
        }
    }

    /// The identity kind that keys `event`: the event's own, else its category's, else the
    /// catalog's `identity.person`. `None` when the catalog declares no identity at all.
    pub fn identity_of<'a>(&'a self, event: &'a Event) -> Option<&'a str> {
        let category = event.category.as_ref().and_then(|name| self.file.categories.get(name.as_ref().as_str()));
        event
            .identity
            .as_ref()
            .or_else(|| category.and_then(|category| category.identity.as_ref()))
            .or(self.file.identity.person.as_ref())
            .map(|kind| kind.as_ref().as_str())
    }

    /// The property declared as the event's duration (`fill = "duration_ms"`/`"duration_secs"`).
    pub fn duration_property<'a>(&'a self, event: &'a Event) -> Option<(&'a str, PropertyType)> {
        event
            .properties
            .iter()
            .find(|(_, property)| property.fill.as_ref().is_some_and(|fill| fill.as_ref().is_duration()))
            .map(|(name, property)| (name.as_ref().as_str(), *property.ty.as_ref()))
    }
}
