//! Lint rules: policy checks with stable ids, a default severity, per-item suppression
//! (`allow = { rule-id = "reason" }` on an event, a category, a property or an identity kind)
//! and catalog-wide overrides (`[lints] rule-id = "warn"`).

use std::ops::Range;

use crate::diagnostic::{Diagnostic, Severity, Source};
use crate::model::{Allow, CatalogFile, EventDef, LintLevel, Naming, Privacy, PropertyDef};
use crate::naming;
use crate::personal::{self, PersonalKind};

/// A lint rule.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub(crate) id: &'static str,
    pub(crate) severity: Severity,
    pub(crate) summary: &'static str,
}

impl Rule {
    /// The stable id, used in output and in `allow`.
    pub fn id(&self) -> &'static str {
        self.id
    }

    /// The severity unless the catalog's `[lints]` overrides it.
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// What it checks, one sentence (rendered in docs/catalog.md and `tally check --explain`).
    pub fn summary(&self) -> &'static str {
        self.summary
    }
}

/// Every rule, by id.
pub const RULES: &[Rule] = &[
    Rule {
        id: "naming-convention",
        severity: Severity::Error,
        summary: "Event names follow `catalog.naming`; property, person property, group and identity kind names are lower snake_case.",
    },
    Rule {
        id: "name-collision",
        severity: Severity::Error,
        summary: "Two events whose names are the same once case and separators are ignored (`identity registered` vs `identity_registered`).",
    },
    Rule {
        id: "similar-names",
        severity: Severity::Warning,
        summary: "Two events whose names differ by a single character, a likely typo.",
    },
    Rule {
        id: "personal-data-unclassified",
        severity: Severity::Error,
        summary: "A property named like personal data (email, IP, password, token, phone, a person's name, free text) whose privacy class is `none`. Words count, not substrings; a name ending in an identifier or a measure (`note_id`, `note_count`) or a property described as an identifier is not flagged.",
    },
    Rule {
        id: "personal-distinct-id",
        severity: Severity::Error,
        summary: "Personal data (an email, a name) used as `distinct_id` without `pseudonymize = true`.",
    },
    Rule { id: "missing-description", severity: Severity::Warning, summary: "An event without a `description`." },
    Rule {
        id: "missing-trigger",
        severity: Severity::Warning,
        summary: "An event without a `trigger` saying when it fires.",
    },
    Rule {
        id: "unknown-category",
        severity: Severity::Error,
        summary: "An event whose `category` is not declared under `[categories]`.",
    },
    Rule {
        id: "deprecated-without-replacement",
        severity: Severity::Warning,
        summary: "A deprecated event that names no `replacement`.",
    },
    Rule {
        id: "enum-without-values",
        severity: Severity::Error,
        summary: "An enum property (or array of enums) with no `values`.",
    },
    Rule {
        id: "required-nullable",
        severity: Severity::Error,
        summary: "A required property that is also nullable: make it optional, or not nullable.",
    },
];

/// One finding before severity and suppressions are applied.
struct Finding<'a> {
    rule: &'static str,
    span: Range<usize>,
    message: String,
    help: Option<String>,
    /// The `allow` tables in scope, innermost first.
    allows: Vec<&'a Allow>,
}

/// Runs every rule; errors first, then by position.
pub(crate) fn run(file: &CatalogFile, source: &Source) -> Vec<Diagnostic> {
    let mut findings = Vec::new();
    naming_rules(file, &mut findings);
    personal_rules(file, &mut findings);
    event_rules(file, &mut findings);

    let mut diagnostics: Vec<Diagnostic> = findings
        .into_iter()
        .filter(|finding| !finding.allows.iter().any(|allow| allow.contains_key(finding.rule)))
        .filter_map(|finding| {
            let rule = RULES.iter().find(|rule| rule.id == finding.rule)?;
            let severity = match file.lints.get(rule.id) {
                Some(LintLevel::Allow) => return None,
                Some(LintLevel::Warn) => Severity::Warning,
                Some(LintLevel::Error) => Severity::Error,
                None => rule.severity,
            };
            Some(source.diagnostic(severity, rule.id, finding.span, finding.message, finding.help))
        })
        .collect();
    diagnostics.sort_by(|a, b| {
        (b.severity, a.location.line, a.location.column).cmp(&(a.severity, b.location.line, b.location.column))
    });
    diagnostics
}

/// The `allow` tables that apply to an event: its own, then its category's.
fn event_allows<'a>(file: &'a CatalogFile, event: &'a EventDef) -> Vec<&'a Allow> {
    let category = event.category.as_ref().and_then(|c| file.categories.get(c.as_ref().as_str()));
    std::iter::once(&event.allow).chain(category.map(|c| &c.allow)).collect()
}

/// Every property with the allows in scope: the common ones, then each event's.
fn properties(file: &CatalogFile) -> Vec<(&crate::model::Name, &PropertyDef, Vec<&Allow>)> {
    let common = file.common.iter().map(|(name, p)| (name, p, vec![&p.allow]));
    let per_event = file.events.values().flat_map(|event| {
        event.properties.iter().map(move |(name, p)| {
            let mut allows = vec![&p.allow];
            allows.extend(event_allows(file, event));
            (name, p, allows)
        })
    });
    common.chain(per_event).collect()
}

fn naming_rules<'a>(file: &'a CatalogFile, findings: &mut Vec<Finding<'a>>) {
    let convention = file.catalog.naming;
    let convention_name = match convention {
        Naming::ResourceAction => "resource.action (dot-separated lower snake_case segments)",
        Naming::SnakeCase => "snake_case",
    };
    let events: Vec<_> = file.events.iter().collect();
    for (name, event) in &events {
        if !naming::follows(convention, name.as_ref()) {
            findings.push(Finding {
                rule: "naming-convention",
                span: name.span(),
                message: format!("event `{}` does not follow the {convention_name} convention", name.as_ref()),
                help: Some(format!("rename it `{}`", naming::conforming(convention, name.as_ref()))),
                allows: event_allows(file, event),
            });
        }
    }
    for (name, _, allows) in properties(file) {
        if !naming::is_snake_case(name.as_ref()) {
            findings.push(Finding {
                rule: "naming-convention",
                span: name.span(),
                message: format!("property `{}` is not lower snake_case", name.as_ref()),
                help: Some(format!("rename it `{}`", naming::normalize(name.as_ref()))),
                allows,
            });
        }
    }
    // Person properties, groups and identity kinds are names on the wire too.
    let person_properties = file.events.values().flat_map(|event| {
        event
            .set
            .keys()
            .chain(event.set_once.keys())
            .map(move |name| ("person property", name, event_allows(file, event)))
    });
    let groups = file.groups.keys().map(|name| ("group", name, Vec::new()));
    let kinds = file.identity.kinds.iter().map(|(name, kind)| ("identity kind", name, vec![&kind.allow]));
    for (what, name, allows) in person_properties.chain(groups).chain(kinds) {
        if !naming::is_snake_case(name.as_ref()) {
            findings.push(Finding {
                rule: "naming-convention",
                span: name.span(),
                message: format!("{what} `{}` is not lower snake_case", name.as_ref()),
                help: Some(format!("rename it `{}`", naming::normalize(name.as_ref()))),
                allows,
            });
        }
    }
    // Normalized once each; equal forms are found by sorting, one-edit neighbours through a
    // deletion index (see `naming::one_edit_pairs`): O(n log n) in the number of events.
    let normalized: Vec<String> = events.iter().map(|(name, _)| naming::normalize(name.as_ref())).collect();
    let mut pairs: Vec<(usize, usize, &'static str)> = Vec::new();
    let mut by_form: Vec<usize> = (0..events.len()).collect();
    by_form.sort_by(|&x, &y| normalized[x].cmp(&normalized[y]).then(x.cmp(&y)));
    for group in by_form.chunk_by(|&x, &y| normalized[x] == normalized[y]) {
        for (k, &later) in group.iter().enumerate() {
            pairs.extend(group[..k].iter().map(|&earlier| (later, earlier, "name-collision")));
        }
    }
    for (x, y) in naming::one_edit_pairs(&normalized) {
        let (later, earlier) = if x > y { (x, y) } else { (y, x) };
        if normalized[later].len() > 5 {
            pairs.push((later, earlier, "similar-names"));
        }
    }
    pairs.sort_unstable();
    for (later, earlier, rule) in pairs {
        let ((a, event_a), (b, event_b)) = (events[later], events[earlier]);
        let mut allows = event_allows(file, event_a);
        allows.extend(event_allows(file, event_b));
        let finding = if rule == "name-collision" {
            Finding {
                rule,
                span: a.span(),
                message: format!(
                    "event `{}` collides with `{}`: both read as `{}`",
                    a.as_ref(),
                    b.as_ref(),
                    normalized[later]
                ),
                help: Some("keep one name and deprecate the other with a `replacement`".into()),
                allows,
            }
        } else {
            Finding {
                rule,
                span: a.span(),
                message: format!("event `{}` differs from `{}` by one character", a.as_ref(), b.as_ref()),
                help: Some("if they are different events, give them clearly different names".into()),
                allows,
            }
        };
        findings.push(finding);
    }
}

fn personal_rules<'a>(file: &'a CatalogFile, findings: &mut Vec<Finding<'a>>) {
    for (name, property, allows) in properties(file) {
        if property.privacy != Privacy::None {
            continue;
        }
        let ty = *property.ty.as_ref();
        if let Some(kind) = personal::classify_property(name.as_ref(), ty, property.description.as_deref()) {
            // Never advise dropping what may be an identifier: pseudonymizing keeps it joinable.
            let help = match kind {
                PersonalKind::IpAddress => "set privacy = \"anonymize_ip\" (or \"drop\")",
                PersonalKind::Email | PersonalKind::PersonName | PersonalKind::Phone => {
                    "set privacy = \"pseudonymize\" (keyed hash) or \"drop\"; or \"allowed\" with a reason"
                }
                PersonalKind::Secret | PersonalKind::Token => "set privacy = \"drop\"",
                PersonalKind::FreeText => {
                    "set privacy = \"drop\" if it is text a person wrote; if it identifies something, say so in \
                     its description (\"The note's id.\") or set privacy = \"pseudonymize\", or suppress with \
                     allow = { personal-data-unclassified = \"why\" }"
                }
            };
            findings.push(Finding {
                rule: "personal-data-unclassified",
                span: name.span(),
                message: format!("property `{}` looks like {kind} but its privacy class is `none`", name.as_ref()),
                help: Some(help.into()),
                allows,
            });
        }
    }
    // Every identity kind that can key an event.
    let mut keying: Vec<&str> = file.identity.person.iter().map(|p| p.as_ref().as_str()).collect();
    keying.extend(file.categories.values().filter_map(|c| c.identity.as_ref()).map(|k| k.as_ref().as_str()));
    keying.extend(file.events.values().filter_map(|e| e.identity.as_ref()).map(|k| k.as_ref().as_str()));
    for (name, kind) in &file.identity.kinds {
        let personal = kind.personal || personal::classify(name.as_ref()).is_some_and(|k| k != PersonalKind::FreeText);
        if personal && !kind.pseudonymize && keying.contains(&name.as_ref().as_str()) {
            findings.push(Finding {
                rule: "personal-distinct-id",
                span: name.span(),
                message: format!("identity `{}` is personal data and keys events as their distinct_id", name.as_ref()),
                help: Some(
                    "key events by a stable internal id (e.g. a principal id), or set pseudonymize = true".into(),
                ),
                allows: vec![&kind.allow],
            });
        }
    }
}

fn event_rules<'a>(file: &'a CatalogFile, findings: &mut Vec<Finding<'a>>) {
    for (name, event) in &file.events {
        let allows = event_allows(file, event);
        let mut push = |rule, span: Range<usize>, message: String, help: Option<String>| {
            findings.push(Finding { rule, span, message, help, allows: allows.clone() });
        };
        if event.description.as_deref().is_none_or(|d| d.trim().is_empty()) {
            push("missing-description", name.span(), format!("event `{}` has no description", name.as_ref()), None);
        }
        if event.trigger.as_deref().is_none_or(|t| t.trim().is_empty()) {
            push(
                "missing-trigger",
                name.span(),
                format!("event `{}` has no trigger", name.as_ref()),
                Some("say when exactly it fires, e.g. trigger = \"After the order is committed.\"".into()),
            );
        }
        if let Some(category) = &event.category
            && !file.categories.contains_key(category.as_ref().as_str())
        {
            let declared = file.categories.keys().map(|k| k.as_ref().as_str());
            push(
                "unknown-category",
                category.span(),
                format!("event `{}` is in the undeclared category `{}`", name.as_ref(), category.as_ref()),
                crate::suggest::hint(category.as_ref(), declared).or(Some("declare it under [categories]".into())),
            );
        }
        if let Some(deprecation) = &event.deprecated
            && deprecation.replacement.is_none()
        {
            push(
                "deprecated-without-replacement",
                name.span(),
                format!("deprecated event `{}` names no replacement", name.as_ref()),
                Some("add deprecated.replacement = \"<event>\"".into()),
            );
        }
    }
    for (name, property, allows) in properties(file) {
        let is_enum = *property.ty.as_ref() == crate::model::PropertyType::Enum
            || property.items == Some(crate::model::PropertyType::Enum);
        let mut push = |rule, message: String, help: &str| {
            findings.push(Finding {
                rule,
                span: name.span(),
                message,
                help: Some(help.into()),
                allows: allows.clone(),
            });
        };
        if is_enum && property.values.as_ref().is_none_or(Vec::is_empty) {
            push(
                "enum-without-values",
                format!("enum property `{}` lists no values", name.as_ref()),
                "add values = [\"a\", \"b\"]",
            );
        }
        if property.required && property.nullable && property.fill.is_none() {
            push(
                "required-nullable",
                format!("property `{}` is both required and nullable", name.as_ref()),
                "set required = false (absent and null then mean the same), or drop nullable",
            );
        }
    }
}
