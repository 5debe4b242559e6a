#[tally::track_event("project.deleted", project_id = "p-1")]
struct Project;

trait Store {
    #[tally::track_event("project.deleted", project_id = "p-1")]
    fn remove(&self);
}

fn main() {}
