// A key without a value, and `on_err` written with `=`.
#[tally::track_event("project.deleted", project_id)]
fn remove(project_id: &str) {}

#[tally::track_event("project.deleted", project_id = id, on_err = "auth.login_failed")]
fn remove_too(id: &str) {}

fn main() {}
