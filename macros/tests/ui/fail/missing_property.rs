// `user_id` is filled from the identity; `project_id` and `has_client` must be given.
#[tally::track_event("project.created", project_id = id)]
fn create(id: &str) {}

fn main() {}
