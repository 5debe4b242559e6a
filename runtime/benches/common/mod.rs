//! What the runtime's benchmarks share: the catalog and the 5-property event they emit.

use tally_runtime::Event;

/// One event with five properties of four types.
pub(crate) const CATALOG: &str = r#"
[catalog]
name = "bench"
version = "1.0.0"
[identity]
person = "user"
on_missing = "personless"
kinds.user = { description = "The user." }
[events."project.created"]
description = "A project was created."
trigger = "After commit."
properties.project_id = { type = "string", description = "Id." }
properties.project_name = { type = "string", description = "Name." }
properties.has_client = { type = "boolean", description = "Client?" }
properties.member_count = { type = "integer", description = "Members." }
properties.budget = { type = "number", description = "Budget." }
"#;

/// The benchmarks' event, built as posthog-rs's baseline builds its own (`insert_prop` on a
/// local) and as the macros do; `i` varies one property so that no two are alike.
pub(crate) fn five_properties(i: u64) -> Event {
    let mut event = Event::new("project.created");
    event.insert("project_id", "p-42");
    event.insert("project_name", "Apollo");
    event.insert("has_client", true);
    event.insert("member_count", i);
    event.insert("budget", 1250.5);
    event
}

/// The same event through the builder chain (`Event::new(…).with(…)…`), which moves the event
/// at every call.
#[allow(dead_code)] // not every bench target uses it
pub(crate) fn five_properties_chained(i: u64) -> Event {
    Event::new("project.created")
        .with("project_id", "p-42")
        .with("project_name", "Apollo")
        .with("has_client", true)
        .with("member_count", i)
        .with("budget", 1250.5)
}
