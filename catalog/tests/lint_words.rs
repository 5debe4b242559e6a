//! The personal-data lint knows ids from prose: the notes app of issue #21, whose every
//! `note_id` used to be flagged as "free text" with advice to drop it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use tally_catalog::Catalog;

#[test]
fn a_notes_app_gets_one_finding_for_its_one_free_text_property() {
    let catalog = Catalog::parse("notes.toml", include_str!("fixtures/notes_app.toml")).unwrap();
    let findings = catalog.lint();
    let flagged: Vec<(String, &str)> = findings.iter().map(|d| (d.location().to_string(), d.code())).collect();
    // Only `comment`, which is text a person wrote; no id, count, kind or ref.
    assert_eq!(flagged, [("notes.toml:23:12".to_owned(), "personal-data-unclassified")], "{findings:#?}");
    assert!(findings[0].message().contains("`comment`"), "{}", findings[0].message());
}

#[test]
fn the_help_for_free_text_offers_pseudonymize_and_an_allow_besides_drop() {
    let catalog = Catalog::parse("notes.toml", include_str!("fixtures/notes_app.toml")).unwrap();
    let help = catalog.lint()[0].help().unwrap().to_owned();
    assert!(help.contains("pseudonymize"), "{help}");
    assert!(help.contains("allow = { personal-data-unclassified"), "{help}");
}
