//! `tally diff`: classification of changes, the semver bump, and the changelog entry.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{json, seed, tally, tally_in};

const OLD: &str = r#"
[catalog]
name = "shop"
version = "1.4.2"
namespace = "sh."

[identity]
person = "user"
[identity.kinds.user]
format = "u.{id}"

[events."order.placed"]
description = "An order was placed."
trigger = "After commit."
properties.total = { type = "integer" }
properties.coupon = { type = "string", required = false }
properties.channel = { type = "enum", values = ["web", "app", "phone"] }
properties.note = { type = "string", required = false, nullable = true }
properties.sku = { type = "string", required = false }

[events."order.cancelled"]
description = "An order was cancelled."
trigger = "After cancellation."

[events."cart.emptied"]
description = "The cart was emptied."
trigger = "On empty."
"#;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn diff(old: &str, new: &str, extra: &[&str]) -> common::Run {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "old.toml", old);
    write(dir.path(), "new.toml", new);
    let mut args = vec!["diff", "old.toml", "new.toml", "--date", "2026-02-01"];
    args.extend(extra);
    tally_in(dir.path(), &args)
}

fn changes(run: &common::Run) -> Vec<(String, String)> {
    json(run)["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].as_str().unwrap().to_owned(), c["message"].as_str().unwrap().to_owned()))
        .collect()
}

fn has(changes: &[(String, String)], kind: &str, text: &str) {
    assert!(
        changes.iter().any(|(k, message)| k == kind && message.contains(text)),
        "no {kind} change containing {text:?} in {changes:#?}"
    );
}

#[test]
fn breaking_changes() {
    let new = OLD
        .replace("version = \"1.4.2\"", "version = \"2.0.0\"")
        .replace("properties.total = { type = \"integer\" }", "properties.total = { type = \"number\" }")
        .replace("properties.coupon = { type = \"string\", required = false }", "properties.coupon = { type = \"string\" }")
        .replace("values = [\"web\", \"app\", \"phone\"]", "values = [\"web\", \"app\"]")
        .replace("required = false, nullable = true }", "required = false }")
        .replace("properties.sku = { type = \"string\", required = false }", "properties.sku = { type = \"string\", required = false, max_length = 32 }")
        .replace("[events.\"cart.emptied\"]", "[events.\"cart.cleared\"]")
        .replace("[events.\"order.cancelled\"]\ndescription = \"An order was cancelled.\"\ntrigger = \"After cancellation.\"\n", "");
    let run = diff(OLD, &new, &["--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let changes = changes(&run);
    has(&changes, "breaking", "`order.placed`: property `total`: type changed from `integer` to `number`");
    has(&changes, "breaking", "`order.placed`: property `coupon`: now required");
    has(&changes, "breaking", "`order.placed`: property `channel`: enum value `phone` removed");
    has(&changes, "breaking", "`order.placed`: property `note`: no longer nullable");
    has(&changes, "breaking", "`order.placed`: property `sku`: length limited to 32");
    has(&changes, "breaking", "event `order.cancelled` removed");
    // A rename is a removal plus an addition.
    has(&changes, "breaking", "event `cart.emptied` removed");
    has(&changes, "additive", "event `cart.cleared` added");
    let report = json(&run);
    assert_eq!(report["bump"], "major");
    assert_eq!(report["required_version"], "2.0.0");
    assert_eq!(report["reflected"], true);
}

#[test]
fn namespace_and_identity_changes_break() {
    let new =
        OLD.replace("namespace = \"sh.\"", "namespace = \"shop.\"").replace("format = \"u.{id}\"", "format = \"{id}\"");
    let changes = changes(&diff(OLD, &new, &["--format", "json"]));
    has(&changes, "breaking", "wire namespace changed from `sh.` to `shop.`");
    has(&changes, "breaking", "identity `user`: distinct_id format changed from `u.{id}` to `{id}`");
}

#[test]
fn additive_and_docs_changes() {
    let new = OLD
        .replace("version = \"1.4.2\"", "version = \"1.5.0\"")
        .replace("values = [\"web\", \"app\", \"phone\"]", "values = [\"web\", \"app\", \"phone\", \"kiosk\"]")
        .replace(
            "properties.total = { type = \"integer\" }",
            "properties.total = { type = \"integer\" }\nproperties.gift = { type = \"boolean\", required = false }",
        )
        .replace("description = \"An order was placed.\"", "description = \"A customer placed an order.\"")
        .replace(
            "properties.note = { type = \"string\", required = false, nullable = true }",
            "properties.note = { type = \"string\", required = false, nullable = true, max_length = 500 }",
        )
        + "\n[events.\"order.refunded\"]\ndescription = \"Refunded.\"\ntrigger = \"On refund.\"\n";
    let run = diff(OLD, &new, &["--format", "json"]);
    let changes = changes(&run);
    has(&changes, "additive", "`order.placed`: property `channel`: enum value `kiosk` added");
    has(&changes, "additive", "`order.placed`: property `gift` added (optional)");
    has(&changes, "additive", "event `order.refunded` added");
    has(&changes, "docs", "event `order.placed`: description changed");
    // A new limit on a free-text property narrows it.
    has(&changes, "breaking", "`order.placed`: property `note`: length limited to 500");

    let docs_only = OLD.replace("description = \"An order was placed.\"", "description = \"Placed.\"");
    let run = diff(OLD, &docs_only, &["--format", "json"]);
    let report = json(&run);
    assert_eq!(report["bump"], "patch");
    assert_eq!(report["required_version"], "1.4.3");
    assert_eq!(report["reflected"], false);

    let additive = OLD.replace(
        "[events.\"cart.emptied\"]",
        "[events.\"cart.emptied\"]\nproperties.items = { type = \"integer\", required = false }",
    );
    let report = json(&diff(OLD, &additive, &["--format", "json"]));
    assert_eq!(report["bump"], "minor");
    assert_eq!(report["required_version"], "1.5.0");
}

#[test]
fn the_changelog_entry() {
    let new = OLD.replace("version = \"1.4.2\"", "version = \"1.5.0\"").replace(
        "[events.\"cart.emptied\"]",
        "[events.\"cart.emptied\"]\nproperties.items = { type = \"integer\", required = false }",
    );
    let run = diff(OLD, &new, &[]);
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stdout,
        "### 2026-02-01 — v1.5.0\n\n\
         - **Additive:** `cart.emptied`: property `items` added (optional).\n\n\
         Required bump: minor (v1.4.2 → v1.5.0); the new catalog's version v1.5.0 reflects it.\n"
    );

    // Not bumped: the heading carries the version it needs, and --check-version fails.
    let unbumped = new.replace("version = \"1.5.0\"", "version = \"1.4.2\"");
    let run = diff(OLD, &unbumped, &["--check-version"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.starts_with("### 2026-02-01 — v1.5.0\n"), "{}", run.stdout);
    assert!(run.stdout.contains("the new catalog still says v1.4.2: set `version = \"1.5.0\"`"), "{}", run.stdout);

    let run = diff(OLD, OLD, &[]);
    assert!(run.stdout.contains("- No change to the tracking plan."), "{}", run.stdout);
    assert!(run.stdout.contains("Required bump: none;"), "{}", run.stdout);
}

#[test]
fn authsome_before_to_after() {
    let run = tally(&["diff", &seed("authsome-before"), &seed("authsome"), "--date", "2026-02-01"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("### 2026-02-01 — v1.0.0\n"), "{}", run.stdout);
    assert!(run.stdout.contains("- **Breaking:** event `auth session completed` renamed `auth_session_completed`"));
    assert!(run.stdout.contains(
        "- **Breaking:** event `identity registered` removed: it is now spelled `identity_registered` only."
    ));
    assert!(
        run.stdout.contains("- **Breaking:** event `account_registered` is now keyed by `principal` (was `email`)")
    );
    assert!(run.stdout.contains("- **Additive:** event `principal_registered` added."));
    // 0.x: breaking changes call for a minor bump.
    assert!(
        run.stdout.contains("Required bump: minor (v0.1.0 → v0.2.0); the new catalog's version v1.0.0 reflects it.")
    );
}

#[test]
fn bad_input() {
    let run = tally(&["diff", &seed("teleport"), "missing.toml"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot read the catalog `missing.toml`"), "{}", run.stderr);
    let run = tally(&["diff", "examples", &seed("teleport")]);
    assert_eq!(run.code, 2);
    let run = tally(&["diff", &seed("teleport"), &seed("teleport"), "--date", "tomorrow"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("`tomorrow` is not a date; write YYYY-MM-DD"), "{}", run.stderr);
    let run = diff(OLD, "[catalog]\nname = 1\n", &[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.starts_with("new.toml:2:8: error[invalid-type]"), "{}", run.stderr);
}
