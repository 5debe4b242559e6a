//! Serialize: the draft to the wire event, every string written through the last gate
//! ([`crate::gate`]) as the compiled plan says: free text scrubbed (values at any depth,
//! array items, object keys), identifiers refused when they look personal, the rest (allowed
//! by the catalog, treated by it, or made by tally) as is. `$set`/`$set_once` copy gated
//! values; `$groups` keys are identifiers.

use std::time::SystemTime;

use serde_json::{Map, Value};

use super::Draft;
use super::identity::Resolved;
use crate::context::Context;
use crate::gate;
use crate::identity::DistinctId;
use crate::plan::{EventPlan, Gate, PropertyPlan};
use crate::sink::WireEvent;
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

/// Builds the wire event; an identifier that looks personal refuses it.
pub(crate) fn serialize(draft: Draft<'_>, resolved: Resolved, extra: Extra<'_>) -> Result<Serialized, Violation> {
    let plan: &EventPlan = draft.plan;
    let mut redacted = 0;
    let mut gated: Vec<Option<Value>> = Vec::with_capacity(draft.slots.len());
    for (property, slot) in plan.properties.iter().zip(draft.slots) {
        gated.push(match slot {
            Some(value) => Some(through_gate(property, value, &mut redacted)?),
            None => None,
        });
    }

    let mut set = Map::new();
    let mut set_once = Map::new();
    for (target, declared) in [(&mut set, &plan.set), (&mut set_once, &plan.set_once)] {
        for person in declared {
            if let Some(when) = person.when
                && gated[when].as_ref().is_none_or(Value::is_null)
            {
                continue;
            }
            let value = match person.from {
                Some(from) => gated[from].clone(),
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
        if let Some(Value::String(key)) = &gated[*index] {
            if let Some(rule) = gate::looks_personal(key) {
                return Err(Violation::PersonalIdentifier { kind: format!("group.{group_type}"), rule });
            }
            upsert(&mut groups, group_type, key);
        }
    }

    let mut properties = Map::new();
    for (property, value) in plan.properties.iter().zip(gated) {
        if let Some(value) = value {
            properties.insert(property.wire_name.to_string(), value);
        }
    }
    if !set.is_empty() {
        properties.insert("$set".into(), Value::Object(set));
    }
    if !set_once.is_empty() {
        properties.insert("$set_once".into(), Value::Object(set_once));
    }
    if !groups.is_empty() {
        let object = groups.iter().map(|(t, k)| (t.clone(), Value::String(k.clone()))).collect();
        properties.insert("$groups".into(), Value::Object(object));
    }
    if resolved.personless {
        properties.insert("$process_person_profile".into(), Value::Bool(false));
    }
    if let Some(violations) = extra.flagged {
        // Names and rules only: a violation never carries the value.
        let list = violations.iter().map(|v| Value::String(v.to_string())).collect();
        properties.insert("$tally_violations".into(), Value::Array(list));
    }
    library_properties(&mut properties);
    Ok(Serialized {
        wire: WireEvent {
            uuid: draft.id,
            event: plan.wire_name.to_string(),
            distinct_id: resolved.distinct_id.into_string(),
            timestamp: draft.at.into(),
            properties,
        },
        groups,
        redacted,
    })
}

/// One property's value, through the gate the plan chose for it.
fn through_gate(property: &PropertyPlan, value: PropertyValue, redacted: &mut usize) -> Result<Value, Violation> {
    match property.gate {
        Gate::Pass => Ok(value.into_json()),
        Gate::Scrub => {
            let mut json = value.into_json();
            *redacted += gate::json(&mut json);
            Ok(json)
        }
        Gate::Identifier => {
            if let Some(text) = value.as_str()
                && let Some(rule) = gate::looks_personal(text)
            {
                let kind = property.fill.as_ref().map_or_else(|| property.name.to_string(), ToString::to_string);
                return Err(Violation::PersonalIdentifier { kind, rule });
            }
            Ok(value.into_json())
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
pub(crate) fn library_properties(properties: &mut Map<String, Value>) {
    properties.insert("$lib".into(), Value::String("tally".into()));
    properties.insert("$lib_version".into(), Value::String(env!("CARGO_PKG_VERSION").into()));
    properties.insert("$geoip_disable".into(), Value::Bool(true));
}

/// RFC 3339 with microseconds, UTC.
pub(crate) fn timestamp(at: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(at).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
