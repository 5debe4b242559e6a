// `err` belongs to `on_err(…)`, `ret` to the success event.
#[tally::track_event("auth.login", method = err.method(), on_err("auth.login_failed", method = "sso", reason = ret.clone()))]
fn login() -> Result<String, String> {
    Ok(String::new())
}

fn main() {}
