//! The pipeline's stages, one function per module, in the order they run:
//! [`validate`] → [`fill`] → [`privacy`] → [`identity`] → [`serialize`] (which writes every
//! string through [`crate::gate`], the last gate).
//!
//! They work over one value type ([`PropertyValue`]) in a [`Draft`]: one slot per property of
//! the event's compiled table ([`crate::plan::EventPlan`]), so no stage looks a name up in a map.

use std::time::SystemTime;

use smallvec::SmallVec;
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
    /// One per property of `plan.properties`, same order (inline for most events: the draft
    /// allocates nothing of its own).
    pub(crate) slots: SmallVec<[Option<PropertyValue>; INLINE_SLOTS]>,
    /// Slots whose value broke the catalog and was removed (not to be filled nor missed).
    pub(crate) rejected: SmallVec<[bool; INLINE_SLOTS]>,
    pub(crate) violations: Vec<Violation>,
    pub(crate) id: Uuid,
    pub(crate) at: SystemTime,
}

/// Properties of an event (common ones included) the draft holds without allocating.
const INLINE_SLOTS: usize = 16;

impl<'p> Draft<'p> {
    pub(crate) fn new(plan: &'p EventPlan, id: Uuid, at: SystemTime) -> Self {
        let count = plan.properties.len();
        let mut slots = SmallVec::with_capacity(count);
        slots.resize_with(count, || None);
        Draft { plan, slots, rejected: SmallVec::from_elem(false, count), violations: Vec::new(), id, at }
    }
}
