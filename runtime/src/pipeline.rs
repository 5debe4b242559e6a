//! The processing of one event, off the request path, as stages over the compiled plan:
//! validate → fill → privacy → identity → serialize (through the last gate). It runs on the
//! worker (or inline, in strict mode, so the caller sees errors). Each stage is a function
//! in a module of its own under `stages/`; this file only runs them in order and counts.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use tally_catalog::Catalog;
use uuid::Uuid;

use crate::clock::Anchor;
use crate::config::Config;
use crate::context::Context;
use crate::counters::Counters;
use crate::event::{Event, Special};
use crate::identity::Identity;
use crate::plan::Plan;
use crate::privacy::Pseudonymizer;
use crate::sink::{WireEvent, WireName, WireProperties};
use crate::stages::identity::{Identities, Refusal};
use crate::stages::{Draft, fill, identity, privacy, serialize, validate};
use crate::validate::{ValidationMode, Violation, Violations};
use crate::value::PropertyValue;

/// Why the pipeline did not produce an event.
#[derive(Debug)]
pub(crate) enum Rejection {
    Invalid(Violations),
    NoIdentity,
}

/// Everything processing needs, shared by the worker and strict-mode callers.
pub(crate) struct Pipeline {
    plan: Plan,
    config: Config,
    mode: ValidationMode,
    pseudonymizer: Option<Pseudonymizer>,
    process_identity: Identity,
    counters: Arc<Counters>,
    /// Groups already announced with `$groupidentify` in this process.
    groups_seen: Mutex<HashSet<(String, String)>>,
    /// The second of the last warning (rate limit).
    last_warning: AtomicU64,
}

/// The context of events emitted outside any (made once: an empty context allocates).
static NO_CONTEXT: std::sync::LazyLock<Context> = std::sync::LazyLock::new(Context::default);

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
        let plan = Plan::compile(catalog);
        Self {
            plan,
            config,
            mode,
            pseudonymizer,
            process_identity,
            counters,
            groups_seen: Mutex::default(),
            last_warning: AtomicU64::new(0),
        }
    }

    pub(crate) fn catalog(&self) -> &Catalog {
        self.plan.catalog()
    }

    pub(crate) fn plan(&self) -> &Plan {
        &self.plan
    }

    /// One event in, its wire events pushed onto `out` (the event, then a `$groupidentify` for
    /// a new group); nothing when it is rejected. `anchor` dates the event. Rejections are
    /// counted here.
    /// The event is taken by reference: it stays where the queue put it (a move copies its
    /// few hundred bytes), and only its properties are taken out.
    pub(crate) fn process(
        &self,
        event: &mut Event,
        anchor: &Anchor,
        out: &mut Vec<WireEvent>,
    ) -> Result<(), Rejection> {
        // Converted to a date once: the event id, the wire timestamp and fills all use it.
        let at = DateTime::<Utc>::from(anchor.wall_time(event.stamp));
        let result = match event.take_special() {
            Some(Special::Identify { anonymous, identity }) => self.identify(at, &anonymous, &identity, out),
            None => self.catalog_event(event, at, out),
        };
        match &result {
            Err(Rejection::Invalid(violations)) => {
                Counters::add(&self.counters.dropped_invalid, 1);
                self.warn_rate_limited(violations);
            }
            Err(Rejection::NoIdentity) => Counters::add(&self.counters.dropped_no_identity, 1),
            Ok(_) => {}
        }
        result
    }

    fn catalog_event(&self, event: &mut Event, at: DateTime<Utc>, out: &mut Vec<WireEvent>) -> Result<(), Rejection> {
        let Some(plan) = self.plan.event(&event.name) else {
            let catalog = self.plan.catalog();
            let violation = Violation::UnknownEvent {
                event: crate::gate::name(&event.name),
                suggestion: catalog.closest_event(&event.name).map(str::to_owned),
            };
            return Err(self.invalid(&crate::gate::name(&event.name), vec![violation]));
        };
        let context: &Context = event.context.as_deref().unwrap_or_else(|| &*NO_CONTEXT);
        let mut draft = Draft::new(plan, new_event_id(at), at);
        validate::validate(&mut draft, &mut event.properties, event.coerce_types);
        let sources = fill::Sources {
            plan: &self.plan,
            config: &self.config,
            event,
            context,
            process_identity: &self.process_identity,
            pseudonymizer: self.pseudonymizer.as_ref(),
        };
        fill::fill(&mut draft, &sources);
        privacy::privacy(&mut draft, self.pseudonymizer.as_ref());

        let mut flagged = None;
        if !draft.violations.is_empty() {
            let violations = std::mem::take(&mut draft.violations);
            match self.mode {
                ValidationMode::Strict | ValidationMode::Drop => return Err(self.invalid(&plan.name, violations)),
                ValidationMode::Flag => {
                    // The invalid values are gone from their slots: the event goes without them.
                    Counters::add(&self.counters.violations, violations.len() as u64);
                    flagged = Some(violations);
                }
            }
        }

        let identities = self.identities(context);
        let resolved = identity::identity(plan.keyed_by, event.distinct_id(), draft.id, &identities)
            .map_err(|refusal| self.refused(&plan.name, refusal))?;
        let mut links = Vec::new();
        for (kind, wire_name) in &self.plan.kinds[plan.keyed_by].links {
            // A linked id that may not be sent is left out; the event itself is fine.
            if let Ok(Some(id)) = identity::distinct_id_of(*kind, &identities) {
                links.push((&**wire_name, id));
            }
        }
        let extra = serialize::Extra { context, links, flagged };
        let serialized = serialize::serialize(&mut draft, resolved, extra)
            .map_err(|violation| self.invalid(&plan.name, vec![violation]))?;
        Counters::add(&self.counters.redacted, serialized.redacted as u64);
        let announcements = self.group_identifies(&serialized.groups, &serialized.wire.distinct_id, at);
        out.push(serialized.wire);
        out.extend(announcements);
        Ok(())
    }

    fn identities<'a>(&'a self, context: &'a Context) -> Identities<'a> {
        Identities {
            plan: &self.plan,
            context,
            process_identity: &self.process_identity,
            pseudonymizer: self.pseudonymizer.as_ref(),
        }
    }

    /// Refuses an event a front end posted that the catalog does not let a client send: counted
    /// here with the pipeline's other rejections (`dropped_invalid`, `violations`). The name,
    /// client-sent, goes through the gate before it names the event in the error.
    pub(crate) fn refuse_client_event(&self, name: &str) -> Violations {
        let name = crate::gate::name(name);
        let violation = Violation::NotAClientEvent(name.clone());
        Counters::add(&self.counters.dropped_invalid, 1);
        Counters::add(&self.counters.violations, 1);
        Violations { event: name, violations: vec![violation] }
    }

    /// A rejection for breaking the catalog, its violations counted.
    fn invalid(&self, event: &str, violations: Vec<Violation>) -> Rejection {
        Counters::add(&self.counters.violations, violations.len() as u64);
        Rejection::Invalid(Violations { event: event.to_owned(), violations })
    }

    fn refused(&self, event: &str, refusal: Refusal) -> Rejection {
        match refusal {
            Refusal::NoIdentity => Rejection::NoIdentity,
            Refusal::Invalid(violation) => self.invalid(event, vec![violation]),
        }
    }

    /// `$identify`: the known person absorbs the anonymous one.
    fn identify(
        &self,
        at: DateTime<Utc>,
        anonymous: &str,
        identity: &Identity,
        out: &mut Vec<WireEvent>,
    ) -> Result<(), Rejection> {
        let context = Context::new().with_identity(identity.clone());
        let identities = self.identities(&context);
        let refused = |refusal| self.refused("$identify", refusal);
        let Some(distinct_id) = identity::distinct_id_of(self.plan.person, &identities).map_err(refused)? else {
            return Err(Rejection::NoIdentity);
        };
        let anonymous = identity::anonymous_id(anonymous).map_err(refused)?;
        let mut properties = WireProperties::with_capacity(4);
        properties.push_new(WireName::new_static("$anon_distinct_id"), PropertyValue::from(anonymous.into_string()));
        serialize::library_properties(&mut properties);
        out.push(WireEvent {
            uuid: new_event_id(at),
            event: "$identify".into(),
            distinct_id: distinct_id.into_string(),
            timestamp: at,
            properties,
        });
        Ok(())
    }

    /// `$groupidentify` for groups this process has not announced yet.
    fn group_identifies(&self, groups: &[(String, String)], distinct_id: &str, at: DateTime<Utc>) -> Vec<WireEvent> {
        if groups.is_empty() {
            return Vec::new();
        }
        let mut seen = crate::lock(&self.groups_seen);
        let mut out = Vec::new();
        for (group_type, key) in groups {
            if seen.len() >= MAX_GROUPS_SEEN {
                seen.clear();
            }
            if seen.insert((group_type.clone(), key.clone())) {
                let mut properties = WireProperties::with_capacity(6);
                properties.push_new(WireName::new_static("$group_type"), PropertyValue::text(group_type));
                properties.push_new(WireName::new_static("$group_key"), PropertyValue::text(key));
                properties.push_new(WireName::new_static("$group_set"), Value::Object(Map::new()).into());
                serialize::library_properties(&mut properties);
                Counters::add(&self.counters.announced, 1);
                out.push(WireEvent {
                    uuid: new_event_id(at),
                    event: "$groupidentify".into(),
                    distinct_id: distinct_id.to_owned(),
                    timestamp: at,
                    properties,
                });
            }
        }
        out
    }
}

/// A UUID v7 for the event's emit time. Generated once, on the worker, and kept in the wire
/// event, so every retry carries the same id and PostHog deduplicates.
fn new_event_id(at: DateTime<Utc>) -> Uuid {
    // Before 1970 (a clock gone wrong): the epoch, as `duration_since` gave before.
    let seconds = u64::try_from(at.timestamp()).unwrap_or_default();
    let timestamp = uuid::Timestamp::from_unix(uuid::NoContext, seconds, at.timestamp_subsec_nanos());
    Uuid::new_v7(timestamp)
}

impl Pipeline {
    /// At most one warning per second and tracker, so a bad deploy does not flood the logs.
    /// The text names events, properties, identity kinds and rules, never values.
    fn warn_rate_limited(&self, violations: &Violations) {
        let now = chrono::Utc::now().timestamp() as u64;
        if self.last_warning.swap(now, Ordering::Relaxed) != now {
            tracing::warn!(target: "tally::pipeline", "{violations}");
        }
    }
}
