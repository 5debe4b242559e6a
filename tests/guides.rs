//! The guides cannot rot: every Rust block of README.md and docs/*.md is a doctest of this
//! crate, because each guide is the documentation of an item (`#[doc = include_str!(…)]` in
//! src/lib.rs); none is `ignore`d but the one that needs crates tally does not depend on; the
//! README states how many there are; every link between guides has a rustdoc target; and the
//! getting-started catalog declares the events its examples emit as the catalog they compile
//! against does.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tally::catalog::Catalog;

/// Guides that document no Rust item (the `tally` command's live page, measurements): shown on
/// GitHub only, so they must have no Rust block.
const NOT_ON_AN_ITEM: &[&str] = &["docs/benchmarks.md", "docs/dev.md"];

/// The one block allowed to be `ignore`: a build script for a scratch crate with
/// tonic-prost-build and protoc-bin-vendored, which tally does not depend on.
const IGNORED: &[(&str, &str)] = &[("docs/middleware.md", "tonic_prost_build::configure()")];

/// The words after ``` that rustdoc reads as attributes of a Rust block; any other word names
/// another language.
const RUSTDOC_ATTRIBUTES: &[&str] =
    &["rust", "ignore", "no_run", "should_panic", "compile_fail", "test_harness", "standalone_crate"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// README.md and every docs/*.md, as paths relative to the crate.
fn guides() -> Vec<String> {
    let mut files = vec!["README.md".to_owned()];
    let docs = std::fs::read_dir(root().join("docs")).expect("docs/ is readable");
    let mut names: Vec<String> = docs
        .map(|entry| entry.expect("a docs/ entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    names.sort();
    files.extend(names);
    files
}

/// A fenced code block: its info string (the words after ```), first line, and 1-based line.
struct Block {
    info: String,
    body: String,
    line: usize,
}

impl Block {
    /// Whether rustdoc compiles it as Rust (a bare fence counts: rustdoc's default language).
    fn is_rust(&self) -> bool {
        self.words().all(|word| RUSTDOC_ATTRIBUTES.contains(&word) || word.starts_with("edition"))
    }

    fn is_ignored(&self) -> bool {
        self.words().any(|word| word == "ignore" || word.starts_with("ignore-"))
    }

    fn words(&self) -> impl Iterator<Item = &str> {
        self.info.split([',', ' ', '\t']).filter(|word| !word.is_empty())
    }
}

/// The fenced blocks of a Markdown text (``` fences, possibly indented in a list item).
fn blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        match (&mut open, trimmed.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block { info: info.trim().to_owned(), body: String::new(), line: index + 1 })
            }
            (Some(_), Some("")) => blocks.extend(open.take()),
            (Some(block), _) => {
                block.body.push_str(trimmed);
                block.body.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "an unclosed code fence");
    blocks
}

/// The text outside code blocks, where links are.
fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        } else if !in_code {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The files src/lib.rs shows as documentation: `doc = include_str!("../<file>")`.
fn included() -> Vec<String> {
    let lib = read("src/lib.rs");
    lib.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .filter_map(|line| line.split_once("doc = include_str!(\"../").map(|(_, rest)| rest))
        .filter_map(|rest| rest.split_once('"').map(|(file, _)| file.to_owned()))
        .collect()
}

#[test]
fn every_rust_block_of_the_guides_is_a_doctest() {
    let included = included();
    assert!(!read("src/lib.rs").contains("cfg(doctest)"), "the guides are documentation, not a hidden doctest module");
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut ignored = Vec::new();
    for file in guides() {
        let rust: Vec<Block> = blocks(&read(&file)).into_iter().filter(Block::is_rust).collect();
        let shown = included.contains(&file);
        if NOT_ON_AN_ITEM.contains(&file.as_str()) {
            assert!(!shown, "{file} is listed as shown nowhere but src/lib.rs includes it");
            assert!(rust.is_empty(), "{file} has Rust blocks: show it on an item so that they compile");
            continue;
        }
        assert!(shown, "{file} is not the documentation of any item: add `#[doc = include_str!(\"../{file}\")]`");
        for block in rust.iter().filter(|block| block.is_ignored()) {
            let allowed = IGNORED.iter().any(|(f, needle)| *f == file && block.body.contains(needle));
            assert!(
                allowed,
                "{file}:{}: an `ignore`d Rust block: make it compile (hidden `# ` lines) or `no_run`",
                block.line
            );
            ignored.push(format!("{file}:{}", block.line));
        }
        counts.insert(file, rust.len());
    }
    assert_eq!(ignored.len(), IGNORED.len(), "an allowed `ignore` block is gone: drop it from IGNORED");

    let total: usize = counts.values().sum();
    let compiled = total - ignored.len();
    println!("{total} Rust blocks in README.md and docs/*.md, {compiled} compiled as doctests of `tally`:");
    for (file, count) in counts.iter().filter(|(_, count)| **count > 0) {
        println!("  {file}: {count}");
    }
    println!("not compiled: {}", ignored.join(", "));

    // The README says how many; this keeps the number true.
    let claim = format!("their {total} Rust blocks");
    assert!(read("README.md").contains(&claim), "README.md should say \"{claim}\" (the count changed)");
}

/// The labels a link-definition file defines.
fn labels(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix('[')?.split_once("]: ").map(|(label, _)| label.to_owned()))
        .collect()
}

/// The files src/lib.rs includes right after `guide_links_middleware.md` (in the same run of
/// attributes), which therefore link to `tally::middleware` when the feature is on.
fn with_middleware_links() -> Vec<String> {
    let mut files = Vec::new();
    let mut pending = false;
    for line in read("src/lib.rs").lines().map(str::trim) {
        if line.contains("guide_links_middleware.md") {
            pending = true;
        } else if !line.starts_with("#") {
            pending = false;
        } else if pending && let Some((_, rest)) = line.split_once("doc = include_str!(\"../") {
            files.extend(rest.split_once('"').map(|(file, _)| file.to_owned()));
        }
    }
    files
}

#[test]
fn every_link_between_guides_has_a_rustdoc_target() {
    let links = read("src/guide_links.md");
    let defined = labels(&links);
    let to_middleware = labels(&read("src/guide_links_middleware.md"));
    let with_middleware = with_middleware_links();
    for file in included() {
        let text = prose(&read(&file));
        for label in &to_middleware {
            assert!(
                !text.contains(&format!("][{label}]")) || with_middleware.contains(&file),
                "{file} links to the middleware guide: include guide_links_middleware.md before it in src/lib.rs"
            );
        }
        // Inline links to relative paths cannot be redirected to an item: use reference links.
        for (at, _) in text.match_indices("](") {
            let target = &text[at + 2..];
            let relative = !(target.starts_with("http") || target.starts_with('#') || target.starts_with("mailto:"));
            assert!(
                !relative,
                "{file}: an inline link to a relative path ({}): write it as `[text][path]` with `[path]: path` \
                 at the end, and give `path` a rustdoc target in src/guide_links.md",
                &target[..target.find(')').unwrap_or(target.len())]
            );
        }
        // Each GitHub-relative definition at the end of a guide has a rustdoc one, which wins.
        for line in text.lines() {
            let Some((label, target)) = line.strip_prefix('[').and_then(|rest| rest.split_once("]: ")) else {
                continue;
            };
            if label.contains(']') || target.contains(' ') || target.starts_with("http") || target.starts_with('#') {
                continue; // a link followed by a colon, or a definition rustdoc can follow as is
            }
            assert!(
                defined.iter().any(|d| d == label),
                "{file}: link `[{label}]` has no rustdoc target in src/guide_links.md"
            );
        }
    }
}

/// The doctests compile against this crate's catalog (`[package.metadata.tally] catalog`), a
/// reader's code against the catalog getting-started.md tells them to write: both must agree on
/// the events the examples name, or the README's example fails for a new user (it once lacked
/// `project_name`).
#[test]
fn the_getting_started_catalog_agrees_with_the_one_the_doctests_compile_against() {
    let manifest: toml::Table = read("Cargo.toml").parse().expect("Cargo.toml parses");
    let compiled_against = manifest["package"]["metadata"]["tally"]["catalog"].as_str().expect("a catalog path");
    let compiled = Catalog::from_path(root().join(compiled_against)).expect("the doctests' catalog loads");

    let guide = read("docs/getting-started.md");
    let toml_block = blocks(&guide).into_iter().find(|block| block.info == "toml" && block.body.contains("[catalog]"));
    let toml_block = toml_block.expect("getting-started.md writes a catalog");
    let written = Catalog::parse(Path::new("docs/getting-started.md"), toml_block.body).expect("it is a valid catalog");
    // As `tally check` prints them: `file:line:col: error[rule]: …` (warnings pass).
    let errors: Vec<String> =
        written.lint().iter().map(ToString::to_string).filter(|line| line.contains(": error[")).collect();
    assert!(errors.is_empty(), "getting-started.md's catalog fails `tally check`: {errors:#?}");

    let shape = |catalog: &Catalog, name: &str| -> Vec<(String, &'static str, bool)> {
        let event = catalog.event(name).unwrap_or_else(|| panic!("`{name}` is not in {}", catalog.name()));
        catalog
            .properties_of(event)
            .filter(|(_, def)| def.fill().is_none()) // what the caller passes; the pipeline fills the rest
            .map(|(property, def)| (property.to_owned(), def.ty().as_str(), def.required()))
            .collect()
    };
    // The events the README's and the guide's Rust blocks name: the macro checks those.
    let code: String = [read("README.md"), guide]
        .iter()
        .flat_map(|text| blocks(text))
        .filter(Block::is_rust)
        .map(|block| block.body)
        .collect();
    let emitted: Vec<&str> =
        written.events().map(|(name, _)| name).filter(|name| code.contains(&format!("\"{name}\""))).collect();
    assert!(!emitted.is_empty(), "the examples emit no event of getting-started.md's catalog");
    for name in emitted {
        assert_eq!(
            shape(&written, name),
            shape(&compiled, name),
            "`{name}` differs between getting-started.md's catalog and {compiled_against}"
        );
    }
}
