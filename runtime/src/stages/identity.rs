//! Identity: the event's `distinct_id` from the catalog's strategy and the context, and the
//! linked kinds' ids for `$set`. An identifier is never scrubbed into a placeholder (that
//! would merge people): one that looks personal is pseudonymized where the catalog says so,
//! otherwise the event is refused. PostHog's input rules are applied here, per event, before
//! batching, so a bad id costs its own event and never a batch.

use tally_catalog::model::OnMissing;
use uuid::Uuid;

use crate::context::Context;
use crate::identity::{DistinctId, Identity};
use crate::plan::{KindPlan, Plan};
use crate::privacy::Pseudonymizer;
use crate::validate::Violation;

/// The event's identity, resolved.
pub(crate) struct Resolved {
    pub(crate) distinct_id: DistinctId,
    /// Sent with `$process_person_profile: false`.
    pub(crate) personless: bool,
}

/// Why no `distinct_id` came out.
pub(crate) enum Refusal {
    /// None is known and the catalog drops such events.
    NoIdentity,
    /// One is known but may not be sent.
    Invalid(Violation),
}

/// What identities are drawn from.
pub(crate) struct Identities<'a> {
    pub(crate) plan: &'a Plan,
    pub(crate) context: &'a Context,
    pub(crate) process_identity: &'a Identity,
    pub(crate) pseudonymizer: Option<&'a Pseudonymizer>,
}

/// The `distinct_id` of an event keyed by kind `keyed_by` (`explicit`: set on the event).
/// An event sent personless without an anonymous id goes under its own id (`event_id`, a
/// UUID v7 drawn for it, as posthog-rs's `Event::new_anon` does): a random id per event
/// without drawing another one.
pub(crate) fn identity(
    keyed_by: usize,
    explicit: Option<&DistinctId>,
    event_id: Uuid,
    from: &Identities<'_>,
) -> Result<Resolved, Refusal> {
    if let Some(explicit) = explicit {
        let id = checked("explicit", explicit.as_str())?;
        return Ok(Resolved { distinct_id: id, personless: false });
    }
    if let Some(id) = distinct_id_of(keyed_by, from)? {
        return Ok(Resolved { distinct_id: id, personless: false });
    }
    let anonymous = match from.context.identity().get(Identity::ANONYMOUS) {
        Some(raw) if !raw.is_empty() => Some(anonymous_id(raw)?),
        _ => None,
    };
    match (from.plan.on_missing, anonymous) {
        (OnMissing::Anonymous, Some(anonymous)) => Ok(Resolved { distinct_id: anonymous, personless: false }),
        (OnMissing::Personless, Some(anonymous)) => Ok(Resolved { distinct_id: anonymous, personless: true }),
        (OnMissing::Anonymous | OnMissing::Personless, None) => {
            let mut text = Uuid::encode_buffer();
            let text = event_id.hyphenated().encode_lower(&mut text);
            Ok(Resolved { distinct_id: DistinctId::new(&*text), personless: true })
        }
        // `drop`, and a policy newer than this runtime: no event rather than a wrong person.
        _ => Err(Refusal::NoIdentity),
    }
}

/// The formatted, pseudonymized `distinct_id` of kind `kind`: `None` when its value is not
/// known, an error when it is known but may not be sent.
pub(crate) fn distinct_id_of(kind: usize, from: &Identities<'_>) -> Result<Option<DistinctId>, Refusal> {
    let def: &KindPlan = &from.plan.kinds[kind];
    let Some(raw) = from.context.identity().get(&def.name).or_else(|| from.process_identity.get(&def.name)) else {
        return Ok(None);
    };
    if raw.is_empty() {
        return Ok(None);
    }
    let value = match (from.pseudonymizer, def.pseudonymize) {
        (Some(p), true) => p.pseudonymize(raw),
        // `Tracker::build` refuses a catalog that pseudonymizes without a key.
        (None, true) => return Ok(None),
        (_, false) => {
            if let Some(rule) = crate::gate::looks_personal(raw) {
                return Err(Refusal::Invalid(Violation::PersonalIdentifier { kind: def.name.to_string(), rule }));
            }
            raw.to_owned()
        }
    };
    let formatted = match &def.format {
        Some((before, after)) => [before, value.as_str(), after].concat(),
        None => value,
    };
    checked(&def.name, &formatted).map(Some)
}

/// An anonymous id (a client's, for `$identify` or events without a known person): refused
/// when it looks personal or breaks PostHog's rules.
pub(crate) fn anonymous_id(raw: &str) -> Result<DistinctId, Refusal> {
    if let Some(rule) = crate::gate::looks_personal(raw) {
        return Err(Refusal::Invalid(Violation::PersonalIdentifier { kind: Identity::ANONYMOUS.to_owned(), rule }));
    }
    checked(Identity::ANONYMOUS, raw)
}

/// `id` when PostHog takes it as a person's id: not blank, at most 200 characters, not on
/// PostHog's list of ids it refuses to merge.
fn checked(kind: &str, id: &str) -> Result<DistinctId, Refusal> {
    match posthog_rule(id) {
        None => Ok(DistinctId::new(id)),
        Some(rule) => Err(Refusal::Invalid(Violation::InvalidDistinctId { kind: kind.to_owned(), rule })),
    }
}

/// The PostHog input rule `id` breaks, if any (`empty`, `blank`, `too_long`, `illegal`).
pub(crate) fn posthog_rule(id: &str) -> Option<&'static str> {
    crate::posthog_rules::check_distinct_id(id).err().map(|problem| problem.as_str())
}
