//! Sync functions: a value, a `Result`, `()`, `when`, `distinct_id`, and `track!`.

pub struct Project {
    pub id: String,
}

pub struct NewProject {
    pub name: String,
    pub client_id: Option<u64>,
}

#[tally::track_event("project.created", project_id = ret.id, has_client = req.client_id.is_some())]
pub fn create(req: NewProject) -> Project {
    Project { id: format!("p-{}", req.name) }
}

#[tally::track_event("project.created", project_id = ret.id.as_str(), has_client = false)]
pub fn create_fallible(name: &str) -> Result<Project, String> {
    if name.is_empty() {
        return Err("empty name".to_owned());
    }
    let id = name.parse::<u32>().map_err(|error| error.to_string())?;
    Ok(Project { id: id.to_string() })
}

#[tally::track_event("project.deleted", project_id = id, when = !id.is_empty(), distinct_id = owner)]
pub fn delete(id: &str, owner: &str) {
    let _ = (id, owner);
}

pub fn export(rows: &[u32]) {
    tally::track!("export.finished", rows = rows.len(), formats = ["csv", "json"]);
    tally::track!("export.finished", rows = 0_u8, when = rows.is_empty());
}

fn main() {
    let project = create(NewProject { name: "apollo".to_owned(), client_id: None });
    assert_eq!(project.id, "p-apollo");
    assert!(create_fallible("").is_err());
    assert_eq!(create_fallible("7").map(|p| p.id), Ok("7".to_owned()));
    delete("p-1", "u-1");
    export(&[1, 2]);
}
