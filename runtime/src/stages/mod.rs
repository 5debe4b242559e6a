//! The pipeline's stages, one function per module, in the order they run:
//! [`validate`] → [`fill`] → [`privacy`] → [`identity`] → [`serialize`] (which writes every
//! string through [`crate::gate`], the last gate).
//!
//! They work over one value type ([`PropertyValue`]) in a [`Draft`]: one slot per property of
//! the event's compiled table ([`crate::plan::EventPlan`]), so no stage looks a name up in a map.

use chrono::{DateTime, Utc};
use std::cell::Cell;

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
    pub(crate) at: DateTime<Utc>,
}

thread_local! {
    /// The last draft's buffers, emptied, for the next one on this thread (the worker's, or a
    /// strict-mode caller's): a draft allocates nothing once the thread has made one.
    static SPARE_SLOTS: Cell<Vec<Option<PropertyValue>>> = const { Cell::new(Vec::new()) };
    static SPARE_REJECTED: Cell<Vec<bool>> = const { Cell::new(Vec::new()) };
}

impl<'p> Draft<'p> {
    pub(crate) fn new(plan: &'p EventPlan, id: Uuid, at: DateTime<Utc>) -> Self {
        let count = plan.properties.len();
        let mut slots = SPARE_SLOTS.take();
        slots.resize_with(count, || None);
        let mut rejected = SPARE_REJECTED.take();
        rejected.resize(count, false);
        Draft { plan, slots, rejected, violations: Vec::new(), id, at }
    }
}

impl Drop for Draft<'_> {
    fn drop(&mut self) {
        let mut slots = std::mem::take(&mut self.slots);
        slots.clear();
        SPARE_SLOTS.set(slots);
        let mut rejected = std::mem::take(&mut self.rejected);
        rejected.clear();
        SPARE_REJECTED.set(rejected);
    }
}
