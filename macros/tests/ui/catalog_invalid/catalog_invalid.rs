// TALLY_CATALOG names a catalog with a typo in a property type.
#[tally::track_event("project.created", project_id = id)]
fn create(id: &str) {}

fn main() {
    tally::track!("project.created", project_id = "p-1");
}
