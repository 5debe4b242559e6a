//! What `tally dev` finds wrong with one received event: against the catalog (unknown event,
//! unknown or missing property, wrong value), against the privacy rules (personal data the
//! runtime's own scrub patterns still find), and against PostHog's identity rules.

use serde::Serialize;
use serde_json::{Map, Value};
use tally_catalog::Catalog;
use tally_catalog::model::{EventDef, Privacy, PropertyDef};
use tally_receiver::ReceivedEvent;
use tally_runtime::Violation;
use tally_runtime::posthog_rules;
use tally_runtime::privacy::{self, Category};

/// One thing wrong with an event, as the page and the API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Finding {
    /// A stable, machine-readable kind: see `docs/dev.md`.
    pub(crate) kind: &'static str,
    /// The property (wire name) it is about, if any; `distinct_id` for identity findings.
    pub(crate) property: Option<String>,
    /// What is wrong, for a person.
    pub(crate) message: String,
}

impl Finding {
    fn new(kind: &'static str, property: Option<&str>, message: String) -> Self {
        Self { kind, property: property.map(str::to_owned), message }
    }
}

/// Checks received events against an optional catalog.
#[derive(Debug)]
pub(crate) struct Checker {
    catalog: Option<Catalog>,
}

impl Checker {
    pub(crate) fn new(catalog: Option<Catalog>) -> Self {
        Self { catalog }
    }

    /// The event's catalog name (when it has one) and everything wrong with it.
    pub(crate) fn check(&self, event: &ReceivedEvent) -> (Option<String>, Vec<Finding>) {
        let mut findings = Vec::new();
        identity(event, &mut findings);
        let empty = Map::new();
        let properties = event.properties.as_object().unwrap_or(&empty);
        if event.event.starts_with('$') {
            special(event, properties, &mut findings);
            return (None, findings);
        }
        let Some(catalog) = &self.catalog else {
            scrub_properties(properties, |_| None, &mut findings);
            return (None, findings);
        };
        let name = event.event.strip_prefix(catalog.namespace());
        let Some((name, def)) = name.and_then(|name| catalog.event(name).map(|def| (name, def))) else {
            let bare = name.unwrap_or(&event.event);
            let violation = Violation::UnknownEvent {
                event: event.event.clone(),
                suggestion: catalog.closest_event(bare).map(|best| catalog.wire_name(best)),
            };
            findings.push(Finding::new("unknown_event", None, violation.to_string()));
            scrub_properties(properties, |_| None, &mut findings);
            return (None, findings);
        };
        if let Some(deprecated) = def.deprecated() {
            let instead = deprecated
                .replacement()
                .map(|r| format!("; send `{}` instead", catalog.wire_name(r)))
                .unwrap_or_default();
            findings.push(Finding::new(
                "deprecated_event",
                None,
                format!("event `{}` is deprecated{instead}", event.event),
            ));
        }
        against_catalog(catalog, def, properties, &mut findings);
        (Some(name.to_owned()), findings)
    }
}

/// Events PostHog would key on no one, or on personal data.
fn identity(event: &ReceivedEvent, findings: &mut Vec<Finding>) {
    let id = &event.distinct_id;
    if posthog_rules::is_illegal_distinct_id(id) {
        findings.push(Finding::new(
            "no_identity",
            Some("distinct_id"),
            format!("distinct_id `{id}` is one PostHog treats as illegal: it merges no persons, every such event lands on one junk person"),
        ));
    }
    if let Some(category) = privacy::personal_category(id) {
        findings.push(Finding::new(
            "personal_data",
            Some("distinct_id"),
            format!("distinct_id holds personal data ({}): key persons by an id, or pseudonymize", category.as_str()),
        ));
    }
}

/// PostHog's own events: only what makes them work is checked.
fn special(event: &ReceivedEvent, properties: &Map<String, Value>, findings: &mut Vec<Finding>) {
    if event.event == "$identify" {
        match properties.get("$anon_distinct_id") {
            Some(Value::String(anonymous)) if !anonymous.is_empty() => {}
            _ => findings.push(Finding::new(
                "no_identity",
                Some("$anon_distinct_id"),
                "`$identify` without `$anon_distinct_id`: no anonymous person is merged".to_owned(),
            )),
        }
        if properties.get("$process_person_profile") == Some(&Value::Bool(false)) {
            findings.push(Finding::new(
                "no_identity",
                Some("$process_person_profile"),
                "`$identify` sent personless (`$process_person_profile: false`): PostHog drops it".to_owned(),
            ));
        }
    }
}

fn against_catalog(catalog: &Catalog, def: &EventDef, properties: &Map<String, Value>, findings: &mut Vec<Finding>) {
    let namespace = catalog.namespace();
    let declared = |wire: &str| -> Option<&PropertyDef> {
        let name = wire.strip_prefix(namespace)?;
        catalog.property_of(def, name)
    };
    let mut violations = Vec::new();
    for (wire, value) in properties {
        if wire.starts_with('$') {
            continue;
        }
        let Some(property) = declared(wire) else {
            violations.push(Violation::UnknownProperty(wire.clone()));
            continue;
        };
        violations.extend(tally_runtime::check_json(wire, property, value));
        findings.extend(privacy_class(wire, property, value));
    }
    for (name, property) in catalog.properties_of(def) {
        let wire = catalog.wire_name(name);
        // A dropped property never reaches the wire, and must not be asked for.
        if property.required() && property.privacy() != Privacy::Drop && !properties.contains_key(&wire) {
            violations.push(Violation::MissingProperty(wire));
        }
    }
    findings.extend(violations.iter().map(from_violation));
    scrub_properties(properties, declared, findings);
}

/// A declared property's value against its privacy class: sent as the runtime would send it?
fn privacy_class(wire: &str, property: &PropertyDef, value: &Value) -> Option<Finding> {
    let text = value.as_str();
    let message = match property.privacy() {
        Privacy::Drop => format!("property `{wire}` has privacy = \"drop\" and must never be sent"),
        Privacy::Pseudonymize if !text.is_some_and(is_pseudonym) => {
            format!("property `{wire}` is not pseudonymized (expected a 64-hex-digit keyed hash)")
        }
        Privacy::AnonymizeIp if text.is_some_and(|ip| privacy::anonymize_ip(ip).is_some_and(|zeroed| zeroed != ip)) => {
            format!("property `{wire}` is a full IP address; the runtime zeroes its host part")
        }
        _ => return None,
    };
    Some(Finding::new("personal_data", Some(wire), message))
}

/// Personal data the runtime's scrub patterns still find in properties that are neither
/// PostHog's own (`$…`) nor declared with a privacy class that treats or allows them.
fn scrub_properties<'a>(
    properties: &Map<String, Value>,
    declared: impl Fn(&str) -> Option<&'a PropertyDef>,
    findings: &mut Vec<Finding>,
) {
    for (wire, value) in properties {
        if wire.starts_with('$') || declared(wire).is_some_and(|property| property.privacy() != Privacy::None) {
            continue;
        }
        let mut kinds = Vec::new();
        collect_personal(value, &mut kinds);
        if !kinds.is_empty() {
            findings.push(Finding::new(
                "personal_data",
                Some(wire),
                format!(
                    "property `{wire}` holds personal data ({}): declare a privacy class in the catalog",
                    kinds.join(", ")
                ),
            ));
        }
    }
}

fn collect_personal(value: &Value, kinds: &mut Vec<&'static str>) {
    match value {
        Value::String(text) => {
            for kind in personal_kinds(text) {
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_personal(item, kinds)),
        Value::Object(map) => map.values().for_each(|item| collect_personal(item, kinds)),
        _ => {}
    }
}

/// What the runtime's scrub would redact in `text`, by category name (`email`, `ip`, …).
fn personal_kinds(text: &str) -> Vec<&'static str> {
    let (scrubbed, count) = privacy::scrub_str(text);
    if count == 0 {
        return Vec::new();
    }
    Category::ALL
        .into_iter()
        .filter(|category| {
            let placeholder = category.placeholder();
            scrubbed.matches(placeholder).count() > text.matches(placeholder).count()
        })
        .map(Category::as_str)
        .collect()
}

/// What [`tally_runtime::privacy::Pseudonymizer`] produces: 64 lower-case hex digits.
fn is_pseudonym(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn from_violation(violation: &Violation) -> Finding {
    let (kind, property) = match violation {
        Violation::UnknownEvent { .. } => ("unknown_event", None),
        Violation::UnknownProperty(p) => ("unknown_property", Some(p.as_str())),
        Violation::MissingProperty(p) => ("missing_property", Some(p.as_str())),
        Violation::WrongType { property, .. } => ("wrong_type", Some(property.as_str())),
        Violation::NotInEnum { property, .. } => ("wrong_value", Some(property.as_str())),
        Violation::Null(p) | Violation::Empty(p) => ("wrong_value", Some(p.as_str())),
        Violation::TooLong { property, .. } => ("wrong_value", Some(property.as_str())),
        _ => ("wrong_value", None),
    };
    Finding::new(kind, property, violation.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_the_scrub_finds() {
        assert_eq!(personal_kinds("write to ada@example.com from 10.1.2.3"), ["email", "ip"]);
        assert!(personal_kinds("plain [email] text").is_empty());
        assert_eq!(personal_kinds("Authorization: Bearer abc.def"), ["credential"]);
        assert!(personal_kinds("version 1.2.3").is_empty());
    }

    #[test]
    fn pseudonyms_are_hmac_hex() {
        let hash = tally_runtime::privacy::Pseudonymizer::new(b"key").pseudonymize("ada");
        assert!(is_pseudonym(&hash));
        assert!(!is_pseudonym("ada"));
    }
}
