//! Serialize: the draft to the wire event, every string written through the last gate
//! ([`crate::gate`]) as the compiled plan says: free text scrubbed (values at any depth,
//! array items, object keys), identifiers refused when they look personal, the rest (allowed
//! by the catalog, treated by it, or made by tally) as is. `$set`/`$set_once` copy gated
//! values; `$groups` keys are identifiers.
//!
//! The values move from the draft's slots into the wire event's [`WireProperties`] under the
//! plan's wire names (shared, not copied): no `serde_json::Map` is built for the event, and
//! the sinks write JSON (or build posthog-rs's events) straight from it.

use serde_json::{Map, Value};

use super::Draft;
use super::identity::Resolved;
use crate::context::Context;
use crate::gate;
use crate::identity::DistinctId;
use crate::plan::{EventPlan, Gate, PropertyPlan};
use crate::sink::{WireEvent, WireName, WireProperties};
use crate::validate::Violation;
use crate::value::PropertyValue;

/// The wire event and the groups it names (for `$groupidentify`).
pub(crate) struct Serialized {
    pub(crate) wire: WireEvent,
    pub(crate) groups: Vec<(String, String)>,
    /// Values the gate replaced.
    pub(crate) redacted: usize,
}

/// What serialization adds besides the draft.
pub(crate) struct Extra<'a> {
    pub(crate) context: &'a Context,
    /// Linked kinds' ids, wire name first, for `$set`.
    pub(crate) links: Vec<(&'a str, DistinctId)>,
    /// In flag mode: the violations, sent as `$tally_violations`.
    pub(crate) flagged: Option<Vec<Violation>>,
}

/// The properties tally adds to every event besides the catalog's.
const LIBRARY_PROPERTIES: usize = 3;

/// Builds the wire event; an identifier that looks personal refuses it.
pub(crate) fn serialize(draft: &mut Draft<'_>, resolved: Resolved, extra: Extra<'_>) -> Result<Serialized, Violation> {
    let plan: &EventPlan = draft.plan;
    let mut redacted = 0;
    for (property, slot) in plan.properties.iter().zip(draft.slots.iter_mut()) {
        if let Some(value) = slot {
            through_gate(property, value, &mut redacted)?;
        }
    }
    let gated = &draft.slots;

    let mut set = Map::new();
    let mut set_once = Map::new();
    for (target, declared) in [(&mut set, &plan.set), (&mut set_once, &plan.set_once)] {
        for person in declared {
            if let Some(when) = person.when
                && gated[when].as_ref().is_none_or(PropertyValue::is_null)
            {
                continue;
            }
            let value = match person.from {
                Some(from) => gated[from].as_ref().map(PropertyValue::to_json),
                None => Some(Value::String(timestamp(draft.at))),
            };
            if let Some(value) = value {
                target.insert(person.wire_name.to_string(), value);
            }
        }
    }
    for (wire_name, id) in extra.links {
        set.insert(wire_name.to_owned(), Value::String(id.into_string()));
    }

    let mut groups: Vec<(String, String)> = Vec::new();
    for (group_type, key) in extra.context.groups() {
        if let Some(rule) = gate::looks_personal(key) {
            return Err(Violation::PersonalIdentifier { kind: format!("group.{group_type}"), rule });
        }
        upsert(&mut groups, group_type, key);
    }
    for (group_type, index) in &plan.group_properties {
        if let Some(key) = gated[*index].as_ref().and_then(PropertyValue::as_str) {
            if let Some(rule) = gate::looks_personal(key) {
                return Err(Violation::PersonalIdentifier { kind: format!("group.{group_type}"), rule });
            }
            upsert(&mut groups, group_type, key);
        }
    }

    let mut properties = WireProperties::with_capacity(plan.properties.len() + LIBRARY_PROPERTIES + 1);
    for (property, slot) in plan.properties.iter().zip(draft.slots.drain(..)) {
        if let Some(value) = slot {
            properties.push_new(property.wire_name.clone(), value);
        }
    }
    if !set.is_empty() {
        properties.push_new(WireName::new_static("$set"), Value::Object(set).into());
    }
    if !set_once.is_empty() {
        properties.push_new(WireName::new_static("$set_once"), Value::Object(set_once).into());
    }
    if !groups.is_empty() {
        let object = groups.iter().map(|(t, k)| (t.clone(), Value::String(k.clone()))).collect();
        properties.push_new(WireName::new_static("$groups"), Value::Object(object).into());
    }
    if resolved.personless {
        properties.push_new(WireName::new_static("$process_person_profile"), PropertyValue::Bool(false));
    }
    if let Some(violations) = extra.flagged {
        // Names and rules only: a violation never carries the value.
        let list = violations.iter().map(|v| Value::String(v.to_string())).collect();
        properties.push_new(WireName::new_static("$tally_violations"), Value::Array(list).into());
    }
    library_properties(&mut properties);
    Ok(Serialized {
        wire: WireEvent {
            uuid: draft.id,
            event: plan.wire_name.clone(),
            distinct_id: resolved.distinct_id.into_string(),
            timestamp: draft.at,
            properties,
        },
        groups,
        redacted,
    })
}

/// One property's value, through the gate the plan chose for it, in place.
fn through_gate(property: &PropertyPlan, value: &mut PropertyValue, redacted: &mut usize) -> Result<(), Violation> {
    match property.gate {
        Gate::Pass => Ok(()),
        Gate::Scrub => {
            *redacted += gate::value(value);
            Ok(())
        }
        Gate::Identifier => {
            if let Some(text) = value.as_str()
                && let Some(rule) = gate::looks_personal(text)
            {
                let kind = property.fill.as_ref().map_or_else(|| property.name.to_string(), ToString::to_string);
                return Err(Violation::PersonalIdentifier { kind, rule });
            }
            Ok(())
        }
    }
}

fn upsert(groups: &mut Vec<(String, String)>, group_type: &str, key: &str) {
    match groups.iter_mut().find(|(t, _)| t == group_type) {
        Some(entry) => entry.1 = key.to_owned(),
        None => groups.push((group_type.to_owned(), key.to_owned())),
    }
}

/// `$lib`, `$lib_version`, and no GeoIP from the server's own address.
pub(crate) fn library_properties(properties: &mut WireProperties) {
    properties.push_new(WireName::new_static("$lib"), PropertyValue::from("tally"));
    properties.push_new(WireName::new_static("$lib_version"), PropertyValue::from(env!("CARGO_PKG_VERSION")));
    properties.push_new(WireName::new_static("$geoip_disable"), PropertyValue::Bool(true));
}

/// RFC 3339 with microseconds, UTC.
pub(crate) fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
