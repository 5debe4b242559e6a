//! `tally dashboard`: the template's structure for every seed catalog, snapshots, and `--push`
//! against a PostHog stand-in on the loopback interface.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::thread;

use serde_json::Value;
use tally_catalog::Catalog;

use common::{SEEDS, json, seed, tally, workspace};

#[test]
fn snapshots() {
    for name in SEEDS {
        let run = tally(&["dashboard", &seed(name)]);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        insta::assert_snapshot!(format!("dashboard_{name}"), run.stdout);
    }
}

/// The keys of PostHog's dashboard template schema, `posthog/api/dashboards/
/// dashboard_template_schema.json` (PostHog/posthog at 03f2add8efc9c7f41c8286d695f4b47caac61464):
/// the required ones with their JSON type, then every property it declares.
const TEMPLATE_REQUIRED: [(&str, &str); 4] = [
    ("template_name", "string"),
    ("dashboard_description", "string"),
    ("dashboard_filters", "object"),
    ("tiles", "array"),
];
const TEMPLATE_PROPERTIES: [&str; 10] = [
    "id",
    "template_name",
    "team_id",
    "created_at",
    "image_url",
    "dashboard_description",
    "dashboard_filters",
    "tiles",
    "variables",
    "tags",
];

/// `BaseMathType` of PostHog's query schema (`frontend/src/queries/schema.json`): the `math`
/// values an `EventsNode` may carry without a math property.
const BASE_MATH: [&str; 7] = [
    "total",
    "dau",
    "weekly_active",
    "monthly_active",
    "unique_session",
    "first_time_for_user",
    "first_matching_event_for_user",
];

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The template against PostHog's template schema: the required keys with their types, no key
/// the schema does not declare, at least one tile, tiles that are objects, tags that are strings.
fn check_template_schema(name: &str, template: &serde_json::Map<String, Value>) {
    for (key, ty) in TEMPLATE_REQUIRED {
        let value = template.get(key).unwrap_or_else(|| panic!("{name}: the template lacks `{key}`"));
        assert_eq!(json_type(value), ty, "{name}: `{key}`");
    }
    for key in template.keys() {
        assert!(TEMPLATE_PROPERTIES.contains(&key.as_str()), "{name}: the schema has no `{key}`");
    }
    let tiles = template["tiles"].as_array().unwrap();
    assert!(!tiles.is_empty(), "{name}: the schema's tiles have minItems 1");
    assert!(tiles.iter().all(Value::is_object), "{name}: tiles are objects");
    assert!(template["tags"].as_array().unwrap().iter().all(Value::is_string), "{name}: tags are strings");
}

/// Checks what PostHog's `create_from_template_json` requires, and that every series names a
/// catalog event by its wire name. Returns the tiles.
fn validate(name: &str) -> Vec<Value> {
    let catalog = Catalog::from_path(workspace().join(seed(name))).unwrap();
    let wire_names: Vec<String> = catalog.events().map(|(event, _)| catalog.wire_name(event)).collect();
    let body = json(&tally(&["dashboard", &seed(name)]));
    let template = body["template"].as_object().expect("a `template` object");
    check_template_schema(name, template);
    assert!(template["template_name"].as_str().is_some_and(|n| n.contains(catalog.name())));
    assert!(template["dashboard_description"].is_string());
    assert!(template["dashboard_filters"].is_object());
    assert!(template["tags"].as_array().unwrap().iter().all(Value::is_string));
    let tiles = template["tiles"].as_array().expect("tiles");
    assert!(!tiles.is_empty(), "{name}: PostHog needs at least one tile");
    for tile in tiles {
        assert_eq!(tile["type"], "INSIGHT");
        // Older PostHog template code calls `.get` on `filters`: it must be an object.
        assert!(tile["filters"].as_object().is_some_and(serde_json::Map::is_empty), "{name}: tile filters");
        assert!(tile["name"].as_str().is_some_and(|n| !n.is_empty()));
        assert!(tile["description"].is_string());
        let layout = &tile["layouts"]["sm"];
        for key in ["x", "y", "w", "h"] {
            assert!(layout[key].is_u64(), "{name}: layout {key}");
        }
        assert!(layout["x"].as_u64().unwrap() + layout["w"].as_u64().unwrap() <= 12);
        let query = &tile["query"];
        assert_eq!(query["kind"], "InsightVizNode");
        // InsightVizNode requires `kind` and `source`; tally sets nothing else.
        let mut query_keys: Vec<&String> = query.as_object().unwrap().keys().collect();
        query_keys.sort();
        assert_eq!(query_keys, ["kind", "source"], "{name}");
        let source = &query["source"];
        let kind = source["kind"].as_str().unwrap();
        assert!(kind == "TrendsQuery" || kind == "FunnelsQuery", "{kind}");
        let series = source["series"].as_array().unwrap();
        assert!(!series.is_empty());
        for node in series {
            assert_eq!(node["kind"], "EventsNode");
            let event = node["event"].as_str().unwrap();
            assert!(wire_names.iter().any(|w| w == event), "{name}: `{event}` is not a catalog event");
            assert_eq!(node["name"], event);
            if let Some(math) = node.get("math") {
                assert!(BASE_MATH.contains(&math.as_str().unwrap()), "{name}: math {math}");
            }
        }
        // Only keys PostHog's query schema knows.
        let known = ["kind", "series", "interval", "dateRange", "trendsFilter", "breakdownFilter", "funnelsFilter"];
        for key in source.as_object().unwrap().keys() {
            assert!(known.contains(&key.as_str()), "{name}: unknown key {key}");
        }
        if kind == "FunnelsQuery" {
            assert!(series.len() >= 2);
            assert_eq!(source["funnelsFilter"]["funnelVizType"], "steps");
        }
        if let Some(formula) = source["trendsFilter"].get("formula") {
            // A share of successes over successes and failures, or over all attempts.
            assert!(formula == "100 * A / (A + B)" || formula == "100 * A / B", "{name}: {formula}");
            assert_eq!(series.len(), 2);
        }
        if let Some(breakdown) = source.get("breakdownFilter") {
            assert_eq!(breakdown["breakdown_type"], "event");
            assert!(breakdown["breakdown"].is_string());
        }
    }
    tiles.clone()
}

fn tile<'t>(tiles: &'t [Value], name: &str) -> &'t Value {
    tiles.iter().find(|tile| tile["name"] == name).unwrap_or_else(|| {
        let names: Vec<&Value> = tiles.iter().map(|t| &t["name"]).collect();
        panic!("no tile `{name}` in {names:?}")
    })
}

fn events(tile: &Value) -> Vec<&str> {
    tile["query"]["source"]["series"].as_array().unwrap().iter().map(|s| s["event"].as_str().unwrap()).collect()
}

#[test]
fn every_seed_template_is_valid() {
    for name in SEEDS {
        validate(name);
    }
}

#[test]
fn tiles_follow_the_catalog() {
    let teleport = validate("teleport");
    assert_eq!(events(tile(&teleport, "Logins: success vs failure")), ["tp.user.login", "tp.user.login_failed"]);
    assert!(tile(&teleport, "Event volume: ui")["query"]["source"]["series"].as_array().unwrap().len() == 7);
    let funnel = tile(&teleport, "Funnel: activation");
    assert_eq!(funnel["query"]["source"]["kind"], "FunnelsQuery");
    assert_eq!(events(funnel), ["tp.user.login", "tp.resource.create", "tp.session.start"]);

    let auterity = validate("auterity");
    let api = tile(&auterity, "API error rate by route");
    assert_eq!(events(api), ["api.request_failed", "api.request_completed"]);
    assert_eq!(api["query"]["source"]["breakdownFilter"]["breakdown"], "endpoint");
    assert_eq!(tile(&auterity, "API requests by route")["query"]["source"]["breakdownFilter"]["breakdown"], "endpoint");
    let unique = tile(&auterity, "Unique users per event");
    assert!(unique["query"]["source"]["series"].as_array().unwrap().iter().all(|s| s["math"] == "dau"));

    // Authsome: registrations and claims over time, auth session success rate, top providers.
    let authsome = validate("authsome");
    let created = events(tile(&authsome, "Registered and created over time"));
    for event in ["account_registered", "principal_registered", "identity_registered", "identity_claimed"] {
        assert!(created.contains(&event), "{event} in {created:?}");
    }
    let rate = tile(&authsome, "Auth session success rate");
    assert_eq!(events(rate), ["auth_session_completed", "auth_session_failed"]);
    let top = tile(&authsome, "Top providers");
    assert_eq!(top["query"]["source"]["breakdownFilter"]["breakdown"], "provider");
    assert!(events(top).contains(&"auth_session_completed"));
    tile(&authsome, "Unique principals per event");
    tile(&authsome, "Unique agents per event");
    assert_eq!(events(tile(&authsome, "Funnel: agent_activation")).len(), 3);
}

/// A one-request HTTP server on 127.0.0.1 that records the request and answers `status`
/// with `body`.
fn stand_in(status: u16, body: &'static str) -> (String, thread::JoinHandle<(String, Vec<String>, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end().to_owned();
            if line.is_empty() {
                break;
            }
            headers.push(line);
        }
        let length: usize = headers
            .iter()
            .find_map(|h| h.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
            .expect("a Content-Length header");
        let mut request_body = vec![0; length];
        reader.read_exact(&mut request_body).unwrap();
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        (request_line.trim_end().to_owned(), headers, String::from_utf8(request_body).unwrap())
    });
    (address, handle)
}

fn push(host: &str, key: Option<&str>) -> common::Run {
    let mut command = assert_cmd::Command::cargo_bin("tally").unwrap();
    command
        .current_dir(workspace())
        .args(["dashboard", &seed("authsome"), "--push", "--host", host, "--project-id", "42"])
        .env_remove("POSTHOG_PERSONAL_API_KEY");
    for proxy in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
        command.env_remove(proxy);
    }
    match key {
        Some(key) => command.env("POSTHOG_PERSONAL_API_KEY", key),
        None => &mut command,
    };
    let output = command.output().unwrap();
    common::Run {
        code: output.status.code().unwrap(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

#[test]
fn push_posts_the_template_with_the_bearer_key() {
    let (host, server) = stand_in(201, r#"{"id": 7, "name": "authsome (tally)"}"#);
    let run = push(&host, Some("phx_secret"));
    let (request_line, headers, body) = server.join().unwrap();
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(request_line, "POST /api/projects/42/dashboards/create_from_template_json/ HTTP/1.1");
    assert!(
        headers.iter().any(|h| h == "authorization: Bearer phx_secret" || h == "Authorization: Bearer phx_secret"),
        "{headers:?}"
    );
    assert!(headers.iter().any(|h| h.eq_ignore_ascii_case("content-type: application/json")), "{headers:?}");
    let sent: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(sent, json(&tally(&["dashboard", &seed("authsome")])));
    assert_eq!(run.stdout, format!("created dashboard 7 \"authsome (tally)\": {host}/project/42/dashboard/7\n"));
    assert!(!run.stdout.contains("phx_secret") && !run.stderr.contains("phx_secret"));
}

#[test]
fn a_rejected_push_says_why() {
    let (host, server) = stand_in(403, r#"{"detail": "You do not have permission to perform this action."}"#);
    let run = push(&host, Some("phx_wrong"));
    server.join().unwrap();
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("PostHog answered 403"), "{}", run.stderr);
    assert!(run.stderr.contains("You do not have permission"), "{}", run.stderr);
    assert!(run.stderr.contains("dashboard:write"), "{}", run.stderr);
}

#[test]
fn push_needs_a_key_and_a_reachable_host() {
    let run = push("http://127.0.0.1:1", None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("an API key (--api-key or POSTHOG_PERSONAL_API_KEY)"), "{}", run.stderr);

    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let run = push(&format!("http://127.0.0.1:{port}"), Some("k"));
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot reach PostHog at http://127.0.0.1:"), "{}", run.stderr);

    let run = push("ftp://example", Some("k"));
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--host must be an http:// or https:// URL"), "{}", run.stderr);

    let run = tally(&["dashboard", &seed("authsome"), "--push"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--project-id"), "{}", run.stderr);
}

#[test]
fn bad_input() {
    let run = tally(&["dashboard", "missing.toml"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot read the catalog `missing.toml`: no such file"));
    let run = tally(&["dashboard", "examples"]);
    assert_eq!(run.code, 2);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.toml"), "[catalog]\nname = \"x\"\nversion = \"1.0.0\"\n").unwrap();
    let run = common::tally_in(dir.path(), &["dashboard", "empty.toml"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("has no event to chart"), "{}", run.stderr);
}
