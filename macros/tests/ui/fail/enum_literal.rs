#[tally::track_event("auth.login", method = "passwrd")]
fn login() {}

fn export() {
    tally::track!("export.finished", rows = 1, formats = ["csv", "xml"]);
}

fn main() {}
