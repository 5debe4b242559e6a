//! Structural checks that make a catalog loadable: valid versions and namespaces, and every
//! reference (identity kind, group, event, property, rule id) pointing at something real.
//! Policy belongs to the lints; what fails here would make the runtime guess.

use std::ops::Range;

use serde_spanned::Spanned;
use toml::de::DeTable;

use crate::diagnostic::{Diagnostic, Severity, Source};
use crate::lint::RULES;
use crate::model::{
    Allow, CatalogFile, EventDef, Fill, PersonProperty, Privacy, PropertyDef, PropertyType, Role, StatusClass,
};
use crate::suggest;

struct Checker<'a> {
    file: &'a CatalogFile,
    source: &'a Source,
    errors: Vec<Diagnostic>,
}

/// Every structural error, in file order.
pub(crate) fn validate(file: &CatalogFile, source: &Source) -> Vec<Diagnostic> {
    let mut checker = Checker { file, source, errors: Vec::new() };
    checker.run();
    checker.errors.sort_by_key(|d| (d.location.line, d.location.column));
    checker.errors
}

impl<'a> Checker<'a> {
    fn error(&mut self, code: &'static str, span: Range<usize>, message: String, help: Option<String>) {
        self.errors.push(self.source.diagnostic(Severity::Error, code, span, message, help));
    }

    /// Reports `name` unless it is one of `valid`, suggesting the closest.
    fn reference<'v>(&mut self, what: &str, name: &Spanned<String>, valid: impl Iterator<Item = &'v str> + Clone) {
        let found = name.as_ref();
        if valid.clone().any(|candidate| candidate == found) {
            return;
        }
        let help = suggest::hint(found, valid.clone()).or_else(|| {
            let all: Vec<&str> = valid.collect();
            Some(if all.is_empty() {
                format!("declare the {what} first")
            } else {
                format!("declared: {}", all.join(", "))
            })
        });
        self.error("unknown-reference", name.span(), format!("unknown {what} `{found}`"), help);
    }

    fn run(&mut self) {
        let file = self.file;
        let meta = &file.catalog;
        if semver::Version::parse(meta.version.as_ref()).is_err() {
            self.error(
                "invalid-version",
                meta.version.span(),
                format!("`{}` is not a semantic version", meta.version.as_ref()),
                Some("write MAJOR.MINOR.PATCH, e.g. \"1.0.0\"".into()),
            );
        }
        if let Some(namespace) = &meta.namespace {
            let body = namespace.as_ref().strip_suffix('.');
            if !body.is_some_and(crate::naming::is_snake_case) {
                self.error(
                    "invalid-namespace",
                    namespace.span(),
                    format!("namespace `{}` must be a lower snake_case word followed by a dot", namespace.as_ref()),
                    Some("e.g. namespace = \"tp.\"".into()),
                );
            }
        }
        self.identity();
        for group in file.groups.values() {
            if let Some(property) = &group.property {
                let common = file.common.keys();
                let per_event = file.events.values().flat_map(|event| event.properties.keys());
                let declared: Vec<&str> = common.chain(per_event).map(|k| k.as_ref().as_str()).collect();
                self.reference("property", property, declared.iter().copied());
            }
        }
        for class in file.retention.values() {
            for period in std::iter::once(&class.period).chain(class.archive_after.as_ref()) {
                if !is_period(period.as_ref()) {
                    self.error(
                        "invalid-period",
                        period.span(),
                        format!("`{}` is not a period", period.as_ref()),
                        Some("write a count and a unit, e.g. \"2 years\", \"6 months\", \"30 days\"".into()),
                    );
                }
            }
        }
        for (name, category) in &file.categories {
            if let Some(retention) = &category.retention {
                self.reference("retention class", retention, file.retention.keys().map(|k| k.as_ref().as_str()));
            }
            if let Some(identity) = &category.identity {
                self.reference("identity kind", identity, self.kinds());
            }
            self.allow_keys(&category.allow, name.span());
        }
        for (name, property) in &file.common {
            self.property(name, property);
        }
        for (rule, _) in &file.lints {
            if !RULES.iter().any(|r| r.id == rule) {
                let span = lint_key_span(self.source.text(), rule).unwrap_or(0..0);
                self.error(
                    "unknown-rule",
                    span,
                    format!("unknown lint rule `{rule}`"),
                    suggest::hint(rule, RULES.iter().map(|r| r.id)),
                );
            }
        }
        let mut roles = Vec::new();
        for (name, event) in &file.events {
            self.event(name, event, &mut roles);
        }
        for (name, funnel) in &file.funnels {
            if funnel.steps.len() < 2 {
                self.error(
                    "invalid-funnel",
                    name.span(),
                    format!("funnel `{}` needs at least two steps", name.as_ref()),
                    None,
                );
            }
            for step in &funnel.steps {
                self.reference("event", step, self.event_names());
            }
        }
        for (index, entry) in file.changelog.iter().enumerate() {
            if semver::Version::parse(&entry.version).is_err() {
                let span = changelog_version_span(self.source.text(), index).unwrap_or(0..0);
                self.error(
                    "invalid-version",
                    span,
                    format!("changelog version `{}` is not a semantic version", entry.version),
                    None,
                );
            }
        }
    }

    fn kinds(&self) -> impl Iterator<Item = &'a str> + Clone + use<'a> {
        self.file.identity.kinds.keys().map(|k| k.as_ref().as_str())
    }

    fn event_names(&self) -> impl Iterator<Item = &'a str> + Clone + use<'a> {
        self.file.events.keys().map(|k| k.as_ref().as_str())
    }

    fn identity(&mut self) {
        let identity = &self.file.identity;
        if let Some(person) = &identity.person {
            self.reference("identity kind", person, self.kinds());
        }
        for (name, kind) in &identity.kinds {
            if let Some(format) = &kind.format
                && format.as_ref().matches("{id}").count() != 1
            {
                self.error(
                    "invalid-format",
                    format.span(),
                    format!("identity format `{}` must contain `{{id}}` exactly once", format.as_ref()),
                    Some("e.g. format = \"tp.{id}\"".into()),
                );
            }
            for linked in &kind.link {
                self.reference("identity kind", linked, self.kinds());
            }
            self.allow_keys(&kind.allow, name.span());
        }
    }

    fn event(&mut self, name: &Spanned<String>, event: &EventDef, roles: &mut Vec<crate::model::Role>) {
        if name.as_ref().trim().is_empty() {
            self.error("empty-name", name.span(), "an event name cannot be empty".into(), None);
        }
        if let Some(identity) = &event.identity {
            self.reference("identity kind", identity, self.kinds());
        }
        if let Some(role) = &event.role {
            if roles.contains(role.as_ref()) {
                self.error(
                    "duplicate-role",
                    role.span(),
                    format!("another event already has role `{}`", role.as_ref().as_str()),
                    Some("each role names exactly one event".into()),
                );
            }
            roles.push(*role.as_ref());
        }
        if let Some(statuses) = &event.failed_statuses {
            self.failed_statuses(event, statuses);
        }
        if let Some(replacement) = event.deprecated.as_ref().and_then(|d| d.replacement.as_ref()) {
            self.reference("event", replacement, self.event_names());
        }
        for (property_name, property) in &event.properties {
            self.property(property_name, property);
        }
        for (person_name, person) in event.set.iter().chain(&event.set_once) {
            self.person_property(person_name, person, event);
        }
        self.allow_keys(&event.allow, name.span());
    }

    /// `failed_statuses` belongs to the `request_failed` event and always keeps server errors.
    fn failed_statuses(&mut self, event: &EventDef, statuses: &Spanned<Vec<StatusClass>>) {
        let role = event.role.as_ref().map(|role| *role.as_ref());
        if role != Some(Role::RequestFailed) {
            self.error(
                "misplaced-key",
                statuses.span(),
                "`failed_statuses` only applies to the event with role = \"request_failed\"".into(),
                None,
            );
        }
        if !statuses.as_ref().contains(&StatusClass::ServerError) {
            self.error(
                "invalid-statuses",
                statuses.span(),
                "`failed_statuses` must include \"5xx\": a server error is always a failed request".into(),
                Some("write failed_statuses = [\"5xx\"] or [\"4xx\", \"5xx\"]".into()),
            );
        }
        for (i, class) in statuses.as_ref().iter().enumerate() {
            if statuses.as_ref()[..i].contains(class) {
                self.error(
                    "duplicate-value",
                    statuses.span(),
                    format!("status class `{}` is listed twice", class.as_str()),
                    None,
                );
            }
        }
    }

    fn property(&mut self, name: &Spanned<String>, property: &PropertyDef) {
        let ty = *property.ty.as_ref();
        let span = property.ty.span();
        let item = if ty == PropertyType::Array {
            match property.items {
                None => {
                    self.error(
                        "missing-items",
                        span.clone(),
                        format!("array property `{}` needs `items`", name.as_ref()),
                        Some("e.g. items = \"string\"".into()),
                    );
                    None
                }
                Some(PropertyType::Array) => {
                    self.error("nested-array", span.clone(), "arrays of arrays are not supported".into(), None);
                    None
                }
                Some(item) => Some(item),
            }
        } else {
            if property.items.is_some() {
                self.error(
                    "misplaced-key",
                    span.clone(),
                    format!("`items` only applies to arrays, and `{}` is {}", name.as_ref(), ty.as_str()),
                    None,
                );
            }
            None
        };
        let is_enum = ty == PropertyType::Enum || item == Some(PropertyType::Enum);
        if property.values.is_some() && !is_enum {
            self.error(
                "misplaced-key",
                span.clone(),
                format!("`values` only applies to enums, and `{}` is {}", name.as_ref(), ty.as_str()),
                Some("write type = \"enum\"".into()),
            );
        }
        if let Some(values) = &property.values {
            for (i, value) in values.iter().enumerate() {
                if values[..i].contains(value) {
                    self.error("duplicate-value", span.clone(), format!("enum value `{value}` is listed twice"), None);
                }
            }
        }
        let sized = matches!(ty, PropertyType::String | PropertyType::Array | PropertyType::Enum);
        if (property.max_length.is_some() || property.non_empty) && !sized {
            self.error(
                "misplaced-key",
                span.clone(),
                format!(
                    "`max_length` and `non_empty` apply to strings and arrays, and `{}` is {}",
                    name.as_ref(),
                    ty.as_str()
                ),
                None,
            );
        }
        if property.privacy == Privacy::Allowed && property.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
            self.error(
                "missing-reason",
                name.span(),
                format!("`{}` is personal data allowed to leave, which needs a written `reason`", name.as_ref()),
                Some("add reason = \"why this is necessary\"".into()),
            );
        }
        if let Some(fill) = &property.fill {
            self.fill(name, fill, ty);
            if *fill.as_ref() == Fill::Username && property.privacy == Privacy::None {
                self.error(
                    "personal-fill",
                    fill.span(),
                    format!(
                        "`{}` is filled with the attempted user name, personal data, but has no privacy class",
                        name.as_ref()
                    ),
                    Some("add privacy = \"pseudonymize\" (keyed hash), \"drop\", or \"allowed\" with a reason".into()),
                );
            }
        }
        self.allow_keys(&property.allow, name.span());
    }

    fn fill(&mut self, name: &Spanned<String>, fill: &Spanned<Fill>, ty: PropertyType) {
        use PropertyType as T;
        match fill.as_ref() {
            Fill::Identity(kind) => {
                let kind = Spanned::new(fill.span(), kind.clone());
                self.reference("identity kind", &kind, self.kinds());
            }
            Fill::Group(group) => {
                let group = Spanned::new(fill.span(), group.clone());
                self.reference("group", &group, self.file.groups.keys().map(|k| k.as_ref().as_str()));
            }
            _ => {}
        }
        let fits = match fill.as_ref() {
            Fill::DurationMs
            | Fill::DurationSecs
            | Fill::RequestSize
            | Fill::ResponseSize
            | Fill::SessionDurationSecs => matches!(ty, T::Integer | T::Number),
            Fill::SessionDurationMins => ty == T::Number,
            Fill::Success => ty == T::Boolean,
            Fill::LastActivity => matches!(ty, T::Datetime | T::String),
            Fill::Status => matches!(ty, T::Integer | T::Number | T::String),
            Fill::Timestamp => matches!(ty, T::Datetime | T::String),
            Fill::EventId => matches!(ty, T::Uuid | T::String),
            Fill::Context => true,
            _ => matches!(ty, T::String | T::Enum),
        };
        if !fits {
            self.error(
                "fill-type-mismatch",
                fill.span(),
                format!(
                    "`{}` is {} but `fill = \"{}\"` does not produce one",
                    name.as_ref(),
                    ty.as_str(),
                    fill.as_ref()
                ),
                None,
            );
        }
    }

    fn person_property(&mut self, name: &Spanned<String>, person: &PersonProperty, event: &EventDef) {
        let properties = || event.properties.keys().map(|k| k.as_ref().as_str());
        let from = person.from.as_ref();
        if let Some(property) = from.strip_prefix("property.") {
            let property = Spanned::new(person.from.span(), property.to_owned());
            self.reference("event property", &property, properties());
        } else if from != "timestamp" {
            self.error(
                "invalid-person-source",
                person.from.span(),
                format!("person property `{}` has an unknown source `{from}`", name.as_ref()),
                Some("write from = \"timestamp\" or from = \"property.<name>\"".into()),
            );
        }
        if let Some(when) = &person.when {
            self.reference("event property", when, properties());
        }
    }

    fn allow_keys(&mut self, allow: &Allow, item: Range<usize>) {
        for (rule, reason) in allow {
            if !RULES.iter().any(|r| r.id == rule) {
                self.error(
                    "unknown-rule",
                    item.clone(),
                    format!("`allow` names an unknown lint rule `{rule}`"),
                    suggest::hint(rule, RULES.iter().map(|r| r.id)),
                );
            } else if reason.trim().is_empty() {
                self.error(
                    "missing-reason",
                    item.clone(),
                    format!("the suppression of `{rule}` needs a reason"),
                    Some(format!("write {rule} = \"why it does not apply here\"")),
                );
            }
        }
    }
}

/// The span of the key `rule` in the `[lints]` table: the model keeps no span for it, and the
/// same text may appear earlier (in a description, say).
fn lint_key_span(text: &str, rule: &str) -> Option<Range<usize>> {
    let root = DeTable::parse(text).ok()?;
    let lints = root.get_ref().get("lints")?.get_ref().as_table()?;
    lints.keys().find(|key| key.get_ref() == rule).map(Spanned::span)
}

/// The span of the `version` value of the `index`th `[[changelog]]` entry (the model keeps
/// none, and the same version text usually appears in `[catalog]` first).
fn changelog_version_span(text: &str, index: usize) -> Option<Range<usize>> {
    let root = DeTable::parse(text).ok()?;
    let entry = root.get_ref().get("changelog")?.get_ref().get(index)?;
    entry.get_ref().get("version").map(Spanned::span)
}

/// `"2 years"`, `"6 months"`, `"1 day"`.
fn is_period(text: &str) -> bool {
    let Some((count, unit)) = text.split_once(' ') else { return false };
    let unit = unit.strip_suffix('s').unwrap_or(unit);
    count.parse::<u32>().is_ok_and(|n| n > 0) && matches!(unit, "day" | "week" | "month" | "year")
}
