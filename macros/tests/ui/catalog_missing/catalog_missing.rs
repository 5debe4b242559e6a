// TALLY_CATALOG names a file that does not exist.
#[tally::track_event("project.deleted", project_id = id)]
fn remove(id: &str) {}

fn main() {
    remove("p-1");
}
