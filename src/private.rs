//! What `#[track_event]` and `track!` expansions call besides [`crate::convert`] and
//! [`crate::outcome`]. Not a public API: names and signatures change without notice.

pub use std::time::Instant;
/// What property conversions produce (literal text is not copied, short text is inline).
pub use tally_runtime::PropertyValue as Value;
pub use tally_runtime::routing::is_active;
pub use tally_runtime::{DistinctId, Event};

/// Hands an event to the current tracker. A refusal is counted by the runtime; the annotated
/// function is never affected by it.
#[inline]
pub fn emit(event: Event) {
    let _ = tally_runtime::routing::emit(event);
}

/// `None` for a nullable property becomes `null`.
#[inline]
pub fn or_null(value: Option<Value>) -> Value {
    value.unwrap_or(Value::Null)
}
