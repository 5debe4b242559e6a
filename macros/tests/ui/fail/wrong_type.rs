pub struct Project {
    pub id: u64,
}

#[tally::track_event("project.created", project_id = ret.id, has_client = client.len())]
fn create(client: &str) -> Project {
    Project { id: 7 }
}

fn main() {}
