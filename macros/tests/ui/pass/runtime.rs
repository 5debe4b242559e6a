//! What the expansions emit, checked at run time against a memory sink: values computed at
//! call time and at return, the measured duration, `on_err`, `when`, `distinct_id`, the
//! request context's identity, and no event for an `Err` without `on_err`.

use tally::{Context, Identity, Tracker, sink::MemorySink};

#[derive(Debug)]
pub struct LoginError(&'static str);

#[tally::track_event("auth.login", method = "password", on_err("auth.login_failed", method = "sso", reason = err.0))]
fn login(password: &str) -> Result<String, LoginError> {
    if password == "secret" { Ok("u-1".to_owned()) } else { Err(LoginError("bad_password")) }
}

#[tally::track_event("project.created", project_id = ret, has_client = false)]
fn create(name: &str) -> Result<String, String> {
    if name.is_empty() { Err("empty".to_owned()) } else { Ok(format!("p-{name}")) }
}

#[tally::track_event("project.deleted", project_id = id, when = id != "keep", distinct_id = owner)]
async fn delete(id: String, owner: Option<&str>) {
    drop(id);
}

#[tally::track_event(
    "report.generated",
    report_id = "0191d2c4-0b7e-7a3c-9d4e-2f1a6b8c9d0e",
    title = "Q3",
    pages = ret,
    score = 1.5,
    public = true,
    generated_at = "2025-10-20T12:00:00Z",
    format = "csv",
    tags = ["a", "b"],
    sizes = Vec::<u32>::new(),
    options = serde_json::json!({}),
    template = None::<&str>,
)]
fn render() -> u64 {
    std::thread::yield_now();
    4
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let catalog = tally::catalog::Catalog::from_path(env!("TALLY_CATALOG")).unwrap();
    let sink = MemorySink::new();
    let tracker = Tracker::for_tests(catalog, sink.clone()).unwrap();
    let context = Context::new().with_identity(Identity::user("u-7"));
    runtime.block_on(tracker.clone().scope(context.scope(async {
        assert!(login("secret").is_ok());
        assert!(login("guess").is_err());
        assert!(create("").is_err());
        assert_eq!(create("apollo").unwrap(), "p-apollo");
        delete("p-1".to_owned(), Some("owner-9")).await;
        delete("keep".to_owned(), None).await;
        delete("p-2".to_owned(), None).await;
        assert_eq!(render(), 4);
        tracker.flush().await;
    })));

    sink.assert_emitted("auth.login").with_property("method", "password").for_distinct_id("u-7");
    sink.assert_emitted("auth.login_failed").with_property("reason", "bad_password").with_property("method", "sso");
    assert_eq!(sink.named("project.created").len(), 1, "an Err without on_err emits nothing");
    sink.assert_emitted("project.created").with_property("project_id", "p-apollo").with_property("user_id", "u-7");
    let deleted = sink.named("project.deleted");
    assert_eq!(deleted.len(), 2, "`when` skipped `keep`: {}", sink.summary());
    sink.assert_emitted("project.deleted").with_property("project_id", "p-1").for_distinct_id("owner-9");
    sink.assert_emitted("project.deleted").with_property("project_id", "p-2").for_distinct_id("u-7");
    let report = sink.assert_emitted("report.generated").with_property("pages", 4).with_property("template", serde_json::Value::Null);
    assert!(report.event().property("duration_ms").is_some_and(|ms| ms.as_u64().is_some()), "{}", sink.summary());
    assert!(report.event().property("tags").is_some_and(|tags| *tags == serde_json::json!(["a", "b"])));
    assert_eq!(tracker.counts().dropped_invalid, 0);
}
