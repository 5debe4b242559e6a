//! The processing of one event, off the request path: validate → enrich → scrub → identify
//! → serialize. It runs on the worker (or inline, in strict mode, so the caller sees errors).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde_json::{Map, Value, json};
use tally_catalog::Catalog;
use tally_catalog::model::{Fill, IdentityKind as KindDef, OnMissing, Privacy, Property};
use uuid::Uuid;

use crate::clock::Anchor;
use crate::config::Config;
use crate::context::Context;
use crate::counters::Counters;
use crate::event::{Event, Fact};
use crate::identity::{DistinctId, Identity};
use crate::privacy::{self, Pseudonymizer};
use crate::sink::WireEvent;
use crate::validate::{self, ValidationMode, Violation, Violations};
use crate::value::PropertyValue;

/// Why the pipeline did not produce an event.
#[derive(Debug)]
pub(crate) enum Rejection {
    Invalid(Violations),
    NoIdentity,
}

/// The special events tally builds itself.
#[derive(Debug, Clone)]
pub(crate) enum Special {
    /// `$identify`: merge `anonymous` into the identity's person.
    Identify { anonymous: String, identity: Identity },
}

/// Everything processing needs, shared by the worker and strict-mode callers.
pub(crate) struct Pipeline {
    catalog: Arc<Catalog>,
    config: Config,
    mode: ValidationMode,
    pseudonymizer: Option<Pseudonymizer>,
    process_identity: Identity,
    counters: Arc<Counters>,
    /// Groups already announced with `$groupidentify` in this process.
    groups_seen: Mutex<HashSet<(String, String)>>,
}

/// The largest number of groups remembered; past it the set restarts (a repeated
/// `$groupidentify` is harmless, unbounded memory is not).
const MAX_GROUPS_SEEN: usize = 100_000;

impl Pipeline {
    pub(crate) fn new(
        catalog: Arc<Catalog>,
        config: Config,
        pseudonymizer: Option<Pseudonymizer>,
        process_identity: Identity,
        counters: Arc<Counters>,
    ) -> Self {
        let mode = config.validation;
        Self { catalog, config, mode, pseudonymizer, process_identity, counters, groups_seen: Mutex::default() }
    }

    pub(crate) fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// One event in, its wire events pushed onto `out` (the event, then a `$groupidentify` for
    /// a new group); nothing when it is rejected. `anchor` dates the event. Rejections are
    /// counted here.
    pub(crate) fn process(&self, mut event: Event, anchor: &Anchor, out: &mut Vec<WireEvent>) -> Result<(), Rejection> {
        let at = anchor.wall_time(event.stamp);
        let result = match event.take_special() {
            Some(Special::Identify { anonymous, identity }) => self.identify(at, &anonymous, &identity, out),
            None => self.catalog_event(event, at, out),
        };
        match &result {
            Err(Rejection::Invalid(violations)) => {
                Counters::add(&self.counters.dropped_invalid, 1);
                warn_rate_limited(violations);
            }
            Err(Rejection::NoIdentity) => Counters::add(&self.counters.dropped_no_identity, 1),
            Ok(_) => {}
        }
        result
    }

    fn catalog_event(&self, mut event: Event, at: SystemTime, out: &mut Vec<WireEvent>) -> Result<(), Rejection> {
        let catalog = &*self.catalog;
        let Some(def) = catalog.event(&event.name) else {
            let violation = Violation::UnknownEvent {
                event: event.name.to_string(),
                suggestion: catalog.closest_event(&event.name).map(str::to_owned),
            };
            Counters::add(&self.counters.violations, 1);
            return Err(Rejection::Invalid(Violations { event: event.name.to_string(), violations: vec![violation] }));
        };
        let context = event.context.clone().unwrap_or_default();
        let id = new_event_id(at);
        let mut violations = Vec::new();
        let mut properties = Map::new();

        // Given properties: validated, then privacy-treated.
        for (name, value) in std::mem::take(&mut event.properties) {
            let Some(property) = def.properties.get(name.as_ref()).or_else(|| catalog.file().common.get(name.as_ref()))
            else {
                violations.push(Violation::UnknownProperty(name.into_owned()));
                continue;
            };
            let value = match event.coerce_types {
                true => value.coerce(*property.ty.as_ref(), property.items).into_json(),
                false => value.into_json(),
            };
            validate::check_value(&name, property, &value, &mut violations);
            properties.insert(name.into_owned(), value);
        }
        // Declared properties not given: filled, or missing.
        let declared = catalog.file().common.iter().chain(def.properties.iter());
        for (name, property) in declared {
            // Nothing to fill and nothing to miss: no need to look.
            let optional_unfilled = property.fill.is_none() && !property.required;
            if optional_unfilled || properties.contains_key(name.as_ref().as_str()) {
                continue;
            }
            match property
                .fill
                .as_ref()
                .and_then(|fill| self.fill(fill.as_ref(), name.as_ref(), property.privacy, &event, (id, at), &context))
            {
                Some(value) => {
                    // Values from outside (facts, context, identities) are checked like given
                    // ones; what the pipeline makes itself (ids, times, durations) is well-formed.
                    if property.fill.as_ref().is_some_and(|fill| comes_from_outside(fill.as_ref())) {
                        validate::check_value(name.as_ref(), property, &value, &mut violations);
                    }
                    properties.insert(name.as_ref().clone(), value);
                }
                None if property.required => violations.push(Violation::MissingProperty(name.as_ref().clone())),
                None => {}
            }
        }
        // Privacy, then the free-text scrub of whatever is left unclassified. Only properties
        // with a privacy class or free text are looked up: most have neither.
        let mut redacted = 0;
        let scrub = catalog.file().privacy.scrub_free_text;
        for (name, property) in catalog.file().common.iter().chain(def.properties.iter()) {
            let treated = !matches!(property.privacy, Privacy::None | Privacy::Allowed);
            if !(treated || scrub && is_free_text(property)) {
                continue;
            }
            let Some(value) = properties.get_mut(name.as_ref().as_str()) else { continue };
            if !treated {
                redacted += privacy::scrub_value(value);
                continue;
            }
            match self.apply_privacy(name.as_ref(), property, value) {
                Ok(true) => {}
                Ok(false) => {
                    properties.remove(name.as_ref().as_str());
                }
                Err(violation) => {
                    violations.push(violation);
                    properties.remove(name.as_ref().as_str());
                }
            }
        }
        Counters::add(&self.counters.redacted, redacted as u64);

        if !violations.is_empty() {
            Counters::add(&self.counters.violations, violations.len() as u64);
            let violations = Violations { event: event.name.to_string(), violations };
            match self.mode {
                ValidationMode::Strict | ValidationMode::Drop => return Err(Rejection::Invalid(violations)),
                ValidationMode::Flag => {
                    let list = violations.violations.iter().map(|v| Value::String(v.to_string())).collect();
                    properties.insert("$tally_violations".into(), Value::Array(list));
                }
            }
        }

        // Identity.
        let keyed_by = catalog.identity_of(def);
        let (distinct_id, personless) = match event.distinct_id() {
            Some(explicit) => (explicit.clone(), false),
            None => self.resolve_identity(keyed_by, &context)?,
        };

        // Person properties, groups, links.
        let mut set = Map::new();
        let mut set_once = Map::new();
        for (target, declared) in [(&mut set, &def.set), (&mut set_once, &def.set_once)] {
            for (name, person) in declared {
                if let Some(when) = &person.when
                    && properties.get(when.as_ref().as_str()).is_none_or(Value::is_null)
                {
                    continue;
                }
                let value = match person.from.as_ref().strip_prefix("property.") {
                    Some(property) => properties.get(property).cloned(),
                    None => Some(Value::String(timestamp(at))),
                };
                if let Some(value) = value {
                    target.insert(name.as_ref().clone(), value);
                }
            }
        }
        if let Some(kind) = keyed_by.and_then(|k| self.kind(k)) {
            for linked in &kind.link {
                if let Some(id) = self.distinct_id_of(linked.as_ref(), &context) {
                    set.insert(format!("{}_distinct_id", linked.as_ref()), Value::String(id.into_string()));
                }
            }
        }
        let mut groups = Map::new();
        for (group_type, key) in context.groups() {
            groups.insert(group_type.to_owned(), Value::String(key.to_owned()));
        }
        for (group_type, group) in &catalog.file().groups {
            if let Some(Value::String(key)) = group.property.as_ref().and_then(|p| properties.get(p.as_ref().as_str()))
            {
                groups.insert(group_type.as_ref().clone(), Value::String(key.clone()));
            }
        }

        // Wire names and tally's own properties.
        let namespace = catalog.namespace();
        let mut wire = namespaced(namespace, properties);
        if !set.is_empty() {
            wire.insert("$set".into(), Value::Object(namespaced(namespace, set)));
        }
        if !set_once.is_empty() {
            wire.insert("$set_once".into(), Value::Object(namespaced(namespace, set_once)));
        }
        // Empty (no allocation) unless a group is new to this process.
        let mut announcements = Vec::new();
        if !groups.is_empty() {
            announcements = self.group_identifies(&groups, &distinct_id, at);
            wire.insert("$groups".into(), Value::Object(groups));
        }
        if personless {
            wire.insert("$process_person_profile".into(), Value::Bool(false));
        }
        library_properties(&mut wire);
        out.push(WireEvent {
            uuid: id,
            event: catalog.wire_name(&event.name),
            distinct_id: distinct_id.into_string(),
            timestamp: at.into(),
            properties: wire,
        });
        out.append(&mut announcements);
        Ok(())
    }

    /// `$identify`: the known person absorbs the anonymous one.
    fn identify(
        &self,
        at: SystemTime,
        anonymous: &str,
        identity: &Identity,
        out: &mut Vec<WireEvent>,
    ) -> Result<(), Rejection> {
        let context = Context::new().identity(identity.clone());
        let person = self.catalog.file().identity.person.as_ref().map(|p| p.as_ref().as_str());
        let Some(distinct_id) = self.distinct_id_of(person.unwrap_or("user"), &context) else {
            return Err(Rejection::NoIdentity);
        };
        let mut properties = Map::new();
        properties.insert("$anon_distinct_id".into(), Value::String(anonymous.to_owned()));
        library_properties(&mut properties);
        out.push(WireEvent {
            uuid: new_event_id(at),
            event: "$identify".into(),
            distinct_id: distinct_id.into_string(),
            timestamp: at.into(),
            properties,
        });
        Ok(())
    }

    fn kind(&self, kind: &str) -> Option<&KindDef> {
        self.catalog.file().identity.kinds.get(kind)
    }

    /// The formatted, pseudonymized `distinct_id` of an identity kind, if its value is known.
    fn distinct_id_of(&self, kind: &str, context: &Context) -> Option<DistinctId> {
        let raw = context.identities().get(kind).or_else(|| self.process_identity.get(kind))?;
        if raw.is_empty() {
            return None;
        }
        let def = self.kind(kind);
        let value = match (&self.pseudonymizer, def.is_some_and(|d| d.pseudonymize)) {
            (Some(p), true) => p.pseudonymize(raw),
            // `Tracker::build` refuses a catalog that pseudonymizes without a key.
            (None, true) => return None,
            (_, false) => raw.to_owned(),
        };
        let formatted = match def.and_then(|d| d.format.as_ref()) {
            Some(format) => format.as_ref().replacen("{id}", &value, 1),
            None => value,
        };
        Some(DistinctId::new(formatted))
    }

    /// The event's `distinct_id` and whether it is personless.
    fn resolve_identity(&self, keyed_by: Option<&str>, context: &Context) -> Result<(DistinctId, bool), Rejection> {
        // A catalog without an identity strategy keys events by `user` when known.
        if let Some(id) = self.distinct_id_of(keyed_by.unwrap_or("user"), context) {
            return Ok((id, false));
        }
        let anonymous = context
            .identities()
            .get(Identity::ANONYMOUS)
            .filter(|id| !id.is_empty())
            .map(|id| DistinctId::new(id.to_owned()));
        match (self.catalog.file().identity.on_missing, anonymous) {
            (OnMissing::Drop, _) => Err(Rejection::NoIdentity),
            (OnMissing::Anonymous, Some(anonymous)) => Ok((anonymous, false)),
            (OnMissing::Personless, Some(anonymous)) => Ok((anonymous, true)),
            (_, None) => Ok((DistinctId::new(Uuid::new_v4().to_string()), true)),
        }
    }

    /// The value of a `fill` source, if known.
    fn fill(
        &self,
        fill: &Fill,
        name: &str,
        privacy: Privacy,
        event: &Event,
        (id, at): (Uuid, SystemTime),
        context: &Context,
    ) -> Option<Value> {
        let text = |s: Option<&str>| s.map(|s| Value::String(s.to_owned()));
        let request = context.request_info();
        match fill {
            Fill::EventId => Some(Value::String(id.to_string())),
            Fill::EventName => Some(Value::String(self.catalog.wire_name(&event.name))),
            Fill::Timestamp => Some(Value::String(timestamp(at))),
            Fill::CatalogVersion => text(Some(self.catalog.version())),
            Fill::Environment => text(self.config.environment.as_deref()),
            Fill::Release => text(self.config.release.as_deref()),
            Fill::Service => text(self.config.service.as_deref()),
            Fill::RequestId => text(context.get_request_id()),
            Fill::SessionId => text(context.get_session_id()),
            Fill::DurationMs => event.duration().map(|d| json!(d.as_millis() as u64)),
            Fill::DurationSecs => event.duration().map(|d| json!(d.as_secs_f64())),
            Fill::Method => text(request.method.as_deref()),
            Fill::Route => text(request.route.as_deref()),
            Fill::UserAgent => text(request.user_agent.as_deref()),
            Fill::ClientIp => request.client_ip.map(|ip| Value::String(ip.to_string())),
            Fill::Status => event.fact(Fact::Status).map(PropertyValue::to_json),
            Fill::RequestSize => event.fact(Fact::RequestSize).map(PropertyValue::to_json),
            Fill::ResponseSize => event.fact(Fact::ResponseSize).map(PropertyValue::to_json),
            Fill::ErrorType => event.fact(Fact::ErrorType).map(PropertyValue::to_json),
            Fill::ErrorMessage => event.fact(Fact::ErrorMessage).map(PropertyValue::to_json),
            Fill::FailureReason => event.fact(Fact::FailureReason).map(PropertyValue::to_json),
            Fill::LoginMethod => event.fact(Fact::LoginMethod).map(PropertyValue::to_json),
            Fill::Identity(kind) => {
                let raw = context.identities().get(kind).or_else(|| self.process_identity.get(kind))?;
                // A pseudonymized identity stays pseudonymized wherever it is copied to, unless
                // the property hashes it itself (once is enough).
                let hashed_by_kind =
                    self.kind(kind).is_some_and(|k| k.pseudonymize) && privacy != Privacy::Pseudonymize;
                match (&self.pseudonymizer, hashed_by_kind) {
                    (Some(p), true) => Some(Value::String(p.pseudonymize(raw))),
                    (None, true) => None,
                    (_, false) => text(Some(raw)),
                }
            }
            Fill::Group(group_type) => text(context.group_key(group_type)),
            Fill::Context => context.get_property(name).cloned(),
        }
    }

    /// Applies a property's privacy class in place: `Ok(false)` when the value must not be
    /// sent at all; an invalid IP is reported (and removed by the caller).
    fn apply_privacy(&self, name: &str, property: &Property, value: &mut Value) -> Result<bool, Violation> {
        match property.privacy {
            Privacy::None | Privacy::Allowed => Ok(true),
            Privacy::Drop => Ok(false),
            Privacy::Pseudonymize => Ok(pseudonymize_value(self.pseudonymizer.as_ref(), value)),
            Privacy::AnonymizeIp => match value {
                Value::Null => Ok(true),
                Value::String(text) => match privacy::anonymize_ip(text) {
                    Some(anonymized) => {
                        *text = anonymized;
                        Ok(true)
                    }
                    None => Err(Violation::NotAnIp(name.to_owned())),
                },
                _ => Err(Violation::NotAnIp(name.to_owned())),
            },
        }
    }

    /// `$groupidentify` for groups this process has not announced yet.
    fn group_identifies(
        &self,
        groups: &Map<String, Value>,
        distinct_id: &DistinctId,
        at: SystemTime,
    ) -> Vec<WireEvent> {
        let mut seen = crate::lock(&self.groups_seen);
        let mut out = Vec::new();
        for (group_type, key) in groups {
            let Value::String(key) = key else { continue };
            if seen.len() >= MAX_GROUPS_SEEN {
                seen.clear();
            }
            if seen.insert((group_type.clone(), key.clone())) {
                let mut properties = Map::new();
                properties.insert("$group_type".into(), Value::String(group_type.clone()));
                properties.insert("$group_key".into(), Value::String(key.clone()));
                properties.insert("$group_set".into(), Value::Object(Map::new()));
                library_properties(&mut properties);
                Counters::add(&self.counters.emitted, 1);
                out.push(WireEvent {
                    uuid: new_event_id(at),
                    event: "$groupidentify".into(),
                    distinct_id: distinct_id.to_string(),
                    timestamp: at.into(),
                    properties,
                });
            }
        }
        out
    }
}

/// The properties under their wire names: the namespace before every name but PostHog's `$` ones.
fn namespaced(namespace: &str, properties: Map<String, Value>) -> Map<String, Value> {
    if namespace.is_empty() {
        return properties;
    }
    properties
        .into_iter()
        .map(|(name, value)| {
            if namespace.is_empty() || name.starts_with('$') {
                (name, value)
            } else {
                (format!("{namespace}{name}"), value)
            }
        })
        .collect()
}

/// Replaces a value (each item of an array) by its keyed hash. Without a key — which
/// `Tracker::build` refuses for such a catalog — the value is withheld (`false`), never sent raw.
fn pseudonymize_value(pseudonymizer: Option<&Pseudonymizer>, value: &mut Value) -> bool {
    let Some(pseudonymizer) = pseudonymizer else { return false };
    match value {
        Value::Null => {}
        Value::String(text) => *text = pseudonymizer.pseudonymize(text),
        Value::Array(items) => {
            for item in items {
                pseudonymize_value(Some(pseudonymizer), item);
            }
        }
        other => *other = Value::String(pseudonymizer.pseudonymize(&other.to_string())),
    }
    true
}

/// Whether a declared property's value is free text for the scrub: a string property with
/// privacy `none` that no `fill` provides.
fn is_free_text(property: &Property) -> bool {
    use tally_catalog::model::PropertyType as T;
    property.privacy == Privacy::None
        && matches!(property.ty.as_ref(), T::String | T::Array | T::Object)
        && property.fill.is_none()
}

fn comes_from_outside(fill: &Fill) -> bool {
    !matches!(
        fill,
        Fill::EventId
            | Fill::EventName
            | Fill::Timestamp
            | Fill::CatalogVersion
            | Fill::DurationMs
            | Fill::DurationSecs
    )
}

fn library_properties(properties: &mut Map<String, Value>) {
    properties.insert("$lib".into(), Value::String("tally".into()));
    properties.insert("$lib_version".into(), Value::String(env!("CARGO_PKG_VERSION").into()));
    properties.insert("$geoip_disable".into(), Value::Bool(true));
}

/// A UUID v7 for the event's emit time. Generated once, on the worker, and kept in the wire
/// event, so every retry carries the same id and PostHog deduplicates.
fn new_event_id(at: SystemTime) -> Uuid {
    let since_epoch = at.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let timestamp = uuid::Timestamp::from_unix(uuid::NoContext, since_epoch.as_secs(), since_epoch.subsec_nanos());
    Uuid::new_v7(timestamp)
}

fn timestamp(at: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(at).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// At most one warning per second, so a bad deploy does not flood the logs.
fn warn_rate_limited(violations: &Violations) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = chrono::Utc::now().timestamp() as u64;
    if LAST.swap(now, Ordering::Relaxed) != now {
        tracing::warn!(target: "tally::pipeline", "{violations}");
    }
}
