#[tally::track_event("export.finished", rows = ret, on_err("auth.login_failed", method = "sso", reason = "x"))]
fn export() -> u32 {
    3
}

fn main() {}
