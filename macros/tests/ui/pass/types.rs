//! Every catalog type with the Rust values it takes, `Option` for nullable and optional
//! properties, arrays from slices, arrays, vectors and sets, raw identifiers and a measured
//! duration.

use std::collections::BTreeSet;
use std::time::SystemTime;

#[tally::track_event(
    "report.generated",
    report_id = "0191d2c4-0b7e-7a3c-9d4e-2f1a6b8c9d0e",
    title = title,
    pages = ret,
    score = 0.5_f32,
    public = false,
    generated_at = SystemTime::now(),
    format = "pdf",
    tags = tags,
    sizes = [1_u8, 2, 3],
    options = serde_json::json!({ "dpi": 300 }),
    template = template.as_deref(),
    theme = None::<String>,
)]
pub fn render(title: &str, tags: &BTreeSet<String>, template: Option<String>) -> u64 {
    let _ = template;
    tags.len() as u64
}

#[tally::track_event(
    "report.generated",
    report_id = String::from("0191d2c4-0b7e-7a3c-9d4e-2f1a6b8c9d0e"),
    title = std::borrow::Cow::Borrowed("Q3"),
    pages = 3_i64,
    score = 2_u32,
    public = true,
    generated_at = "2025-10-20T12:00:00Z",
    format = format,
    tags = vec!["a".to_owned()],
    sizes = &sizes[..],
    options = serde_json::Map::new(),
    template = "classic",
    theme = Some('x'.to_string()),
    duration_ms = 12,
)]
pub fn render_explicit(format: String, sizes: Vec<u64>) {
    let _ = (format, sizes);
}

#[tally::track_event("export.finished", r#rows = 1, formats = None::<Vec<String>>)]
pub fn raw_identifier() {}

fn main() {
    let tags = BTreeSet::from(["q3".to_owned()]);
    assert_eq!(render("Q3", &tags, None), 1);
    render_explicit("csv".to_owned(), vec![1]);
    raw_identifier();
}
