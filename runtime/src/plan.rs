//! The compiled plan: the catalog turned, once per tracker, into what processing needs.
//!
//! The parse tree (`Spanned`, `IndexMap`) stays in tally-catalog; the worker's path only
//! reads these tables. Per event: its properties (common first, then its own, in order) with
//! their wire names already namespaced, their checks, privacy treatment and fill; its
//! person properties and group properties as indexes into that table; the identity kind that
//! keys it. Per catalog: the role → event map and the identity kinds.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use tally_catalog::Catalog;
use tally_catalog::model::{Fill, OnMissing, Origin, PersonProperty, Privacy, PropertyDef, PropertyType, Role};

use crate::sink::WireName;

/// The catalog, compiled for processing.
#[derive(Debug)]
pub(crate) struct Plan {
    catalog: Arc<Catalog>,
    events: Vec<EventPlan>,
    by_name: HashMap<Box<str>, usize, BuildHasherDefault<NameHasher>>,
    roles: [Option<usize>; Role::ALL.len()],
    /// The identity kinds, by index; `EventPlan::keyed_by` and `Fill::Identity` point here.
    pub(crate) kinds: Vec<KindPlan>,
    /// The kind `$identify` keys the person by.
    pub(crate) person: usize,
    pub(crate) on_missing: OnMissing,
}

/// One event, compiled.
#[derive(Debug)]
pub(crate) struct EventPlan {
    /// The catalog name.
    pub(crate) name: Box<str>,
    /// The name as sent (namespace included), shared by the event's wire events.
    pub(crate) wire_name: WireName,
    pub(crate) origin: Origin,
    /// The category (`fill = "category"`).
    pub(crate) category: Option<Box<str>>,
    /// Common properties, then the event's own, in catalog order.
    pub(crate) properties: Vec<PropertyPlan>,
    /// The identity kind keying the event (index into `Plan::kinds`).
    pub(crate) keyed_by: usize,
    pub(crate) set: Vec<PersonPlan>,
    pub(crate) set_once: Vec<PersonPlan>,
    /// Group type and the property carrying its key.
    pub(crate) group_properties: Vec<(Box<str>, usize)>,
}

/// A `$set`/`$set_once` entry.
#[derive(Debug)]
pub(crate) struct PersonPlan {
    pub(crate) wire_name: Box<str>,
    /// The property it copies; `None`: the event's time.
    pub(crate) from: Option<usize>,
    /// Set only when this property has a non-null value.
    pub(crate) when: Option<usize>,
}

/// An identity kind, compiled.
#[derive(Debug)]
pub(crate) struct KindPlan {
    pub(crate) name: Box<str>,
    /// `format` split around `{id}`.
    pub(crate) format: Option<(Box<str>, Box<str>)>,
    pub(crate) pseudonymize: bool,
    /// Kinds whose distinct_id goes into `$set` as `<kind>_distinct_id`.
    pub(crate) links: Vec<(usize, Box<str>)>,
}

/// What the last gate does with a property's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Free text: every string at any depth and every object key is scrubbed.
    Scrub,
    /// An identifier (request id, session id, group key, identity): never placeholdered; one
    /// that looks personal refuses the event.
    Identifier,
    /// Passes untouched: the catalog allows it (with a reason), tally made it (ids, times,
    /// durations), or the catalog's treatment already made it safe (hash, anonymized IP).
    Pass,
}

/// One property, compiled.
#[derive(Debug)]
pub(crate) struct PropertyPlan {
    pub(crate) name: Box<str>,
    /// Shared by every wire event that carries the property (no copy per event).
    pub(crate) wire_name: WireName,
    pub(crate) ty: PropertyType,
    pub(crate) items: Option<PropertyType>,
    pub(crate) values: Option<Box<[Box<str>]>>,
    pub(crate) nullable: bool,
    pub(crate) required: bool,
    pub(crate) non_empty: bool,
    pub(crate) max_length: Option<u32>,
    pub(crate) privacy: Privacy,
    pub(crate) fill: Option<Fill>,
    /// For `fill = "identity.<kind>"`: the kind's index.
    pub(crate) fill_kind: Option<usize>,
    /// Whether a filled value comes from outside (context, facts, request) and is checked
    /// like a given one.
    pub(crate) fill_from_outside: bool,
    pub(crate) gate: Gate,
}

impl Plan {
    /// Compiles `catalog`.
    pub(crate) fn compile(catalog: Arc<Catalog>) -> Plan {
        let namespace = catalog.namespace();
        // Declared kinds first; a kind used without a declaration (`user` by default) is
        // added plain, as the context may still carry it.
        let mut kinds: Vec<KindPlan> = catalog
            .identity_kinds()
            .map(|(name, kind)| KindPlan {
                name: name.into(),
                format: kind.format().map(|format| match format.split_once("{id}") {
                    Some((before, after)) => (before.into(), after.into()),
                    None => (format.into(), "".into()),
                }),
                pseudonymize: kind.pseudonymize(),
                links: Vec::new(),
            })
            .collect();
        for (index, (_, kind)) in catalog.identity_kinds().enumerate() {
            for linked in kind.links() {
                let linked_index = intern(&mut kinds, linked);
                let name = wire(namespace, &format!("{linked}_distinct_id"));
                kinds[index].links.push((linked_index, name));
            }
        }
        let mut events = Vec::with_capacity(catalog.events().len());
        let mut by_name = HashMap::with_capacity_and_hasher(catalog.events().len(), BuildHasherDefault::default());
        let mut roles = [None; Role::ALL.len()];
        for (name, def) in catalog.events() {
            let properties: Vec<PropertyPlan> = catalog
                .properties_of(def)
                .map(|(name, property)| compile_property(namespace, name, property, &mut kinds))
                .collect();
            let position = |name: &str| properties.iter().position(|p| &*p.name == name);
            let person = |declared: &mut dyn Iterator<Item = (&str, &PersonProperty)>| -> Vec<PersonPlan> {
                declared
                    .filter_map(|(name, person)| {
                        let from = match person.from().strip_prefix("property.") {
                            Some(property) => Some(position(property)?),
                            None => None,
                        };
                        let when = match person.when() {
                            Some(when) => Some(position(when)?),
                            None => None,
                        };
                        Some(PersonPlan { wire_name: wire(namespace, name), from, when })
                    })
                    .collect()
            };
            let set = person(&mut def.set());
            let set_once = person(&mut def.set_once());
            let group_properties = catalog
                .groups()
                .filter_map(|(group_type, group)| {
                    let index = position(group.property()?)?;
                    Some((group_type.into(), index))
                })
                .collect();
            // A catalog without an identity strategy keys events by `user` when known.
            let keyed_by = intern(&mut kinds, catalog.identity_of(def).unwrap_or("user"));
            let index = events.len();
            if let Some(role) = def.role()
                && let Some(slot) = Role::ALL.iter().position(|r| *r == role)
                && roles[slot].is_none()
            {
                roles[slot] = Some(index);
            }
            by_name.insert(name.into(), index);
            events.push(EventPlan {
                name: name.into(),
                wire_name: [namespace, name].concat().into(),
                origin: def.origin(),
                category: def.category().map(Into::into),
                properties,
                keyed_by,
                set,
                set_once,
                group_properties,
            });
        }
        let person = intern(&mut kinds, catalog.person().unwrap_or("user"));
        let on_missing = catalog.on_missing();
        Plan { catalog, events, by_name, roles, kinds, person, on_missing }
    }

    /// The catalog the plan was compiled from.
    pub(crate) fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// An event's plan by catalog name.
    pub(crate) fn event(&self, name: &str) -> Option<&EventPlan> {
        self.by_name.get(name).map(|&index| &self.events[index])
    }

    /// The event that plays `role`, by catalog name: an array lookup.
    pub(crate) fn role_event(&self, role: Role) -> Option<&str> {
        let slot = Role::ALL.iter().position(|r| *r == role)?;
        self.roles[slot].map(|index| &*self.events[index].name)
    }
}

impl EventPlan {
    /// A property's index by catalog name. Tables are short: a scan beats hashing.
    pub(crate) fn position(&self, name: &str) -> Option<usize> {
        self.properties.iter().position(|p| &*p.name == name)
    }

    /// The same, looking from index `from` on first: emitters mostly give properties in the
    /// catalog's order, so the one after the last found is usually the next (one comparison
    /// instead of a scan).
    pub(crate) fn position_from(&self, name: &str, from: usize) -> Option<usize> {
        let (before, after) = self.properties.split_at(from.min(self.properties.len()));
        match after.iter().position(|p| &*p.name == name) {
            Some(offset) => Some(from + offset),
            None => before.iter().position(|p| &*p.name == name),
        }
    }
}

/// The hash of the event table: a multiply-rotate over eight bytes at a time (FxHash's), a
/// few nanoseconds for an event name where SipHash takes tens. The table only ever holds the
/// catalog's names, so a name chosen to collide (a client's) costs its lookup a few
/// comparisons, never the table's growth.
#[derive(Default)]
pub(crate) struct NameHasher(u64);

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0xf135_7aea_2e62_a9c5;
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

/// A kind's index, added plain when the catalog does not declare it.
fn intern(kinds: &mut Vec<KindPlan>, name: &str) -> usize {
    if let Some(index) = kinds.iter().position(|k| &*k.name == name) {
        return index;
    }
    kinds.push(KindPlan { name: name.into(), format: None, pseudonymize: false, links: Vec::new() });
    kinds.len() - 1
}

pub(crate) fn compile_property(
    namespace: &str,
    name: &str,
    property: &PropertyDef,
    kinds: &mut Vec<KindPlan>,
) -> PropertyPlan {
    let fill = property.fill().cloned();
    let fill_kind = match &fill {
        Some(Fill::Identity(kind)) => Some(intern(kinds, kind)),
        _ => None,
    };
    let made_by_tally = fill.as_ref().is_some_and(|fill| {
        matches!(
            fill,
            Fill::EventId
                | Fill::EventName
                | Fill::Timestamp
                | Fill::CatalogVersion
                | Fill::DurationMs
                | Fill::DurationSecs
                | Fill::Category
                | Fill::Surface
                | Fill::Success
                | Fill::SessionDurationSecs
                | Fill::SessionDurationMins
        )
    });
    let identifier = fill
        .as_ref()
        .is_some_and(|fill| matches!(fill, Fill::RequestId | Fill::SessionId | Fill::Group(_) | Fill::Identity(_)));
    let gate = match property.privacy() {
        Privacy::Allowed | Privacy::Pseudonymize | Privacy::AnonymizeIp | Privacy::Drop => Gate::Pass,
        Privacy::None if made_by_tally => Gate::Pass,
        Privacy::None if identifier => Gate::Identifier,
        // `Privacy::None`, and any class this runtime does not know: scrubbed, as free text.
        _ => Gate::Scrub,
    };
    PropertyPlan {
        name: name.into(),
        wire_name: wire(namespace, name).into_string().into(),
        ty: property.ty(),
        items: property.items(),
        values: property.values().map(|values| values.iter().map(|v| v.as_str().into()).collect()),
        nullable: property.nullable(),
        required: property.required(),
        non_empty: property.non_empty(),
        max_length: property.max_length(),
        privacy: property.privacy(),
        fill,
        fill_kind,
        fill_from_outside: !made_by_tally,
        gate,
    }
}

/// A property's wire name: the namespace before every name but PostHog's `$` ones.
fn wire(namespace: &str, name: &str) -> Box<str> {
    if name.starts_with('$') { name.into() } else { [namespace, name].concat().into() }
}
