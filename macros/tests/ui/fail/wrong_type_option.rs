// `project_id` is required and not nullable: an `Option` does not fit.
#[tally::track_event("project.deleted", project_id = id)]
fn remove(id: Option<String>) {}

// An array of integers is not an array of strings.
#[tally::track_event("report.generated",
    report_id = "0191d2c4-0b7e-7a3c-9d4e-2f1a6b8c9d0e", title = "Q3", pages = 1, score = 1.0,
    public = true, generated_at = "2025-10-20T12:00:00Z", format = "pdf", tags = vec![1, 2],
    sizes = vec![1], options = serde_json::json!({}), template = None::<String>)]
fn render() {}

fn main() {}
