#[tally::track_event("project.deleted", project_id = id, when = id.len(), when = true)]
fn remove(id: &str) {}

#[tally::track_event("project.deleted", project_id = id, when = id.len(), distinct_id = 42)]
fn remove_too(id: &str) {}

fn main() {}
