#![deny(deprecated)]

#[tally::track_event("project.removed", project_id = id)]
fn remove(id: &str) {}

fn main() {}
