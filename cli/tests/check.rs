//! `tally check`: the seed catalogs, bad input, the JSON format and `--explain`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{SEEDS, json, seed, tally, tally_in};

#[test]
fn the_seed_catalogs_pass_except_authsome_before() {
    for name in SEEDS.iter().filter(|name| **name != "authsome-before") {
        let run = tally(&["check", &seed(name)]);
        assert_eq!(run.code, 0, "{name}:\n{}{}", run.stdout, run.stderr);
        assert!(run.stdout.contains(&format!("{}: ok, ", seed(name))), "{}", run.stdout);
        assert!(run.stdout.contains("; 0 errors"), "{}", run.stdout);
    }
}

#[test]
fn authsome_before_fails_on_the_collision_and_the_email_distinct_id() {
    let path = seed("authsome-before");
    let run = tally(&["check", &path]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let collision =
        run.stdout.lines().find(|line| line.contains("error[name-collision]")).expect("a name-collision diagnostic");
    assert!(collision.starts_with(&format!("{path}:")), "{collision}");
    assert!(collision.contains("identity registered") && collision.contains("identity_registered"), "{collision}");
    let email = run
        .stdout
        .lines()
        .find(|line| line.contains("error[personal-distinct-id]"))
        .expect("a personal-distinct-id diagnostic");
    assert!(email.contains("identity `email`"), "{email}");
    // Every diagnostic line is `file:line:col: severity[rule]: message`.
    for line in run.stdout.lines().filter(|line| line.contains("error[")) {
        let rest = line.strip_prefix(&format!("{path}:")).expect("starts with the path");
        let mut parts = rest.splitn(3, ':');
        let line_no: usize = parts.next().unwrap().parse().expect("a line number");
        let column: usize = parts.next().unwrap().parse().expect("a column");
        assert!(line_no > 0 && column > 0, "{line}");
        assert!(parts.next().unwrap().starts_with(" error["), "{line}");
    }
    assert!(run.stdout.contains("  = help: "), "{}", run.stdout);
    assert!(run.stdout.contains(&format!("{path}: fails, 17 events;")), "{}", run.stdout);
}

#[test]
fn several_catalogs_get_a_total() {
    let paths: Vec<String> = SEEDS.iter().map(|name| seed(name)).collect();
    let mut args = vec!["check"];
    args.extend(paths.iter().map(String::as_str));
    let run = tally(&args);
    assert_eq!(run.code, 1);
    assert!(run.stdout.lines().last().unwrap().starts_with("checked 5 catalogs: "), "{}", run.stdout);
}

#[test]
fn json_is_an_array_of_diagnostics() {
    let run = tally(&["check", &seed("authsome-before"), "--format", "json"]);
    assert_eq!(run.code, 1);
    let diagnostics = json(&run);
    let diagnostics = diagnostics.as_array().expect("an array");
    assert!(!diagnostics.is_empty());
    let codes: Vec<&str> = diagnostics.iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"name-collision") && codes.contains(&"personal-distinct-id"), "{codes:?}");
    let first = &diagnostics[0];
    assert_eq!(first["severity"], "error");
    assert_eq!(first["location"]["file"], seed("authsome-before"));
    assert!(first["location"]["line"].as_u64().unwrap() > 0);

    let clean = tally(&["check", &seed("teleport"), "--format", "json"]);
    assert_eq!(clean.code, 0);
    assert_eq!(json(&clean), serde_json::json!([]));
}

#[test]
fn a_missing_file_is_a_clear_error_with_exit_2() {
    let run = tally(&["check", "no/such/catalog.toml"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr, "error: cannot read the catalog `no/such/catalog.toml`: no such file\n");
    assert_eq!(run.stdout, "no/such/catalog.toml: not checked; 1 error, 0 warnings\n");

    // The other catalogs are still checked.
    let run = tally(&["check", "missing.toml", &seed("teleport")]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.contains(&format!("{}: ok", seed("teleport"))), "{}", run.stdout);
}

#[test]
fn a_directory_is_not_a_catalog() {
    let run = tally(&["check", "examples/catalogs"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("`examples/catalogs` is a directory, not a catalog file"), "{}", run.stderr);

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("catalog.toml"), "[catalog]\nname = \"x\"\nversion = \"1.0.0\"\n").unwrap();
    let run = tally_in(dir.path(), &["check", "."]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("did you mean `./catalog.toml`?"), "{}", run.stderr);
}

#[test]
fn an_invalid_catalog_points_at_the_token() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), "[catalog]\nname = \"x\"\nversion = \"1.0.0\"\nnmespace = \"x.\"\n")
        .unwrap();
    std::fs::write(dir.path().join("syntax.toml"), "[catalog\nname = \"x\"\n").unwrap();
    std::fs::write(dir.path().join("binary.toml"), [0xff, 0xfe, 0x00]).unwrap();
    let run = tally_in(dir.path(), &["check", "bad.toml"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.starts_with("bad.toml:4:1: error[unknown-key]: unknown field `nmespace`"), "{}", run.stdout);
    assert!(run.stdout.contains("= help: did you mean `namespace`?"), "{}", run.stdout);
    assert!(run.stdout.contains("bad.toml: invalid, does not load; 1 error, 0 warnings"), "{}", run.stdout);

    let run = tally_in(dir.path(), &["check", "syntax.toml"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.starts_with("syntax.toml:1:"), "{}", run.stdout);

    // Not UTF-8 is invalid input, reported where the first invalid byte is.
    let run = tally_in(dir.path(), &["check", "binary.toml"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.starts_with(
            "binary.toml:1:1: error[invalid-utf8]: the file is not UTF-8 text: invalid byte (0xff) at byte offset 0"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn explain_lists_and_explains_rules() {
    let run = tally(&["check", "--explain"]);
    assert_eq!(run.code, 0);
    for rule in tally_catalog::lint::RULES {
        assert!(run.stdout.contains(rule.id()), "{} missing from\n{}", rule.id(), run.stdout);
    }
    let run = tally(&["check", "--explain", "name-collision"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.starts_with("name-collision (error by default)"), "{}", run.stdout);
    let run = tally(&["check", "--explain", "name-colision"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("did you mean `name-collision`?"), "{}", run.stderr);
}

#[test]
fn check_lists_the_personal_data_the_catalog_lets_out_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = r#"
[catalog]
name = "support"
version = "1.0.0"

[common.agent_email]
type = "string"
privacy = "allowed"
reason = "Support agents are staff; the help desk needs their address."

[events."ticket.closed"]
description = "A support ticket was closed."
trigger = "After the agent closes the ticket."
properties.customer_ip = { type = "string", privacy = "anonymize_ip" }
properties.callback_number = { type = "string", privacy = "allowed", reason = "Customers ask to be called back." }
"#;
    std::fs::write(dir.path().join("catalog.toml"), catalog).unwrap();
    let run = tally_in(dir.path(), &["check", "catalog.toml"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let listing: Vec<&str> = run.stdout.lines().skip_while(|line| !line.contains("personal data sent as is")).collect();
    assert_eq!(
        listing,
        [
            "  personal data sent as is (privacy = \"allowed\"):",
            "    common.agent_email: Support agents are staff; the help desk needs their address.",
            "    ticket.closed.callback_number: Customers ask to be called back.",
        ],
        "{}",
        run.stdout
    );

    // A catalog that lets nothing out says nothing about it.
    let run = tally(&["check", &seed("timetracker")]);
    assert!(!run.stdout.contains("personal data sent as is"), "{}", run.stdout);
}
