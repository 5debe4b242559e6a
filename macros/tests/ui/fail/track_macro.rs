// `track!` has the same checks; `on_err` is only for functions.
fn body(rows: u32) {
    tally::track!("export.finishd", rows = rows);
    tally::track!("export.finished", rows = "many");
    tally::track!("export.finished", rows = rows, on_err("auth.login_failed"));
    // `report.generated` declares a measured duration, which `track!` cannot measure.
    tally::track!("report.generated",
        report_id = "0191d2c4-0b7e-7a3c-9d4e-2f1a6b8c9d0e", title = "Q3", pages = 1, score = 1.0,
        public = true, generated_at = "2025-10-20T12:00:00Z", format = "pdf", tags = [""; 0],
        sizes = [1], options = serde_json::json!({}));
}

fn main() {}
