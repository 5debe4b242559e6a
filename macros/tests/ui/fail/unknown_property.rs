#[tally::track_event("project.created", project_id = id, has_clinet = false)]
fn create(id: &str) {}

fn main() {}
