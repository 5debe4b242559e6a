// `reason` is declared with `fill = "failure_reason"`, which only the middleware knows.
#[tally::track_event("auth.login", method = "sso", on_err("auth.login_failed", method = "sso"))]
fn login() -> Result<(), String> {
    Ok(())
}

fn main() {}
