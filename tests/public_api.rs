//! The public API of tally, tally-runtime, tally-middleware and tally-catalog, as one sorted
//! listing per crate checked in under `tests/public-api/`, so that any change to the surface is a
//! visible diff in review. No release exists yet, so cargo-semver-checks has no baseline; this
//! stands in for it until there is one.
//!
//! The listing is read from rustdoc's JSON output, built by the toolchain running the test
//! (`RUSTC_BOOTSTRAP=1` lets a stable rustdoc write it) into `target/public-api/`, a target
//! directory of its own: the flags differ from the test build's, and sharing one would rebuild
//! both each time. After an intended change, regenerate the files with
//! `UPDATE_PUBLIC_API=1 cargo test -p tally --test public_api` and commit them.
//!
//! One line per public item at each public path: modules; re-exports of other crates' items
//! (`pub use path = source`, the item itself is listed in its own crate's file); types with
//! their public fields and variants; functions and methods (parameter types, not names); trait
//! implementations with their associated types (no blanket implementations; of the auto traits
//! only `Send`, `Sync` and `Unpin`); constants, statics, type aliases and macros. A type in a
//! signature is named by its public path. An item reachable at two paths is listed twice.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value};

/// The published library crates: package name and library name.
const CRATES: [(&str, &str); 4] = [
    ("tally", "tally"),
    ("tally-runtime", "tally_runtime"),
    ("tally-middleware", "tally_middleware"),
    ("tally-catalog", "tally_catalog"),
];

/// The auto-trait implementations worth a line: whether a type crosses threads or can be moved
/// out of a pin is part of its contract; the others follow from the fields.
const AUTO_TRAITS: [&str; 3] = ["Send", "Sync", "Unpin"];

#[test]
fn the_public_api_is_the_checked_in_one() {
    let docs = build_rustdoc_json();
    let crates: Vec<Crate> = CRATES.iter().map(|(_, lib)| Crate::load(&docs.join(format!("{lib}.json")))).collect();
    let mut public = HashMap::new();
    for krate in &crates {
        krate.public_paths(&mut public);
    }
    let update = std::env::var_os("UPDATE_PUBLIC_API").is_some();
    let mut differences = String::new();
    for ((package, _), krate) in CRATES.iter().zip(&crates) {
        let listing = krate.render(&public);
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/public-api").join(format!("{package}.txt"));
        if update {
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, &listing).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&file).unwrap_or_default();
        if expected != listing {
            let old: BTreeSet<&str> = expected.lines().collect();
            let new: BTreeSet<&str> = listing.lines().collect();
            differences.push_str(&format!("\n{}:\n", file.display()));
            for line in old.difference(&new) {
                differences.push_str(&format!("- {line}\n"));
            }
            for line in new.difference(&old) {
                differences.push_str(&format!("+ {line}\n"));
            }
        }
    }
    assert!(
        differences.is_empty(),
        "the public API changed (- checked in, + now):\n{differences}\nIf the change is intended, list it in CHANGELOG.md and run \
         `UPDATE_PUBLIC_API=1 cargo test -p tally --test public_api`."
    );
}

/// Builds the four crates' rustdoc JSON with all features and returns the `doc` directory.
fn build_rustdoc_json() -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("public-api");
    let output = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["doc", "--no-deps", "--all-features", "--quiet"])
        .args(CRATES.iter().flat_map(|(package, _)| ["-p", package]))
        .env("CARGO_TARGET_DIR", &target)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("RUSTDOCFLAGS", "-Z unstable-options --output-format json")
        .env_remove("CARGO_ENCODED_RUSTDOCFLAGS")
        .output()
        .unwrap();
    assert!(output.status.success(), "cargo doc (JSON) failed:\n{}", String::from_utf8_lossy(&output.stderr));
    target.join("doc")
}

/// One crate's rustdoc JSON.
struct Crate {
    name: String,
    format: u64,
    root: String,
    index: Map<String, Value>,
    paths: Map<String, Value>,
}

impl Crate {
    fn load(file: &Path) -> Self {
        let text = std::fs::read_to_string(file).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
        let mut json: Value = serde_json::from_str(&text).unwrap();
        let root = id(&json["root"]);
        let index = json["index"].as_object_mut().map(std::mem::take).unwrap();
        let paths = json["paths"].as_object_mut().map(std::mem::take).unwrap();
        let name = index[&root]["name"].as_str().unwrap().to_owned();
        Crate { name, format: json["format_version"].as_u64().unwrap(), root, index, paths }
    }

    /// Records, for each item this crate defines, its shortest public path under the path it
    /// is defined at (what other crates' JSON calls it).
    fn public_paths(&self, public: &mut HashMap<String, String>) {
        let mut found: Vec<(String, String)> = Vec::new();
        self.visit(&self.root, &self.name, &mut Vec::new(), &mut |id, path| {
            found.push((id.to_owned(), path.to_owned()))
        });
        found.sort_by_key(|(_, path)| (path.matches("::").count(), path.clone()));
        for (id, path) in found {
            if let Some(defined) = self.paths.get(&id) {
                public.entry(joined(&defined["path"])).or_insert(path);
            }
        }
    }

    /// Calls `found` with every local item reachable from module `module` and its public path.
    fn visit(&self, module: &str, path: &str, open: &mut Vec<String>, found: &mut dyn FnMut(&str, &str)) {
        if open.iter().any(|id| id == module) {
            return;
        }
        open.push(module.to_owned());
        found(module, path);
        for child in self.index[module]["inner"]["module"]["items"].as_array().into_iter().flatten() {
            let child = id(child);
            let Some(item) = self.index.get(&child) else { continue };
            let (target, name) = match item["inner"].get("use") {
                Some(using) if using["is_glob"] == true => {
                    if let Some(target) = using["id"].as_u64().map(|id| id.to_string())
                        && self.index.get(&target).is_some_and(|t| t["inner"].get("module").is_some())
                    {
                        self.visit(&target, path, open, found);
                    }
                    continue;
                }
                Some(using) => (using["id"].as_u64().map(|id| id.to_string()), using["name"].as_str().unwrap_or("")),
                None => (Some(child.clone()), item["name"].as_str().unwrap_or("")),
            };
            let child_path = format!("{path}::{name}");
            match target.filter(|target| self.index.contains_key(target)) {
                Some(target) if self.index[&target]["inner"].get("module").is_some() => {
                    self.visit(&target, &child_path, open, found)
                }
                Some(target) => found(&target, &child_path),
                None => {}
            }
        }
        open.pop();
    }

    /// The listing: a header naming the JSON format, then one sorted line per public item.
    fn render(&self, public: &HashMap<String, String>) -> String {
        let mut lines = BTreeSet::new();
        let render = Render { krate: self, public };
        self.render_module(&self.root, &self.name, &render, &mut lines, &mut Vec::new());
        let mut out = format!("# {} public API (rustdoc JSON format {})\n", self.name, self.format);
        for line in lines {
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    fn render_module(
        &self,
        module: &str,
        path: &str,
        render: &Render<'_>,
        lines: &mut BTreeSet<String>,
        open: &mut Vec<String>,
    ) {
        if open.iter().any(|id| id == module) {
            return;
        }
        open.push(module.to_owned());
        lines.insert(format!("pub mod {path}"));
        for child in self.index[module]["inner"]["module"]["items"].as_array().into_iter().flatten() {
            let child = id(child);
            let Some(item) = self.index.get(&child) else { continue };
            let Some(using) = item["inner"].get("use") else {
                let child_path = format!("{path}::{}", item["name"].as_str().unwrap_or(""));
                self.render_item(&child, &child_path, render, lines, open);
                continue;
            };
            let target = using["id"].as_u64().map(|id| id.to_string());
            let local = target.clone().filter(|target| self.index.contains_key(target));
            let source = match &target {
                Some(target) => {
                    render.item_path(target).unwrap_or_else(|| using["source"].as_str().unwrap().to_owned())
                }
                None => using["source"].as_str().unwrap().to_owned(),
            };
            if using["is_glob"] == true {
                match local {
                    Some(local) if self.index[&local]["inner"].get("module").is_some() => {
                        let items = self.index[&local]["inner"]["module"]["items"].clone();
                        for grandchild in items.as_array().into_iter().flatten() {
                            let grandchild = id(grandchild);
                            let Some(name) = self.index.get(&grandchild).and_then(|i| i["name"].as_str()) else {
                                continue;
                            };
                            self.render_item(&grandchild, &format!("{path}::{name}"), render, lines, open);
                        }
                    }
                    _ => {
                        lines.insert(format!("pub use {path}::* = {source}::*"));
                    }
                }
                continue;
            }
            let child_path = format!("{path}::{}", using["name"].as_str().unwrap_or(""));
            match local {
                Some(local) => self.render_item(&local, &child_path, render, lines, open),
                None => {
                    lines.insert(format!("pub use {child_path} = {source}"));
                }
            }
        }
        open.pop();
    }

    fn render_item(
        &self,
        item_id: &str,
        path: &str,
        render: &Render<'_>,
        lines: &mut BTreeSet<String>,
        open: &mut Vec<String>,
    ) {
        let item = &self.index[item_id];
        let attrs = attributes(item);
        let (kind, inner) = item["inner"].as_object().and_then(|inner| inner.iter().next()).unwrap();
        match kind.as_str() {
            "module" => self.render_module(item_id, path, render, lines, open),
            "struct" | "union" => {
                let generics = render.generics(&inner["generics"]);
                lines.insert(format!("{attrs}pub {kind} {path}{}{}", generics.params, generics.clauses));
                let fields = match &inner["kind"] {
                    Value::Object(shape) if shape.contains_key("plain") => shape["plain"]["fields"].clone(),
                    Value::Object(shape) if shape.contains_key("tuple") => shape["tuple"].clone(),
                    _ => inner["fields"].clone(),
                };
                for (position, field) in fields.as_array().into_iter().flatten().enumerate() {
                    let Some(field) = field.as_u64().and_then(|f| self.index.get(&f.to_string())) else { continue };
                    let name = field["name"].as_str().map_or(position.to_string(), str::to_owned);
                    lines.insert(format!("pub {path}::{name}: {}", render.ty(&field["inner"]["struct_field"])));
                }
                self.render_impls(inner, path, render, lines);
            }
            "enum" => {
                let generics = render.generics(&inner["generics"]);
                lines.insert(format!("{attrs}pub enum {path}{}{}", generics.params, generics.clauses));
                for variant in inner["variants"].as_array().into_iter().flatten() {
                    let variant = &self.index[&id(variant)];
                    let name = variant["name"].as_str().unwrap_or("");
                    let shape = match &variant["inner"]["variant"]["kind"] {
                        Value::Object(shape) if shape.contains_key("tuple") => {
                            let types: Vec<String> = shape["tuple"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .map(|f| match f.as_u64() {
                                    Some(f) => render.ty(&self.index[&f.to_string()]["inner"]["struct_field"]),
                                    None => "_".to_owned(),
                                })
                                .collect();
                            format!("({})", types.join(", "))
                        }
                        Value::Object(shape) if shape.contains_key("struct") => {
                            let fields: Vec<String> = shape["struct"]["fields"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .map(|f| {
                                    let field = &self.index[&id(f)];
                                    format!(
                                        "{}: {}",
                                        field["name"].as_str().unwrap_or(""),
                                        render.ty(&field["inner"]["struct_field"])
                                    )
                                })
                                .collect();
                            format!(" {{ {} }}", fields.join(", "))
                        }
                        _ => String::new(),
                    };
                    lines.insert(format!("{}{path}::{name}{shape}", attributes(variant)));
                }
                self.render_impls(inner, path, render, lines);
            }
            "trait" => {
                let generics = render.generics(&inner["generics"]);
                let bounds = render.bounds(&inner["bounds"]);
                let bounds = if bounds.is_empty() { String::new() } else { format!(": {bounds}") };
                let unsafety = if inner["is_unsafe"] == true { "unsafe " } else { "" };
                lines.insert(format!(
                    "{attrs}pub {unsafety}trait {path}{}{bounds}{}",
                    generics.params, generics.clauses
                ));
                for member in inner["items"].as_array().into_iter().flatten() {
                    let member = &self.index[&id(member)];
                    lines.insert(render.member(member, path));
                }
            }
            "function" => {
                lines.insert(format!("{attrs}{}", render.function(inner, path)));
            }
            "constant" => {
                lines.insert(format!("pub const {path}: {}", render.ty(&inner["type"])));
            }
            "static" => {
                let mutable = if inner["is_mutable"] == true { "mut " } else { "" };
                lines.insert(format!("pub static {mutable}{path}: {}", render.ty(&inner["type"])));
            }
            "type_alias" => {
                let generics = render.generics(&inner["generics"]);
                lines.insert(format!(
                    "pub type {path}{}{} = {}",
                    generics.params,
                    generics.clauses,
                    render.ty(&inner["type"])
                ));
            }
            "macro" => {
                lines.insert(format!("pub macro {path}!"));
            }
            "proc_macro" => {
                let shape = match inner["kind"].as_str() {
                    Some("attr") => format!("#[{path}]"),
                    Some("derive") => format!("#[derive({path})]"),
                    _ => format!("{path}!"),
                };
                lines.insert(format!("pub proc macro {shape}"));
            }
            other => {
                lines.insert(format!("pub {other} {path}"));
            }
        }
    }

    /// A type's inherent methods and constants, and its trait implementations.
    fn render_impls(&self, inner: &Value, path: &str, render: &Render<'_>, lines: &mut BTreeSet<String>) {
        for implementation in inner["impls"].as_array().into_iter().flatten() {
            let implementation = &self.index[&id(implementation)]["inner"]["impl"];
            if !implementation["blanket_impl"].is_null() {
                continue;
            }
            let generics = render.generics(&implementation["generics"]);
            let for_type = render.ty(&implementation["for"]);
            let Some(trait_) = implementation["trait"].as_object() else {
                if !generics.params.is_empty() || !generics.clauses.is_empty() {
                    lines.insert(format!("impl{} {for_type}{}", generics.params, generics.clauses));
                }
                for member in implementation["items"].as_array().into_iter().flatten() {
                    let member = &self.index[&id(member)];
                    if member["visibility"] == "public" {
                        lines.insert(render.member(member, path));
                    }
                }
                continue;
            };
            let trait_name = trait_["path"].as_str().unwrap_or("");
            let last = trait_name.rsplit("::").next().unwrap_or("");
            if implementation["is_synthetic"] == true && !AUTO_TRAITS.contains(&last) || last == "StructuralPartialEq" {
                continue;
            }
            let negative = if implementation["is_negative"] == true { "!" } else { "" };
            let unsafety = if implementation["is_unsafe"] == true { "unsafe " } else { "" };
            let mut associated: Vec<String> = implementation["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|member| {
                    let member = &self.index[&id(member)];
                    let ty = member["inner"].get("assoc_type")?;
                    Some(format!("type {} = {};", member["name"].as_str().unwrap_or(""), render.ty(&ty["type"])))
                })
                .collect();
            associated.sort();
            let body = if associated.is_empty() { String::new() } else { format!(" {{ {} }}", associated.join(" ")) };
            lines.insert(format!(
                "{unsafety}impl{} {negative}{} for {for_type}{}{body}",
                generics.params,
                render.path(trait_),
                generics.clauses
            ));
        }
    }
}

/// Renders types and signatures, naming each type by its public path.
struct Render<'a> {
    krate: &'a Crate,
    public: &'a HashMap<String, String>,
}

struct Generics {
    params: String,
    clauses: String,
}

impl Render<'_> {
    /// The public path of an item by id, when the crate knows its path.
    fn item_path(&self, item: &str) -> Option<String> {
        let defined = joined(&self.krate.paths.get(item)?["path"]);
        Some(self.public.get(&defined).cloned().unwrap_or(defined))
    }

    fn path(&self, path: &Map<String, Value>) -> String {
        let name = path["id"]
            .as_u64()
            .and_then(|item| self.item_path(&item.to_string()))
            .unwrap_or_else(|| path["path"].as_str().unwrap_or("").to_owned());
        format!("{name}{}", self.args(&path["args"]))
    }

    fn args(&self, args: &Value) -> String {
        if let Some(angle) = args.get("angle_bracketed") {
            let mut all: Vec<String> = angle["args"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|arg| match arg {
                    Value::Object(arg) if arg.contains_key("type") => self.ty(&arg["type"]),
                    Value::Object(arg) if arg.contains_key("lifetime") => {
                        arg["lifetime"].as_str().unwrap_or("").to_owned()
                    }
                    Value::Object(arg) if arg.contains_key("const") => {
                        arg["const"]["expr"].as_str().unwrap_or("_").to_owned()
                    }
                    _ => "_".to_owned(),
                })
                .collect();
            for constraint in angle["constraints"].as_array().into_iter().flatten() {
                let name = format!("{}{}", constraint["name"].as_str().unwrap_or(""), self.args(&constraint["args"]));
                match &constraint["binding"] {
                    Value::Object(binding) if binding.contains_key("equality") => {
                        let term = &binding["equality"];
                        let value = term.get("type").map_or("_".to_owned(), |ty| self.ty(ty));
                        all.push(format!("{name} = {value}"));
                    }
                    Value::Object(binding) if binding.contains_key("constraint") => {
                        all.push(format!("{name}: {}", self.bounds(&binding["constraint"])));
                    }
                    _ => {}
                }
            }
            if all.is_empty() { String::new() } else { format!("<{}>", all.join(", ")) }
        } else if let Some(parenthesized) = args.get("parenthesized") {
            let inputs: Vec<String> =
                parenthesized["inputs"].as_array().into_iter().flatten().map(|t| self.ty(t)).collect();
            let output = match &parenthesized["output"] {
                Value::Null => String::new(),
                output => format!(" -> {}", self.ty(output)),
            };
            format!("({}){output}", inputs.join(", "))
        } else {
            String::new()
        }
    }

    fn ty(&self, ty: &Value) -> String {
        let Some((kind, inner)) = ty.as_object().and_then(|ty| ty.iter().next()) else {
            return "_".to_owned();
        };
        match kind.as_str() {
            "resolved_path" => self.path(inner.as_object().unwrap()),
            "generic" | "primitive" => inner.as_str().unwrap_or("").to_owned(),
            "tuple" => {
                let items: Vec<String> = inner.as_array().into_iter().flatten().map(|t| self.ty(t)).collect();
                if items.len() == 1 { format!("({},)", items[0]) } else { format!("({})", items.join(", ")) }
            }
            "slice" => format!("[{}]", self.ty(inner)),
            "array" => format!("[{}; {}]", self.ty(&inner["type"]), inner["len"].as_str().unwrap_or("_")),
            "borrowed_ref" => {
                let lifetime = inner["lifetime"].as_str().map_or(String::new(), |l| format!("{l} "));
                let mutable = if inner["is_mutable"] == true { "mut " } else { "" };
                format!("&{lifetime}{mutable}{}", self.ty(&inner["type"]))
            }
            "raw_pointer" => {
                let mutable = if inner["is_mutable"] == true { "mut" } else { "const" };
                format!("*{mutable} {}", self.ty(&inner["type"]))
            }
            "impl_trait" => format!("impl {}", self.bounds(inner)),
            "dyn_trait" => {
                let mut traits: Vec<String> = inner["traits"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|poly| {
                        format!(
                            "{}{}",
                            self.for_lifetimes(&poly["generic_params"]),
                            self.path(poly["trait"].as_object().unwrap())
                        )
                    })
                    .collect();
                if let Some(lifetime) = inner["lifetime"].as_str() {
                    traits.push(lifetime.to_owned());
                }
                format!("dyn {}", traits.join(" + "))
            }
            "qualified_path" => {
                let name = format!("{}{}", inner["name"].as_str().unwrap_or(""), self.args(&inner["args"]));
                match inner["trait"].as_object() {
                    Some(trait_) => format!("<{} as {}>::{name}", self.ty(&inner["self_type"]), self.path(trait_)),
                    None => format!("{}::{name}", self.ty(&inner["self_type"])),
                }
            }
            "function_pointer" => {
                let (inputs, output) = self.signature(&inner["sig"]);
                format!("{}fn({}){output}", self.for_lifetimes(&inner["generic_params"]), inputs.join(", "))
            }
            "pat" => self.ty(&inner["type"]),
            "infer" => "_".to_owned(),
            other => format!("<{other}>"),
        }
    }

    fn for_lifetimes(&self, params: &Value) -> String {
        let names: Vec<&str> = params.as_array().into_iter().flatten().filter_map(|p| p["name"].as_str()).collect();
        if names.is_empty() { String::new() } else { format!("for<{}> ", names.join(", ")) }
    }

    fn bounds(&self, bounds: &Value) -> String {
        let all: Vec<String> = bounds
            .as_array()
            .into_iter()
            .flatten()
            .map(|bound| {
                if let Some(trait_bound) = bound.get("trait_bound") {
                    let modifier = match trait_bound["modifier"].as_str() {
                        Some("maybe") => "?",
                        Some("maybe_const") => "~const ",
                        _ => "",
                    };
                    format!(
                        "{}{modifier}{}",
                        self.for_lifetimes(&trait_bound["generic_params"]),
                        self.path(trait_bound["trait"].as_object().unwrap())
                    )
                } else if let Some(lifetime) = bound.get("outlives") {
                    lifetime.as_str().unwrap_or("").to_owned()
                } else if let Some(captured) = bound.get("use") {
                    let names: Vec<String> = captured
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|c| {
                            c.as_str().map_or_else(
                                || {
                                    c.as_object()
                                        .and_then(|c| c.values().next())
                                        .and_then(Value::as_str)
                                        .unwrap_or("")
                                        .to_owned()
                                },
                                str::to_owned,
                            )
                        })
                        .collect();
                    format!("use<{}>", names.join(", "))
                } else {
                    "_".to_owned()
                }
            })
            .collect();
        all.join(" + ")
    }

    fn generics(&self, generics: &Value) -> Generics {
        let params: Vec<String> = generics["params"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|param| param["kind"]["type"]["is_synthetic"] != true)
            .map(|param| {
                let name = param["name"].as_str().unwrap_or("");
                let kind = &param["kind"];
                if let Some(lifetime) = kind.get("lifetime") {
                    let outlives: Vec<&str> =
                        lifetime["outlives"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                    if outlives.is_empty() { name.to_owned() } else { format!("{name}: {}", outlives.join(" + ")) }
                } else if let Some(ty) = kind.get("type") {
                    let bounds = self.bounds(&ty["bounds"]);
                    let bounds = if bounds.is_empty() { String::new() } else { format!(": {bounds}") };
                    let default =
                        if ty["default"].is_null() { String::new() } else { format!(" = {}", self.ty(&ty["default"])) };
                    format!("{name}{bounds}{default}")
                } else {
                    format!("const {name}: {}", self.ty(&kind["const"]["type"]))
                }
            })
            .collect();
        let clauses: Vec<String> = generics["where_predicates"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|predicate| {
                if let Some(bound) = predicate.get("bound_predicate") {
                    format!(
                        "{}{}: {}",
                        self.for_lifetimes(&bound["generic_params"]),
                        self.ty(&bound["type"]),
                        self.bounds(&bound["bounds"])
                    )
                } else if let Some(lifetime) = predicate.get("lifetime_predicate") {
                    let outlives: Vec<&str> =
                        lifetime["outlives"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                    format!("{}: {}", lifetime["lifetime"].as_str().unwrap_or(""), outlives.join(" + "))
                } else if let Some(eq) = predicate.get("eq_predicate") {
                    format!(
                        "{} = {}",
                        self.ty(&eq["lhs"]),
                        eq["rhs"].get("type").map_or("_".to_owned(), |t| self.ty(t))
                    )
                } else {
                    "_".to_owned()
                }
            })
            .collect();
        Generics {
            params: if params.is_empty() { String::new() } else { format!("<{}>", params.join(", ")) },
            clauses: if clauses.is_empty() { String::new() } else { format!(" where {}", clauses.join(", ")) },
        }
    }

    /// Parameter types (the receiver as `self`, `&self`, `&mut self`) and ` -> output`.
    fn signature(&self, sig: &Value) -> (Vec<String>, String) {
        let inputs = sig["inputs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|input| {
                let ty = &input[1];
                if input[0] != "self" {
                    return self.ty(ty);
                }
                match self.ty(ty).as_str() {
                    "Self" => "self".to_owned(),
                    "&Self" => "&self".to_owned(),
                    "&mut Self" => "&mut self".to_owned(),
                    other => format!("self: {other}"),
                }
            })
            .collect();
        let output = match &sig["output"] {
            Value::Null => String::new(),
            output => format!(" -> {}", self.ty(output)),
        };
        (inputs, output)
    }

    fn function(&self, function: &Value, path: &str) -> String {
        let header = &function["header"];
        let mut qualifiers = String::new();
        for (flag, word) in [("is_const", "const "), ("is_async", "async "), ("is_unsafe", "unsafe ")] {
            if header[flag] == true {
                qualifiers.push_str(word);
            }
        }
        let generics = self.generics(&function["generics"]);
        let (inputs, output) = self.signature(&function["sig"]);
        format!("pub {qualifiers}fn {path}{}({}){output}{}", generics.params, inputs.join(", "), generics.clauses)
    }

    /// A method, associated type or associated constant of a type or trait.
    fn member(&self, member: &Value, owner: &str) -> String {
        let name = member["name"].as_str().unwrap_or("");
        let path = format!("{owner}::{name}");
        let (kind, inner) = member["inner"].as_object().and_then(|inner| inner.iter().next()).unwrap();
        match kind.as_str() {
            "function" => format!("{}{}", attributes(member), self.function(inner, &path)),
            "assoc_type" => {
                let bounds = self.bounds(&inner["bounds"]);
                let bounds = if bounds.is_empty() { String::new() } else { format!(": {bounds}") };
                let default =
                    if inner["type"].is_null() { String::new() } else { format!(" = {}", self.ty(&inner["type"])) };
                format!("pub type {path}{bounds}{default}")
            }
            "assoc_const" => format!("pub const {path}: {}", self.ty(&inner["type"])),
            other => format!("pub {other} {path}"),
        }
    }
}

/// The attributes that are part of the API (`#[non_exhaustive]`), as a prefix.
fn attributes(item: &Value) -> String {
    let non_exhaustive = item["attrs"].as_array().into_iter().flatten().any(|attr| {
        attr == "non_exhaustive"
            || attr.get("other").and_then(Value::as_str).is_some_and(|a| a.contains("non_exhaustive"))
    });
    if non_exhaustive { "#[non_exhaustive] ".to_owned() } else { String::new() }
}

fn id(value: &Value) -> String {
    match value {
        Value::String(id) => id.clone(),
        other => other.to_string(),
    }
}

fn joined(path: &Value) -> String {
    let segments: Vec<&str> = path.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    segments.join("::")
}
