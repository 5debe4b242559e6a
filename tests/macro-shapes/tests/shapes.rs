//! When the shapes of `src/shapes.rs` emit: a future's event when it completes, never when it
//! is created; a `Result`'s success event on `Ok` and its failure event on `Err`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use tally::{Context, Identity, Tracker, sink::MemorySink};
use tally_macro_shapes::shapes::{self, Exporter, Projects, Store};

fn tracker() -> (Tracker, MemorySink) {
    let catalog =
        tally::catalog::Catalog::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../../macros/tests/ui/catalog.toml"))
            .unwrap();
    let sink = MemorySink::new();
    (Tracker::for_tests(catalog, sink.clone()).unwrap(), sink)
}

/// The events delivered so far, as `(name, rows or project_id)`, then forgotten.
async fn take(tracker: &Tracker, sink: &MemorySink) -> Vec<(String, serde_json::Value)> {
    tracker.flush().await;
    assert_eq!(tracker.counts().dropped(), 0, "{:?}\n{}", tracker.counts(), sink.summary());
    let events = sink
        .events()
        .into_iter()
        .map(|event| {
            let key = ["rows", "project_id", "reason"].iter().find_map(|name| event.properties.get(name));
            (event.event.to_string(), key.map(tally::event::PropertyValue::to_json).unwrap_or_default())
        })
        .collect();
    sink.clear();
    events
}

fn one(name: &str, value: serde_json::Value) -> Vec<(String, serde_json::Value)> {
    vec![(name.to_owned(), value)]
}

#[tokio::test]
async fn boxed_futures_emit_when_they_complete_not_when_created() {
    let (tracker, sink) = tracker();
    let context = Context::new().with_identity(Identity::user("u-1"));
    tracker
        .clone()
        .scope(context.scope(async {
            let mut store = Store::default();
            store.add("apollo");
            take(&tracker, &sink).await;

            // A hand-written boxed future (its `Output` hidden behind an alias).
            let export = store.export(5);
            assert_eq!(take(&tracker, &sink).await, [], "nothing before the future ran");
            assert_eq!(export.await.unwrap(), 1);
            assert_eq!(take(&tracker, &sink).await, one("export.finished", json!(1)));
            assert!(store.export(0).await.is_err());
            assert_eq!(take(&tracker, &sink).await, one("auth.login_failed", json!("nothing to export")));

            assert_eq!(store.export_all().await.unwrap(), 1);
            assert_eq!(take(&tracker, &sink).await, one("export.finished", json!(1)));

            // A `BoxFuture` from `async move { … }.boxed()`.
            let boxed = store.export_boxed(3);
            assert_eq!(take(&tracker, &sink).await, [], "nothing before the future ran");
            assert_eq!(boxed.await.unwrap(), 1);
            assert_eq!(take(&tracker, &sink).await, one("export.finished", json!(1)));
            assert!(store.export_boxed(0).await.is_err());
            assert_eq!(take(&tracker, &sink).await, one("auth.login_failed", json!("nothing to export")));

            // `impl Future` from an async block.
            let later = shapes::rows_later(4);
            assert_eq!(take(&tracker, &sink).await, []);
            assert_eq!(later.await, 8);
            assert_eq!(take(&tracker, &sink).await, one("export.finished", json!(8)));
        }))
        .await;
}

#[tokio::test]
async fn async_trait_methods_emit_by_outcome() {
    let (tracker, sink) = tracker();
    let context = Context::new().with_identity(Identity::user("u-1"));
    tracker
        .clone()
        .scope(context.scope(async {
            let store = Store::default();
            let open = store.open("apollo".to_owned());
            assert_eq!(take(&tracker, &sink).await, []);
            assert_eq!(open.await.unwrap(), "p-apollo");
            assert_eq!(take(&tracker, &sink).await, one("project.created", json!("p-apollo")));

            // The failure event reads an argument, at call time.
            assert!(store.open(String::new()).await.is_err());
            assert_eq!(take(&tracker, &sink).await, one("project.deleted", json!("")));

            store.touch("p-1").await;
            assert_eq!(take(&tracker, &sink).await, one("project.deleted", json!("p-1")));
        }))
        .await;
}

#[tokio::test]
async fn plain_shapes_emit_by_outcome() {
    let (tracker, sink) = tracker();
    let context = Context::new().with_identity(Identity::user("u-1"));
    tracker
        .clone()
        .scope(context.scope(async {
            assert_eq!(shapes::rows(3), 3);
            assert_eq!(take(&tracker, &sink).await, one("export.finished", json!(3)));
            assert!(shapes::login("").is_err());
            assert_eq!(take(&tracker, &sink).await, one("auth.login_failed", json!("empty password")));
            assert!(shapes::parse_rows("x").await.is_err());
            assert_eq!(take(&tracker, &sink).await, one("auth.login_failed", json!("not a number")));
            assert_eq!(shapes::parse_rows("12").await.unwrap(), 12);
            assert_eq!(take(&tracker, &sink).await, one("export.finished", json!(12)));
        }))
        .await;
}
