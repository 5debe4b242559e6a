#[tally::track_event("project.creatd", project_id = id, has_client = false)]
fn create(id: &str) {}

fn main() {}
