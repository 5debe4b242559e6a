//! Whatever text it is given, loading and linting a catalog returns diagnostics: it never
//! panics, and every diagnostic points inside the file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use proptest::prelude::*;
use tally_catalog::{Catalog, Diagnostic};

const SEEDS: [&str; 5] = ["teleport", "timetracker", "authsome-before", "authsome", "auterity"];

fn seed_texts() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/catalogs");
    SEEDS.iter().map(|name| std::fs::read_to_string(dir.join(format!("{name}.toml"))).unwrap()).collect()
}

/// Loads and lints `text`, and checks every diagnostic's position and rendering.
fn check(text: &str) {
    let diagnostics: Vec<Diagnostic> = match Catalog::parse("fuzz.toml", text) {
        Ok(catalog) => {
            let _ = catalog.events().count();
            for (_, event) in catalog.events() {
                let _ = catalog.identity_of(event);
                let _ = catalog.duration_property(event);
            }
            catalog.lint()
        }
        Err(error) => {
            assert!(!error.diagnostics().is_empty(), "a load error without a diagnostic");
            error.into_diagnostics()
        }
    };
    let lines = text.split('\n').count();
    for diagnostic in &diagnostics {
        let location = &diagnostic.location();
        assert!(location.line() >= 1 && location.line() <= lines, "{diagnostic} is outside the file ({lines} lines)");
        assert!(location.column() >= 1, "{diagnostic}");
        let rendered = diagnostic.to_string();
        assert!(rendered.starts_with(&format!("fuzz.toml:{}:{}: ", location.line(), location.column())), "{rendered}");
    }
}

/// One edit of a catalog's text.
#[derive(Debug, Clone)]
enum Mutation {
    DeleteByte(usize),
    InsertByte(usize, u8),
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Bytes that matter to TOML, plus anything at all.
    let byte = prop_oneof![prop::sample::select(b"[]{}\"'=.,#\n \t-_0123456789aztrue".to_vec()), any::<u8>(),];
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteByte),
        (any::<usize>(), byte).prop_map(|(at, byte)| Mutation::InsertByte(at, byte)),
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
    ]
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for mutation in mutations {
        match *mutation {
            Mutation::DeleteByte(at) if !bytes.is_empty() => {
                bytes.remove(at % bytes.len());
            }
            Mutation::InsertByte(at, byte) => bytes.insert(at % (bytes.len() + 1), byte),
            Mutation::DeleteLine(at) | Mutation::DuplicateLine(at) | Mutation::SwapLines(at, _) => {
                let mut lines: Vec<Vec<u8>> = bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
                let i = at % lines.len();
                match *mutation {
                    Mutation::DeleteLine(_) => {
                        lines.remove(i);
                    }
                    Mutation::DuplicateLine(_) => lines.insert(i, lines[i].clone()),
                    Mutation::SwapLines(_, other) => {
                        let j = other % lines.len();
                        lines.swap(i, j);
                    }
                    _ => {}
                }
                bytes = lines.join(&b'\n');
            }
            Mutation::DeleteByte(_) => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check(&text);
    }

    #[test]
    fn toml_like_text_never_panics(text in r#"(\[\[?[a-z."_ ]{0,12}\]\]?\n|[a-z_."]{1,12} ?= ?("[a-z0-9.{} ]{0,10}"|[0-9]{1,3}|true|\[("[a-z.]{0,6}",?){0,3}\]|\{[a-z_]{1,8} = "[a-z_.]{0,8}"\})\n|#[^\n]{0,10}\n){0,30}"#) {
        check(&text);
    }

    #[test]
    fn toml_like_text_after_a_valid_header_never_panics(body in r#"(\[[a-z."_ ]{0,20}\]\n|[a-z_."]{1,16} ?= ?("[a-z0-9.{} ]{0,10}"|[0-9]{1,3}|true|\[("[a-z._ ]{0,8}",?){0,3}\]|\{ ?type = "[a-z]{3,8}"( ?, ?[a-z_]{3,9} = ("[a-z_.]{0,14}"|true|\["[a-z]{1,4}"\]))? ?\})\n){0,30}"#) {
        check(&format!("[catalog]\nname = \"fuzz\"\nversion = \"1.0.0\"\n{body}"));
    }

    #[test]
    fn mutated_seed_catalogs_never_panic(seed in 0..SEEDS.len(), mutations in prop::collection::vec(mutation(), 1..8)) {
        let texts = seed_texts();
        check(&apply(&texts[seed], &mutations));
    }
}

#[test]
fn edge_cases_never_panic() {
    for text in [
        "",
        "\n",
        "\u{feff}",
        "[catalog]",
        "[catalog]\nname = \"é\"\nversion = \"1.0.0\"\nnamespace = \"é.\"\n",
        "[catalog]\nname = \"x\"\nversion = \"1.0.0\"\n[events.\"\u{1F600}\"]\n",
        "[catalog]\r\nname = \"x\"\r\nversion = \"1.0.0\"\r\n[events.\"a.b\"]\r\nrole = \"nope\"\r\n",
        "[catalog]\nname = \"x\"\nversion = \"1.0.0\"\n[identity]\nperson = \"\"\n",
        "[catalog]\nname = \"x\"\nversion = \"1.0.0\"\n[events.\"a.b\"]\nproperties.p = { type = \"string\", fill = \"identity.\" }\n",
        "[catalog]\nname = \"x\"\nversion = \"1.0.0\"\n[[changelog]]\nversion = \"\"\nchanges = []\n",
        "[catalog]\nname = \"x\"\nversion = \"1.0.0\"\n[lints]\n\"\" = \"allow\"\n",
        "[catalog]\nname = \"x\"\nversion = \"1.0.0\"\n[retention.r]\nperiod = \"0 days\"\n",
        "[catalog]\nname = \"x\"\nversion = \"1.0.0\"\n[retention.r]\nperiod = \" \"\n",
        "[catalog]\nname = \"x\"\nversion = \"1.0.0\"\n[funnels.f]\nsteps = []\n",
    ] {
        check(text);
    }
}
