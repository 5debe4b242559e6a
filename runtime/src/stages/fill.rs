//! Fill: declared properties the emitter did not give, from the catalog's `fill` sources
//! (tally's own ids and times, the configuration, the request context, the event's facts).
//! Values from outside are checked like given ones; all pass the last gate like given ones.

use tally_catalog::model::{Fill, Privacy, PropertyType};

use super::Draft;
use crate::config::Config;
use crate::context::Context;
use crate::event::{Event, Fact};
use crate::identity::Identity;
use crate::plan::Plan;
use crate::privacy::Pseudonymizer;
use crate::user_agent;
use crate::validate::Violation;
use crate::value::PropertyValue;

/// What fills draw from.
pub(crate) struct Sources<'a> {
    pub(crate) plan: &'a Plan,
    pub(crate) config: &'a Config,
    pub(crate) event: &'a Event,
    pub(crate) context: &'a Context,
    pub(crate) process_identity: &'a Identity,
    pub(crate) pseudonymizer: Option<&'a Pseudonymizer>,
}

/// Fills the empty slots that have a source, and reports required properties still missing.
pub(crate) fn fill(draft: &mut Draft<'_>, sources: &Sources<'_>) {
    let plan = draft.plan;
    for (index, property) in plan.properties.iter().enumerate() {
        let settled = draft.slots[index].is_some() || draft.rejected[index];
        if settled || (property.fill.is_none() && !property.required) {
            continue;
        }
        let value = property.fill.as_ref().and_then(|fill| source(fill, index, draft, sources));
        let value = match value {
            Some(value) if property.fill_from_outside => super::validate::check(property, value, &mut draft.violations),
            other => other,
        };
        match value {
            Some(value) => draft.slots[index] = Some(value),
            None if property.required => draft.violations.push(Violation::MissingProperty(property.name.to_string())),
            None => {}
        }
    }
}

/// The session duration fact, in seconds (a negative or non-finite one is no duration).
fn session_secs(event: &Event) -> Option<f64> {
    match event.fact(Fact::SessionDuration)? {
        PropertyValue::Float(secs) if secs.is_finite() && *secs >= 0.0 => Some(*secs),
        PropertyValue::UInt(secs) => Some(*secs as f64),
        _ => None,
    }
}

fn source(fill: &Fill, index: usize, draft: &Draft<'_>, sources: &Sources<'_>) -> Option<PropertyValue> {
    let text = |s: Option<&str>| s.map(PropertyValue::text);
    let Sources { config, event, context, .. } = sources;
    let request = context.request_info();
    let fact = |fact| event.fact(fact).cloned();
    match fill {
        Fill::EventId => Some(PropertyValue::from(draft.id.to_string())),
        Fill::EventName => text(Some(&draft.plan.wire_name)),
        Fill::Timestamp => Some(PropertyValue::from(super::serialize::timestamp(draft.at))),
        Fill::CatalogVersion => text(Some(sources.plan.catalog().version())),
        Fill::Environment => text(config.environment.as_deref()),
        Fill::Release => text(config.release.as_deref()),
        Fill::Service => text(config.service.as_deref()),
        Fill::RequestId => text(context.request_id()),
        Fill::SessionId => text(context.session_id()),
        Fill::DurationMs => event.duration().map(|d| PropertyValue::UInt(d.as_millis() as u64)),
        Fill::DurationSecs => event.duration().map(|d| PropertyValue::Float(d.as_secs_f64())),
        Fill::Method => text(request.method.as_deref()),
        Fill::Route => text(request.route.as_deref()),
        Fill::UserAgent => text(request.user_agent.as_deref()),
        Fill::ClientIp => request.client_ip.map(|ip| PropertyValue::from(ip.to_string())),
        Fill::Status => fact(Fact::Status),
        Fill::RequestSize => fact(Fact::RequestSize),
        Fill::ResponseSize => fact(Fact::ResponseSize),
        Fill::ErrorType => fact(Fact::ErrorType),
        Fill::ErrorMessage => fact(Fact::ErrorMessage),
        Fill::FailureReason => fact(Fact::FailureReason),
        Fill::LoginMethod => fact(Fact::LoginMethod),
        Fill::Success => fact(Fact::Success),
        Fill::Username => fact(Fact::Username),
        Fill::LastActivity => fact(Fact::LastActivity),
        Fill::LogoutReason => fact(Fact::LogoutReason),
        Fill::SessionDurationSecs => {
            let secs = session_secs(event)?;
            Some(match draft.plan.properties[index].ty {
                PropertyType::Integer => PropertyValue::UInt(secs as u64),
                _ => PropertyValue::Float(secs),
            })
        }
        Fill::SessionDurationMins => session_secs(event).map(|secs| PropertyValue::Float(secs / 60.0)),
        Fill::DeviceType => request.user_agent.as_deref().and_then(user_agent::device_type).map(PropertyValue::from),
        Fill::Browser => request.user_agent.as_deref().and_then(user_agent::browser).map(PropertyValue::from),
        Fill::Category => text(draft.plan.category.as_deref()),
        Fill::Surface => text(config.surface.as_deref()),
        Fill::Identity(kind) => {
            let property = &draft.plan.properties[index];
            let raw = context.identity().get(kind).or_else(|| sources.process_identity.get(kind))?;
            // A pseudonymized identity stays pseudonymized wherever it is copied to, unless
            // the property hashes it itself (once is enough).
            let hashed_by_kind = property.fill_kind.is_some_and(|k| sources.plan.kinds[k].pseudonymize)
                && property.privacy != Privacy::Pseudonymize;
            match (sources.pseudonymizer, hashed_by_kind) {
                (Some(p), true) => Some(PropertyValue::from(p.pseudonymize(raw))),
                (None, true) => None,
                (_, false) => text(Some(raw)),
            }
        }
        Fill::Group(group_type) => text(context.group_key(group_type)),
        Fill::Context => context.property(&draft.plan.properties[index].name).cloned().map(PropertyValue::from),
        // A fill source newer than this runtime: no value (a required property is then counted
        // as missing).
        _ => None,
    }
}
