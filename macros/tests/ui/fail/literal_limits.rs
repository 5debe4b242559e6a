// `title` is declared `non_empty` with `max_length = 40`.
#[tally::track_event("report.generated",
    report_id = "0191d2c4-0b7e-7a3c-9d4e-2f1a6b8c9d0e", title = "", pages = 1, score = 1.0,
    public = true, generated_at = "2025-10-20T12:00:00Z", format = "pdf", tags = [""; 0],
    sizes = [1], options = serde_json::json!({}), template = None::<String>)]
fn render() {}

#[tally::track_event("report.generated",
    report_id = "0191d2c4-0b7e-7a3c-9d4e-2f1a6b8c9d0e",
    title = "A title far longer than the forty characters allowed", pages = 1, score = 1.0,
    public = true, generated_at = "2025-10-20T12:00:00Z", format = "pdf", tags = [""; 0],
    sizes = [1], options = serde_json::json!({}), template = None::<String>)]
fn render_too() {}

fn main() {}
