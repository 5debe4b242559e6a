//! `tally docs`: the committed Markdown of the seed catalogs stays fresh, HTML snapshots, and
//! what the pages say.
//!
//! `TALLY_BLESS=1 cargo test -p tally-cli --test docs` regenerates `docs/catalogs/*.md`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{SEEDS, seed, tally, tally_in, workspace};

#[test]
fn committed_catalog_docs_are_fresh() {
    let bless = std::env::var_os("TALLY_BLESS").is_some_and(|value| value == "1");
    let mut stale = Vec::new();
    for name in SEEDS {
        let run = tally(&["docs", &seed(name)]);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        let committed = workspace().join("docs/catalogs").join(format!("{name}.md"));
        if bless {
            std::fs::create_dir_all(committed.parent().unwrap()).unwrap();
            std::fs::write(&committed, &run.stdout).unwrap();
        } else if std::fs::read_to_string(&committed).ok().as_deref() != Some(run.stdout.as_str()) {
            stale.push(committed.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated docs: {stale:?}\nregenerate them with `TALLY_BLESS=1 cargo test -p tally-cli --test docs`"
    );
}

#[test]
fn html_pages() {
    for name in SEEDS {
        let run = tally(&["docs", &seed(name), "--format", "html"]);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        insta::assert_snapshot!(format!("docs_html_{name}"), run.stdout);
    }
}

#[test]
fn the_html_page_is_self_contained_and_searchable() {
    let run = tally(&["docs", &seed("auterity"), "--format", "html"]);
    let page = run.stdout;
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("<style>") && page.contains("<script>"));
    assert!(page.contains("<input id=\"search\" type=\"search\""));
    for external in ["src=\"http", "href=\"http", "<link ", "@import", "src=\"//", "url("] {
        assert!(!page.contains(external), "external asset: {external}");
    }
    // One filterable section per event, with its wire name in the search text.
    let events = tally_catalog::Catalog::from_path(workspace().join(seed("auterity"))).unwrap();
    assert_eq!(page.matches("<section class=\"event\" data-search=").count(), events.events().count());
    assert!(page.contains("data-search=\"api.request_completed"));
}

#[test]
fn catalog_text_is_escaped_in_html() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = r#"
[catalog]
name = "x"
version = "1.0.0"

[events."page.viewed"]
description = "A <script>alert(1)</script> & \"quoted\" page view."
trigger = "On `render` of **any** page."
"#;
    std::fs::write(dir.path().join("catalog.toml"), catalog).unwrap();
    let run = tally_in(dir.path(), &["docs", "catalog.toml", "--format", "html"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains("<script>alert"));
    assert!(run.stdout.contains("A &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot; page view."));
    assert!(run.stdout.contains("On <code>render</code> of <strong>any</strong> page."));
}

#[test]
fn markdown_says_what_the_seeds_need() {
    let teleport = tally(&["docs", &seed("teleport")]).stdout;
    // Wire names with the namespace, the distinct_id format, on_missing, pseudonymization and $set_once.
    assert!(teleport.contains("#### `tp.user.login`"));
    assert!(teleport.contains("| `tp.user_name` | string, non-empty | yes | no | `pseudonymize` | `identity.user` |"));
    assert!(teleport.contains("| `account` | once per process | `tp.{id}` |"));
    assert!(teleport.contains("(`on_missing = \"drop\"`): the event is not sent at all"));
    assert!(
        teleport.contains(
            "| `tp.first_sso_login` | `$set_once` | the event's timestamp | `tp.connector_type` is present |"
        )
    );
    assert!(teleport.contains("Role: `login`: emitted by the middleware after a successful login."));
    assert!(teleport.contains("Origin: client"));
    assert!(teleport.contains("1. [`tp.ui.onboard.getStarted.click`](#tpuionboardgetstartedclick)"));

    let timetracker = tally(&["docs", &seed("timetracker")]).stdout;
    assert!(timetracker.contains("Event names follow `resource.action`"));
    assert!(timetracker.contains("## Changelog"));

    let auterity = tally(&["docs", &seed("auterity")]).stdout;
    assert!(auterity.contains("## Categories and retention"));
    assert!(auterity.contains("### Retention classes"));
    assert!(auterity.contains("| `security_events` | 7 years | 2 years |"));
    assert!(auterity.contains("## Common properties"));
    assert!(auterity.contains("## Groups"));
    assert!(auterity.contains("`anonymize_ip`"));

    let authsome = tally(&["docs", &seed("authsome")]).stdout;
    assert!(authsome.contains("Events keyed by it also set the distinct_id of `principal`"));
    assert!(authsome.contains("### Funnel `agent_activation`"));

    // Every internal link points at a heading of the page.
    for page in [&teleport, &timetracker, &auterity, &authsome] {
        for target in page.split("](#").skip(1).map(|rest| &rest[..rest.find(')').unwrap()]) {
            let anchors = headings(page);
            assert!(anchors.contains(&target.to_owned()), "dangling link #{target}");
        }
    }
}

/// GitHub's anchors of a Markdown page's headings.
fn headings(page: &str) -> Vec<String> {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    page.lines()
        .filter(|line| line.starts_with('#'))
        .map(|line| {
            let text = line.trim_start_matches('#').trim();
            let base: String = text
                .chars()
                .filter_map(|c| match c {
                    ' ' => Some('-'),
                    '-' | '_' => Some(c),
                    c if c.is_alphanumeric() => Some(c.to_ascii_lowercase()),
                    _ => None,
                })
                .collect();
            let count = seen.entry(base.clone()).or_insert(0);
            let id = if *count == 0 { base } else { format!("{base}-{count}") };
            *count += 1;
            id
        })
        .collect()
}

#[test]
fn output_file_and_format_from_its_extension() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = workspace().join(seed("teleport"));
    let catalog = catalog.to_str().unwrap();
    let run = tally_in(dir.path(), &["docs", catalog, "-o", "out/plan.html"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    let html = std::fs::read_to_string(dir.path().join("out/plan.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    let run = tally_in(dir.path(), &["docs", catalog, "-o", "plan.md"]);
    assert_eq!(run.code, 0);
    assert!(std::fs::read_to_string(dir.path().join("plan.md")).unwrap().starts_with("# teleport — tracking plan"));
    // -o naming a directory is refused.
    let run = tally_in(dir.path(), &["docs", catalog, "-o", "out"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot write `out`: it is a directory"), "{}", run.stderr);
}

#[test]
fn bad_input() {
    let run = tally(&["docs", "nope.toml"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr, "error: cannot read the catalog `nope.toml`: no such file\n");
    let run = tally(&["docs", "examples"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("is a directory"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), "[catalog]\nname = \"x\"\nversion = \"one\"\n").unwrap();
    let run = tally_in(dir.path(), &["docs", "bad.toml"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.starts_with("bad.toml:3:11: error[invalid-version]"), "{}", run.stderr);
}
