//! The five seed catalogs in `examples/catalogs/` (one per system in `/seeds`, Authsome twice:
//! before and after its audit) load, lint as documented, and say what their seeds say.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use tally_catalog::model::{Fill, OnMissing, Origin, Privacy, PropertyType, Role};
use tally_catalog::{Catalog, Severity};

const SEEDS: [&str; 5] = ["teleport", "timetracker", "authsome-before", "authsome", "auterity"];

fn path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/catalogs").join(format!("{name}.toml"))
}

fn load(name: &str) -> Catalog {
    Catalog::from_path(path(name)).unwrap_or_else(|error| panic!("{name}.toml does not load:\n{error}"))
}

/// `(line, column, code)` of every lint finding, in report order.
fn findings(catalog: &Catalog) -> Vec<(usize, usize, &'static str)> {
    catalog.lint().iter().map(|d| (d.location().line(), d.location().column(), d.code())).collect()
}

/// The 1-based line of the first line of `text` that starts with `prefix`.
fn line_of(text: &str, prefix: &str) -> usize {
    text.lines().position(|line| line.starts_with(prefix)).map(|i| i + 1).unwrap_or_else(|| panic!("no `{prefix}`"))
}

/// Every catalog in `examples/catalogs/`, by file stem.
fn catalogs() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/catalogs");
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    found.sort();
    found
}

#[test]
fn the_directory_holds_the_seed_catalogs() {
    let found = catalogs();
    for name in SEEDS {
        assert!(found.iter().any(|f| f == name), "examples/catalogs/{name}.toml is missing");
    }
}

#[test]
fn every_catalog_loads_and_documents_its_events() {
    for name in catalogs() {
        let catalog = load(&name);
        assert!(catalog.events().count() > 0, "{name} has no events");
        for (event, definition) in catalog.events() {
            assert!(definition.description().is_some_and(|d| !d.is_empty()), "{name}: {event}");
            assert!(definition.trigger().is_some_and(|t| !t.is_empty()), "{name}: {event}");
        }
    }
}

#[test]
fn every_seed_catalog_points_editors_at_the_schema() {
    for name in SEEDS {
        let text = std::fs::read_to_string(path(name)).unwrap();
        assert_eq!(text.lines().next(), Some("#:schema ../../catalog/catalog.schema.json"), "{name}");
    }
    assert!(Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog.schema.json").is_file());
}

#[test]
fn all_but_authsome_before_lint_clean() {
    for name in catalogs().into_iter().filter(|name| name != "authsome-before") {
        let diagnostics = load(&name).lint();
        let rendered: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
        assert!(diagnostics.is_empty(), "{name}.toml is not lint clean:\n{}", rendered.join("\n"));
    }
}

#[test]
fn authsome_before_fails_with_the_audits_findings() {
    let catalog = load("authsome-before");
    let text = catalog.source().text();
    let diagnostics = catalog.lint();
    assert!(diagnostics.iter().all(|d| d.severity() == Severity::Error), "`tally check` must fail on every finding");

    // The session email keys the account events.
    let email = line_of(text, "[identity.kinds.email]");
    assert_eq!(email, 33);
    // `identity_registered` (a second registration path) collides with `identity registered`.
    let collision = line_of(text, "[events.identity_registered]");
    assert_eq!(collision, 99);
    // Every name with spaces breaks the snake_case convention.
    let spaced = [
        "identity registered",
        "auth session completed",
        "auth session failed",
        "provider registered",
        "provider deleted",
        "provider configuration updated",
        "connection logout",
        "connection revoked",
        "connection made global",
        "global connection removed",
        "credentials exported",
        "credentials resolved",
    ];
    let mut expected = vec![(33, 17, "personal-distinct-id")];
    for name in spaced {
        let line = line_of(text, &format!("[events.\"{name}\"]"));
        expected.push((line, 9, "naming-convention"));
        if name == "identity registered" {
            expected.push((collision, 9, "name-collision"));
        }
    }
    assert_eq!(findings(&catalog), expected);

    let rendered: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
    let file = path("authsome-before");
    let file = file.display();
    assert!(rendered.contains(&format!(
        "{file}:33:17: error[personal-distinct-id]: identity `email` is personal data and keys events as their distinct_id\n  = help: key events by a stable internal id (e.g. a principal id), or set pseudonymize = true"
    )));
    assert!(rendered.contains(&format!(
        "{file}:99:9: error[name-collision]: event `identity_registered` collides with `identity registered`: both read as `identity_registered`\n  = help: keep one name and deprecate the other with a `replacement`"
    )));
}

#[test]
fn teleport_keys_everything_by_the_license_account() {
    let catalog = load("teleport");
    assert_eq!(catalog.namespace(), "tp.");
    assert_eq!(catalog.wire_name("user.login"), "tp.user.login");
    assert_eq!(catalog.person(), Some("account"));
    assert_eq!(catalog.on_missing(), OnMissing::Drop);
    let account = catalog.identity_kind("account").unwrap();
    assert_eq!(account.format(), Some("tp.{id}"));
    assert_eq!(account.source(), tally_catalog::model::IdentitySource::Process);

    let login = catalog.event("user.login").unwrap();
    assert_eq!(catalog.role_event(Role::Login), Some("user.login"));
    assert_eq!(catalog.role_event(Role::LoginFailed), Some("user.login_failed"));
    let user_name = login.property("user_name").unwrap();
    assert_eq!(user_name.privacy(), Privacy::Pseudonymize);
    assert!(user_name.non_empty());
    let connector = login.property("connector_type").unwrap();
    assert!(!connector.required());
    assert_eq!(connector.values(), Some(&["github".to_owned(), "saml".into(), "oidc".into()][..]));
    let set_once = |event: &tally_catalog::model::EventDef, name: &str| {
        event.set_once().find(|(key, _)| *key == name).map(|(_, person)| person.clone())
    };
    assert_eq!(set_once(login, "first_login").unwrap().from(), "timestamp");
    let sso = set_once(login, "first_sso_login").unwrap();
    assert_eq!(sso.when(), Some("connector_type"));
    let sso_create = catalog.event("sso.create").unwrap().property("connector_type").unwrap();
    assert!(sso_create.required() && sso_create.non_empty());
    assert!(set_once(catalog.event("session.start").unwrap(), "first_session").is_some());

    let ui: Vec<&str> = catalog.events().filter(|(name, _)| name.starts_with("ui.")).map(|(name, _)| name).collect();
    assert_eq!(ui.len(), 7);
    for name in ui {
        let event = catalog.event(name).unwrap();
        assert_eq!(event.origin(), Origin::Client, "{name}");
        assert_eq!(event.category(), Some("ui"), "{name}");
    }
    assert!(catalog.category("ui").unwrap().allowed("naming-convention").is_some());
}

#[test]
fn timetracker_fills_its_automatic_properties() {
    let catalog = load("timetracker");
    assert_eq!(catalog.events().count(), 26);
    assert_eq!(catalog.common_properties().map(|(name, _)| name).collect::<Vec<_>>(), ["timestamp", "request_id"]);
    let common = |name: &str| catalog.common_property(name).unwrap();
    assert_eq!(common("timestamp").fill(), Some(&Fill::Timestamp));
    assert_eq!(common("timestamp").ty(), PropertyType::Datetime);
    assert_eq!(common("request_id").fill(), Some(&Fill::RequestId));
    for (name, event) in catalog.events() {
        assert!(event.property("timestamp").is_none(), "{name} repeats the common timestamp");
    }
    let timer = catalog.event("timer.started").unwrap();
    let task_id = timer.property("task_id").unwrap();
    assert!(task_id.nullable() && !task_id.required());
    assert_eq!(timer.property("description").unwrap().privacy(), Privacy::Drop);
    let username = catalog.event("auth.login_failed").unwrap().property("username").unwrap();
    assert_eq!(username.privacy(), Privacy::Pseudonymize);
    let fields = catalog.event("project.updated").unwrap().property("fields_changed").unwrap();
    assert_eq!((fields.ty(), fields.items()), (PropertyType::Array, Some(PropertyType::String)));
    for (role, event) in [
        (Role::Login, "auth.login"),
        (Role::LoginFailed, "auth.login_failed"),
        (Role::Logout, "auth.logout"),
        (Role::Error, "system.error"),
    ] {
        assert_eq!(catalog.role_event(role), Some(event));
    }
    let endpoint = catalog.event("system.error").unwrap().property("endpoint").unwrap();
    assert_eq!(endpoint.fill(), Some(&Fill::Route));
    assert_eq!(catalog.on_missing(), OnMissing::Personless);
    assert_eq!(catalog.privacy_rules().len(), 6);
    assert_eq!(catalog.changelog()[0].date(), Some("2025-10-20"));
}

#[test]
fn authsome_keys_accounts_by_principal_and_agents_by_handle() {
    let catalog = load("authsome");
    assert_eq!(catalog.on_missing(), OnMissing::Anonymous);
    let links: Vec<&str> = catalog.identity_kind("agent").unwrap().links().collect();
    assert_eq!(links, ["principal"]);
    for (name, event) in catalog.events() {
        assert!(tally_catalog::naming::is_snake_case(name), "{name}");
        let expected = if event.category() == Some("agent") { "agent" } else { "principal" };
        assert_eq!(catalog.identity_of(event), Some(expected), "{name}");
    }
    // Every event of the audit's inventory, normalized.
    for name in [
        "account_registered",
        "account_logged_in",
        "account_logged_out",
        "identity_claimed",
        "identity_registered",
        "auth_session_completed",
        "auth_session_failed",
        "provider_registered",
        "provider_deleted",
        "provider_configuration_updated",
        "connection_logout",
        "connection_revoked",
        "connection_made_global",
        "global_connection_removed",
        "credentials_exported",
        "credentials_resolved",
        "principal_registered",
        "identity_claim_rejected",
    ] {
        assert!(catalog.event(name).is_some(), "{name} is missing");
    }
    let claimed = catalog.event("identity_claimed").unwrap();
    for property in ["principal_id", "identity_handle", "did"] {
        assert!(claimed.property(property).is_some(), "identity_claimed lacks {property}");
    }
    assert_eq!(catalog.role_event(Role::Login), Some("account_logged_in"));
    assert_eq!(catalog.role_event(Role::Logout), Some("account_logged_out"));
    assert!(catalog.role_event(Role::LoginFailed).is_some());
    assert!(catalog.funnels().next().is_some());
}

#[test]
fn auterity_has_its_envelope_categories_and_retention() {
    let catalog = load("auterity");
    assert_eq!(catalog.events().count(), 30);
    let common: Vec<(&str, String)> =
        catalog.common_properties().map(|(name, property)| (name, property.fill().unwrap().to_string())).collect();
    assert_eq!(
        common,
        [
            ("event_id", "event_id".to_owned()),
            ("event_name", "event_name".into()),
            ("event_type", "category".into()),
            ("timestamp", "timestamp".into()),
            ("organization_id", "group.organization".into()),
            ("version", "catalog_version".into()),
            ("source", "service".into()),
            ("environment", "environment".into()),
        ]
    );
    let categories: Vec<&str> = catalog.categories().map(|(name, _)| name).collect();
    assert_eq!(categories, ["user", "workflow", "ai", "integration", "api", "system", "security", "business"]);
    assert_eq!(catalog.retention_class("security_events").unwrap().period(), "7 years");
    assert_eq!(catalog.retention_class("workflow_events").unwrap().archive_after(), Some("6 months"));
    assert_eq!(catalog.group("organization").unwrap().property(), Some("organization_id"));
    for (role, event) in [
        (Role::Login, "user.login"),
        (Role::LoginAttempt, "security.login_attempt"),
        (Role::Logout, "user.logout"),
        (Role::SessionExpired, "user.session_expired"),
        (Role::RequestReceived, "api.request_received"),
        (Role::RequestCompleted, "api.request_completed"),
        (Role::RequestFailed, "api.request_failed"),
        (Role::Error, "system.error_occurred"),
    ] {
        assert_eq!(catalog.role_event(role), Some(event));
    }
    assert!(catalog.fails_on(tally_catalog::model::StatusClass::ClientError), "the seed: 4xx and 5xx fail");
    let completed = catalog.event("api.request_completed").unwrap();
    assert_eq!(catalog.duration_property(completed), Some(("processing_time", PropertyType::Number)));
    let property = |event: &str, name: &str| catalog.event(event).unwrap().property(name).unwrap();
    assert_eq!(property("api.request_completed", "endpoint").fill(), Some(&Fill::Route));
    assert_eq!(property("api.request_completed", "response_status").fill(), Some(&Fill::Status));
    assert_eq!(property("user.login", "ip_address").privacy(), Privacy::AnonymizeIp);
    assert_eq!(property("system.error_occurred", "stack_trace").privacy(), Privacy::Drop);
    assert_eq!(property("api.request_received", "api_key_id").privacy(), Privacy::Pseudonymize);
    // Every event is in a declared category, and the ip addresses are all anonymized.
    for (name, event) in catalog.events() {
        assert!(event.category().is_some_and(|c| catalog.category(c).is_some()), "{name}");
        if let Some(ip) = event.property("ip_address") {
            assert_eq!(ip.privacy(), Privacy::AnonymizeIp, "{name}");
        }
    }
}
