#[tally::track_event]
fn no_arguments() {}

#[tally::track_event(project.deleted, project_id = "p-1")]
fn not_a_literal() {}

#[tally::track_event("project.deleted" project_id = "p-1")]
fn missing_comma() {}

#[tally::track_event("project.deleted", project_id = )]
fn missing_value() {}

fn main() {}
