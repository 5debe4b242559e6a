#[tally::track_event("project.deleted", project_id = ret)]
fn remove(id: &str) {}

fn main() {}
