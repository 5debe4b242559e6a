//! Methods in `impl` blocks: `&self`, `&mut self`, `self`, async methods, associated
//! functions, trait impls and a trait's default method.

pub struct Store {
    projects: Vec<String>,
}

impl Store {
    #[tally::track_event("project.created", project_id = ret, has_client = self.projects.is_empty())]
    pub fn add(&mut self, name: &str) -> String {
        let id = format!("p-{}", self.projects.len());
        self.projects.push(name.to_owned());
        id
    }

    #[tally::track_event("project.deleted", project_id = ret.as_str())]
    pub fn first(&self) -> &String {
        &self.projects[0]
    }

    #[tally::track_event("export.finished", rows = self.projects.len())]
    pub fn into_names(self) -> Vec<String> {
        self.projects
    }

    #[tally::track_event("project.deleted", project_id = id)]
    pub async fn remove(&mut self, id: &str) -> Option<String> {
        let at = self.projects.iter().position(|p| p == id)?;
        Some(self.projects.remove(at))
    }

    #[tally::track_event("export.finished", rows = 0)]
    pub fn new() -> Self {
        Store { projects: Vec::new() }
    }
}

pub trait Exporter {
    fn rows(&self) -> usize;

    #[tally::track_event("export.finished", rows = self.rows())]
    fn export(&self) {}
}

impl Exporter for Store {
    #[tally::track_event("export.finished", rows = ret)]
    fn rows(&self) -> usize {
        self.projects.len()
    }
}

fn main() {
    let mut store = Store::new();
    assert_eq!(store.add("apollo"), "p-0");
    assert_eq!(store.first(), "apollo");
    store.export();
    let _ = store.remove("apollo");
    assert_eq!(store.into_names().len(), 1);
}
