//! The wire event as posthog-rs's `Event`: the one conversion between tally's pipeline and
//! the PostHog client, kept apart from delivery (`posthog.rs`).

use super::WireEvent;

/// posthog-rs's event for a wire event: same id, time, name, `distinct_id` and properties,
/// each value converted once, from the pipeline's own (no intermediate JSON object).
pub(crate) fn to_posthog(event: &WireEvent) -> Result<posthog_rs::Event, posthog_rs::Error> {
    let mut out = posthog_rs::Event::new(event.event.as_str(), event.distinct_id.as_str());
    out.set_uuid(event.uuid);
    out.set_timestamp(event.timestamp)?;
    for (name, value) in event.properties.iter() {
        out.insert_prop(name, value)?;
    }
    // posthog-rs stamps its own version's parts unless they are set; `$lib` and `$lib_version`
    // name tally, so must these.
    out.insert_prop("$lib_version__major", LIB_VERSION.0)?;
    out.insert_prop("$lib_version__minor", LIB_VERSION.1)?;
    out.insert_prop("$lib_version__patch", LIB_VERSION.2)?;
    Ok(out)
}

/// tally's version (`$lib_version`) as PostHog's `$lib_version__major`, `__minor`, `__patch`.
const LIB_VERSION: (u64, u64, u64) = (
    version_part(env!("CARGO_PKG_VERSION_MAJOR")),
    version_part(env!("CARGO_PKG_VERSION_MINOR")),
    version_part(env!("CARGO_PKG_VERSION_PATCH")),
);

/// A version number from Cargo's decimal digits, at compile time.
const fn version_part(digits: &str) -> u64 {
    let digits = digits.as_bytes();
    let mut value = 0;
    let mut i = 0;
    while i < digits.len() {
        value = value * 10 + (digits[i] - b'0') as u64;
        i += 1;
    }
    value
}
