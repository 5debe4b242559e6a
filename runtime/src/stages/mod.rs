//! The pipeline's stages, one function per module, in the order they run:
//! [`validate`] → [`fill`] → [`privacy`] → [`identity`] → [`serialize`] (which writes every
//! string through [`crate::gate`], the last gate).
//!
//! They work over one value type ([`PropertyValue`]) in a [`Draft`]: one slot per property of
//! the event's compiled table ([`crate::plan::EventPlan`]), so no stage looks a name up in a map.

use std::time::SystemTime;

use uuid::Uuid;

use crate::plan::EventPlan;
use crate::validate::Violation;
use crate::value::PropertyValue;

pub(crate) mod fill;
pub(crate) mod identity;
pub(crate) mod privacy;
pub(crate) mod serialize;
pub(crate) mod validate;

/// An event between the stages.
pub(crate) struct Draft<'p> {
    pub(crate) plan: &'p EventPlan,
    /// One per property of `plan.properties`, same order.
    pub(crate) slots: Vec<Option<PropertyValue>>,
    /// Slots whose value broke the catalog and was removed (not to be filled nor missed).
    pub(crate) rejected: Vec<bool>,
    pub(crate) violations: Vec<Violation>,
    pub(crate) id: Uuid,
    pub(crate) at: SystemTime,
}

impl<'p> Draft<'p> {
    pub(crate) fn new(plan: &'p EventPlan, id: Uuid, at: SystemTime) -> Self {
        let mut slots = Vec::with_capacity(plan.properties.len());
        slots.resize_with(plan.properties.len(), || None);
        Draft { plan, slots, rejected: vec![false; plan.properties.len()], violations: Vec::new(), id, at }
    }
}
