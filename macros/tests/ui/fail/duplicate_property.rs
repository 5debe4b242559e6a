#[tally::track_event("project.deleted", project_id = id, project_id = "again")]
fn remove(id: &str) {}

fn main() {}
