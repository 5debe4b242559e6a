//! The memory sink, a product feature for users' tests: its assertions pass on what was
//! delivered, and their failure messages show what was delivered instead.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

use std::panic::{AssertUnwindSafe, catch_unwind};

use tally_runtime::catalog::Catalog;
use tally_runtime::context::Context;
use tally_runtime::sink::MemorySink;
use tally_runtime::{Event, Identity, Tracker};

const CATALOG: &str = r#"
[catalog]
name = "shop"
version = "1.0.0"
[identity]
person = "user"
on_missing = "personless"
kinds.user = { description = "The customer." }
[events."order.placed"]
description = "An order was placed."
trigger = "After commit."
properties.total_cents = { type = "integer", description = "Total." }
properties.coupon = { type = "string", required = false, description = "Coupon code." }
[events."order.cancelled"]
description = "An order was cancelled."
trigger = "After commit."
"#;

async fn shop() -> (MemorySink, Tracker) {
    let sink = MemorySink::new();
    let tracker = Tracker::for_tests(Catalog::parse("shop.toml", CATALOG).unwrap(), sink.clone()).unwrap();
    Context::new()
        .with_identity(Identity::user("u-7"))
        .scope(async {
            tracker.emit(Event::new("order.placed").with("total_cents", 1250)).unwrap();
            tracker.emit(Event::new("order.placed").with("total_cents", 300).with("coupon", "SPRING")).unwrap();
        })
        .await;
    tracker.flush().await;
    (sink, tracker)
}

/// The message of the panic `check` raises.
fn failure(check: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(check)).expect_err("the assertion should fail");
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload.downcast_ref::<&str>().map(|s| s.to_string()).unwrap_or_default(),
    }
}

#[tokio::test]
async fn assertions_narrow_the_delivered_events() {
    let (sink, _tracker) = shop().await;
    assert_eq!(sink.events().len(), 2);
    let placed = sink.assert_emitted("order.placed").for_distinct_id("u-7");
    assert_eq!(placed.events().len(), 2);
    let with_coupon = placed.clone().with_property("coupon", "SPRING");
    assert_eq!(with_coupon.event().property("total_cents"), Some(&300.into()));
    let without = placed.without_property("coupon");
    assert_eq!(without.event().property("total_cents"), Some(&1250.into()));
    sink.assert_not_emitted("order.cancelled");

    sink.clear();
    assert!(sink.events().is_empty());
    sink.assert_not_emitted("order.placed");
}

#[tokio::test]
async fn failures_show_what_was_delivered_instead() {
    let (sink, _tracker) = shop().await;
    let delivered = "order.placed distinct_id=u-7 ";

    let message = failure(|| {
        sink.assert_emitted("order.cancelled");
    });
    assert!(message.starts_with("expected `order.cancelled` to be emitted; delivered:\n"), "{message}");
    assert_eq!(message.matches(delivered).count(), 2, "{message}");
    assert!(message.contains(r#""total_cents":1250"#) && message.contains(r#""coupon":"SPRING""#), "{message}");

    let message = failure(|| sink.assert_not_emitted("order.placed"));
    assert!(message.starts_with("expected `order.placed` not to be emitted; delivered:\n"), "{message}");

    let message = failure(|| {
        sink.assert_emitted("order.placed").with_property("total_cents", 999);
    });
    assert!(message.starts_with("expected `order.placed` with total_cents = 999; delivered:\n"), "{message}");
    assert!(message.contains(delivered), "{message}");

    let message = failure(|| {
        sink.assert_emitted("order.placed").for_distinct_id("u-8");
    });
    assert!(message.starts_with("expected `order.placed` for distinct_id u-8; delivered:\n"), "{message}");

    sink.clear();
    let message = failure(|| {
        sink.assert_emitted("order.placed");
    });
    assert!(message.ends_with("delivered:\n  (no events)"), "{message}");
}
