//! `tally audit` on a Rust stand-in of Authsome's server (tests/fixtures/authsome), and on
//! sources that cannot be read or parsed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use common::{crate_dir, json, tally_in, workspace};

fn fixture() -> PathBuf {
    crate_dir().join("tests/fixtures/authsome")
}

fn catalog(name: &str) -> String {
    workspace().join(format!("examples/catalogs/{name}.toml")).display().to_string()
}

/// The finding lines of a text report that match `code` at `location`.
fn finding<'r>(stdout: &'r str, location: &str, code: &str) -> &'r str {
    stdout
        .lines()
        .find(|line| line.starts_with(&format!("{location}:")) && line.contains(&format!("[{code}]")))
        .unwrap_or_else(|| panic!("no {code} finding at {location} in\n{stdout}"))
}

#[test]
fn inventory_of_every_call_site() {
    let run = tally_in(&fixture(), &["audit", "."]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let expected = [
        ("analytics.rs:15:", "Event::new", "<event>", "distinct_id: distinct_id"),
        ("routes/auth.rs:12:", ".capture_event", "\"auth session completed\"", "distinct_id: distinct_id"),
        ("routes/auth.rs:17:", ".capture_event", "\"auth session failed\"", "distinct_id: distinct_id"),
        ("routes/connections.rs:29:", ".capture_event", "\"global connection removed\"", "distinct_id: \"account-ui\""),
        ("routes/identities.rs:10:", ".capture_event", "\"identity registered\"", "distinct_id: &identity.handle"),
        ("routes/identities.rs:20:", ".capture_event", "\"identity_registered\"", "distinct_id: &identity.handle"),
        (
            "routes/providers.rs:21:",
            ".capture_event",
            "\"provider configuration updated\"",
            "distinct_id: &identity.handle",
        ),
        ("routes/proxy.rs:8:", "Event::new", "\"credentials resolved\"", "distinct_id: &identity.handle"),
        ("routes/ui.rs:10:", ".capture_event", "\"account_registered\"", "distinct_id: &session.email"),
        ("routes/ui.rs:27:", ".capture_event", "\"identity_claimed\"", "distinct_id: &pending.handle"),
    ];
    for (location, call, name, distinct) in expected {
        let line = run
            .stdout
            .lines()
            .find(|line| line.trim_start().starts_with(location))
            .unwrap_or_else(|| panic!("no call site at {location} in\n{}", run.stdout));
        let fields: Vec<&str> = line.split("  ").map(str::trim).filter(|f| !f.is_empty()).collect();
        assert_eq!(fields[1..], [call, name, distinct], "{line}");
    }
    assert!(run.stdout.starts_with("Call sites (18):\n"), "{}", run.stdout);
    assert!(run.stdout.contains("  &session.email  (3 calls)"), "{}", run.stdout);
    assert!(run.stdout.contains("audited 7 files with the snake_case convention (no catalog): 18 call sites"));
}

#[test]
fn without_a_catalog_naming_collisions_and_personal_distinct_ids() {
    let run = tally_in(&fixture(), &["audit", ".", "--deny"]);
    assert_eq!(run.code, 1, "--deny fails on findings");
    let out = &run.stdout;
    let spaced = finding(out, "routes/identities.rs:10:9", "naming-convention");
    assert!(spaced.ends_with("event `identity registered` does not follow the snake_case convention"), "{spaced}");
    assert!(out.contains("  = help: rename it `identity_registered`"));
    for (location, name) in [
        ("routes/auth.rs:12", "auth session completed"),
        ("routes/providers.rs:9", "provider registered"),
        ("routes/connections.rs:24", "connection made global"),
        ("routes/proxy.rs:8", "credentials resolved"),
    ] {
        assert!(finding(out, location, "naming-convention").contains(name));
    }
    let collision = finding(out, "routes/identities.rs:10:9", "name-collision");
    assert!(collision.contains("collides with `identity_registered` (routes/identities.rs:20)"), "{collision}");
    finding(out, "routes/identities.rs:20:29", "name-collision");
    for line in [10, 15, 20] {
        let email = finding(out, &format!("routes/ui.rs:{line}"), "personal-distinct-id");
        assert!(email.contains("distinct_id `&session.email` is an email address"), "{email}");
    }
    assert!(finding(out, "analytics.rs:15", "dynamic-event-name").contains("`event` is not a literal"));
    // snake_case names are fine.
    assert!(!out.lines().any(|l| l.starts_with("routes/ui.rs") && l.contains("naming-convention")));
}

#[test]
fn against_the_fixed_catalog() {
    let catalog = catalog("authsome");
    let run = tally_in(&fixture(), &["audit", ".", "--catalog", &catalog]);
    assert_eq!(run.code, 0, "findings do not fail without --deny");
    let out = &run.stdout;
    let unknown = finding(out, "routes/providers.rs:21:29", "unknown-event");
    assert!(unknown.contains("event `provider configuration updated` is not in the catalog"), "{unknown}");
    assert!(out.contains("  = help: did you mean `provider_configuration_updated`?"), "{out}");
    finding(out, "routes/proxy.rs:8", "unknown-event");
    // Catalog events never emitted, at their catalog position; respellings are pointed out.
    let never = finding(out, &catalog, "never-emitted");
    assert!(never.contains("`principal_registered`"), "{never}");
    assert!(out.contains("catalog event `identity_claim_rejected` is never emitted"));
    assert!(out.contains(
        "= help: it is emitted as `auth session completed` at routes/auth.rs:12: use the catalog's spelling"
    ));
    // Role events come from the middleware: not expected in the sources.
    assert!(!out.contains("`account_login_failed` is never emitted"));
    assert!(!out.contains("event `account_registered` is not in the catalog"));
}

#[test]
fn against_the_before_catalog() {
    let run = tally_in(&fixture(), &["audit", ".", "--catalog", &catalog("authsome-before"), "--format", "json"]);
    assert_eq!(run.code, 0);
    let report = json(&run);
    assert_eq!(report["files"], 7);
    assert_eq!(report["call_sites"].as_array().unwrap().len(), 18);
    let codes: Vec<&str> = report["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect();
    // Every name is in the before catalog; the problems are its own.
    assert!(!codes.contains(&"unknown-event"), "{codes:?}");
    assert!(codes.contains(&"naming-convention") && codes.contains(&"name-collision"), "{codes:?}");
    let site = &report["call_sites"][0];
    assert_eq!(site["file"], "analytics.rs");
    assert_eq!(site["via"], "capture");
    assert_eq!(site["dynamic_name"], "event");
}

#[test]
fn unreadable_and_unparsable_sources_are_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/good.rs"), "fn f() { capture_event(\"signed_up\", &user.id, props); }\n")
        .unwrap();
    std::fs::write(dir.path().join("src/broken.rs"), "fn f( {\n").unwrap();
    std::fs::write(dir.path().join("src/latin1.rs"), [b'/', b'/', b' ', 0xe9, b'\n']).unwrap();
    std::fs::create_dir(dir.path().join("src/target")).unwrap();
    std::fs::write(dir.path().join("src/target/skipped.rs"), "fn f( {\n").unwrap();
    let run = tally_in(dir.path(), &["audit", "src", "missing_dir"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("error: src/broken.rs:1:"), "{}", run.stderr);
    assert!(run.stderr.contains("cannot parse Rust"), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "error: cannot read the source `src/latin1.rs`: it is not UTF-8 text (invalid byte (0xe9) at byte offset 3, \
             line 1, column 4)"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("error: cannot read `missing_dir`: no such file or directory"), "{}", run.stderr);
    assert!(!run.stderr.contains("skipped.rs"));
    // The readable file is still audited.
    assert!(run.stdout.contains("src/good.rs:1:24"), "{}", run.stdout);
    assert!(run.stdout.contains("audited 3 files"), "{}", run.stdout);
}

#[test]
fn naming_without_a_catalog_can_be_resource_action() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("lib.rs"),
        "#[track_event(\"order.placed\")]\nfn a() {}\nfn b() { tally::track!(\"orderCancelled\"); }\n",
    )
    .unwrap();
    let run = tally_in(dir.path(), &["audit", "lib.rs", "--naming", "resource.action", "--deny"]);
    assert_eq!(run.code, 1);
    assert!(!run.stdout.contains("lib.rs:1:15: error"), "{}", run.stdout);
    assert!(run.stdout.contains("lib.rs:3:24: error[naming-convention]: event `orderCancelled` does not follow the resource.action convention"), "{}", run.stdout);
    assert!(run.stdout.contains("= help: rename it `order.cancelled`"), "{}", run.stdout);
}

#[test]
fn bad_catalog() {
    let run = tally_in(&fixture(), &["audit", ".", "--catalog", "missing.toml"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot read the catalog `missing.toml`"), "{}", run.stderr);
    let run = tally_in(&fixture(), &["audit", ".", "--catalog", "routes"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("`routes` is a directory"), "{}", run.stderr);
}

#[test]
fn an_on_err_tracing_field_counts_as_emitted() {
    // Auterity's example emits `workflow.execution_failed` through
    // `#[instrument(err, fields(tally.event = …, tally.on_err = "workflow.execution_failed"))]`.
    let run = tally_in(&workspace(), &["audit", "examples/auterity", "--catalog", "examples/catalogs/auterity.toml"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("`workflow.execution_failed` is never emitted"), "{}", run.stdout);
    assert!(run.stdout.contains("catalog event `ai.model_failed` is never emitted"), "{}", run.stdout);
}
