//! `tally audit`: an inventory of every place Rust sources emit analytics events, checked
//! against the catalog (or, without one, against a naming convention).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Serialize;
use tally_catalog::model::{Category, EventDef, Naming, Origin};
use tally_catalog::personal::{self, PersonalKind};
use tally_catalog::{Catalog, Diagnostic, Location, Severity, escape, naming};

use crate::error::{self, CliError};
use crate::output::{self, Format, plural};
use crate::scan::{self, CallSite, Via};
use crate::{doc, load};

const EXAMPLES: &str = "\
Examples:
  tally audit                                        # this crate, against its catalog
  tally audit src/                                   # the crate's catalog, if it has one
  tally audit src/ --naming resource.action
  tally audit src/ crates/api/src --catalog catalog.toml --deny
  tally audit src/ --catalog catalog.toml --format json

Finds #[track_event(\"…\")] and its on_err(\"…\"), track!(\"…\"), tracing macros and
#[instrument] with a `tally.event = \"…\"` field, tally's Event::new(\"…\"), and raw PostHog
captures (posthog_rs::Event::new(\"…\", distinct_id), capture_event(\"…\", …),
.capture(\"…\", …)). Without --catalog or --naming it uses the crate's catalog, found as the
macros find it. With a catalog it reports catalog events never
emitted (except role events, which the middleware emits, and client events), emitted names
missing from the catalog, deprecated events still emitted, names that break the naming
convention, names that collide once case and separators are ignored, and raw captures whose
distinct_id is personal data.
Exit codes: 0 audited (findings are reported but do not fail without --deny), 1 findings with
--deny or an invalid catalog, 2 a source could not be read or parsed (the others are still
audited).";

/// List every analytics call site in Rust sources and check it against the catalog.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub(crate) struct Args {
    /// Rust files or directories (searched for `.rs` files, skipping `target/` and hidden ones);
    /// default: the current crate's directory.
    #[arg(value_name = "SRC")]
    sources: Vec<PathBuf>,
    /// The catalog to check the call sites against (default: the current crate's, found as the
    /// macros find it, unless `--naming` is given).
    #[arg(long, value_name = "FILE")]
    catalog: Option<PathBuf>,
    /// The event naming convention when there is no catalog.
    #[arg(long, value_enum, conflicts_with = "catalog")]
    naming: Option<NamingArg>,
    /// `text` for people; `json` for programs.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Exit 1 when there is any finding.
    #[arg(long)]
    deny: bool,
}

/// `--naming`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum NamingArg {
    /// `account_registered`.
    #[value(name = "snake_case")]
    SnakeCase,
    /// `project.created`.
    #[value(name = "resource.action")]
    ResourceAction,
}

/// A source that could not be audited.
#[derive(Debug, Serialize)]
struct SourceError {
    path: PathBuf,
    message: String,
}

#[derive(Debug, Serialize)]
struct Report<'a> {
    files: usize,
    call_sites: &'a [CallSite],
    findings: &'a [Diagnostic],
    errors: &'a [SourceError],
}

/// Runs `tally audit`.
pub(crate) fn run(args: &Args) -> Result<ExitCode, CliError> {
    let catalog = match (&args.catalog, args.naming) {
        (Some(path), _) => Some(load::catalog(path)?),
        (None, Some(_)) => None,
        (None, None) => crate_catalog()?,
    };
    let sources = if args.sources.is_empty() { vec![crate_sources()?] } else { args.sources.clone() };
    let mut errors = Vec::new();
    let files = collect(&sources, &mut errors);
    let mut sites = Vec::new();
    for file in &files {
        let text = match load::read(file, "source") {
            Ok(text) => text,
            Err(error) => {
                let message = match error {
                    CliError::Run(message) | CliError::Invalid(message) => message,
                    CliError::Quiet => String::new(),
                };
                errors.push(SourceError { path: file.clone(), message });
                continue;
            }
        };
        match scan::scan(file, &text) {
            Ok(found) => sites.extend(found),
            Err(message) => errors.push(SourceError { path: file.clone(), message }),
        }
    }
    let naming = match (&catalog, args.naming) {
        (Some(catalog), _) => catalog.naming(),
        (None, Some(NamingArg::ResourceAction)) => Naming::ResourceAction,
        (None, _) => Naming::SnakeCase,
    };
    let findings = Checker { catalog: catalog.as_ref(), naming, sites: &sites }.findings();

    match args.format {
        Format::Json => {
            let report = Report { files: files.len(), call_sites: &sites, findings: &findings, errors: &errors };
            output::stdout(&output::json(&report)?)?;
        }
        Format::Text => {
            for error in &errors {
                output::stderr(&format!("error: {}\n", error.message));
            }
            output::stdout(&text_report(files.len(), &sites, &findings, naming, catalog.as_ref()))?;
        }
    }
    Ok(if !errors.is_empty() {
        error::incomplete()
    } else if args.deny && !findings.is_empty() {
        error::findings()
    } else {
        ExitCode::SUCCESS
    })
}

/// The current crate's catalog, when it has one; without, the names are checked against
/// `snake_case`, which is said on stderr.
fn crate_catalog() -> Result<Option<Catalog>, CliError> {
    match load::crate_catalog() {
        Ok((path, origin)) if path.is_file() => {
            output::stderr(&format!("tally: using the catalog `{}` ({origin})\n", path.display()));
            load::catalog(&path).map(Some)
        }
        _ => {
            output::stderr(
                "tally: no catalog found for this crate; checking names against snake_case (give --catalog or \
                 --naming)\n",
            );
            Ok(None)
        }
    }
}

/// With no sources given: the current crate's directory (`.` when that is where we are).
fn crate_sources() -> Result<PathBuf, CliError> {
    let cwd = std::env::current_dir()
        .map_err(|error| CliError::Run(format!("cannot read the current directory: {error}")))?;
    let dir = tally_catalog::crate_dir(&cwd).unwrap_or_else(|| cwd.clone());
    let shown = dir.strip_prefix(&cwd).map(Path::to_path_buf).unwrap_or(dir);
    Ok(if shown.as_os_str().is_empty() { PathBuf::from(".") } else { shown })
}

/// The `.rs` files under the given paths, in a stable order.
fn collect(sources: &[PathBuf], errors: &mut Vec<SourceError>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for source in sources {
        match std::fs::metadata(source) {
            Ok(metadata) if metadata.is_dir() => walk(source, &mut files, errors),
            Ok(_) => files.push(source.clone()),
            Err(error) => errors.push(SourceError {
                path: source.clone(),
                message: format!("cannot read `{}`: {}", source.display(), describe(&error)),
            }),
        }
    }
    // `tally audit .` lists `routes/ui.rs`, not `./routes/ui.rs`.
    let mut files: Vec<PathBuf> =
        files.into_iter().map(|file| file.strip_prefix(".").map(Path::to_path_buf).unwrap_or(file)).collect();
    files.dedup();
    files
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<SourceError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            let message = format!("cannot read the directory `{}`: {}", dir.display(), describe(&error));
            errors.push(SourceError { path: dir.to_path_buf(), message });
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|entry| entry.path()).collect();
    paths.sort();
    for path in paths {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        // Symbolic links to directories are not followed (no cycles); linked files are read.
        let Ok(metadata) = std::fs::symlink_metadata(&path) else { continue };
        if metadata.is_dir() {
            if name != "target" && !name.starts_with('.') {
                walk(&path, files, errors);
            }
        } else if name.ends_with(".rs") {
            files.push(path);
        }
    }
}

fn describe(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        _ => error.to_string(),
    }
}

struct Checker<'a> {
    catalog: Option<&'a Catalog>,
    naming: Naming,
    sites: &'a [CallSite],
}

impl Checker<'_> {
    fn findings(&self) -> Vec<Diagnostic> {
        let mut findings = Vec::new();
        for site in self.sites {
            match &site.name {
                Some(name) => self.check_name(site, name, &mut findings),
                None => findings.push(finding(
                    site,
                    Severity::Warning,
                    "dynamic-event-name",
                    format!("the event name `{}` is not a literal; it cannot be checked", dynamic(site)),
                    Some("emit a literal name, or a constant the catalog declares".into()),
                )),
            }
            if let Some(kind) = site.distinct_id.as_deref().and_then(personal_distinct_id) {
                findings.push(finding(
                    site,
                    Severity::Error,
                    "personal-distinct-id",
                    format!("distinct_id `{}` is {kind}", site.distinct_id.as_deref().unwrap_or_default()),
                    Some(
                        "key events by a stable internal id (e.g. the principal id) and link the rest with $set".into(),
                    ),
                ));
            }
        }
        self.collisions(&mut findings);
        self.never_emitted(&mut findings);
        findings.sort_by(|a, b| {
            (a.location().file(), a.location().line(), a.location().column()).cmp(&(
                b.location().file(),
                b.location().line(),
                b.location().column(),
            ))
        });
        findings
    }

    /// The catalog event an emitted name refers to: its catalog name or its wire name.
    fn catalog_event<'s>(&'s self, name: &'s str) -> Option<(&'s str, &'s EventDef)> {
        let catalog = self.catalog?;
        catalog.event(name).map(|event| (name, event)).or_else(|| {
            let bare = name.strip_prefix(catalog.namespace()).filter(|_| !catalog.namespace().is_empty())?;
            catalog.events().find(|(candidate, _)| *candidate == bare)
        })
    }

    fn check_name(&self, site: &CallSite, name: &str, findings: &mut Vec<Diagnostic>) {
        let known = self.catalog_event(name);
        let bare = self.bare(name);
        let allowed = known.is_some_and(|(_, event)| self.allows_naming(event));
        if !allowed && !naming::follows(self.naming, bare) {
            findings.push(finding(
                site,
                Severity::Error,
                "naming-convention",
                format!("event `{name}` does not follow the {} convention", doc::naming_name(self.naming)),
                Some(format!("rename it `{}`", naming::conforming(self.naming, bare))),
            ));
        }
        let Some(catalog) = self.catalog else { return };
        match known {
            None => {
                let closest = catalog.closest_event(bare).or_else(|| {
                    let normal = naming::normalize(bare);
                    catalog.events().map(|(n, _)| n).find(|n| naming::normalize(n) == normal)
                });
                let help = closest.map(|best| {
                    let wire = catalog.wire_name(best);
                    if wire == best {
                        format!("did you mean `{best}`?")
                    } else {
                        format!("did you mean `{best}` (sent as `{wire}`)?")
                    }
                });
                findings.push(finding(
                    site,
                    Severity::Error,
                    "unknown-event",
                    format!("event `{name}` is not in the catalog `{}`", catalog.source().path().display()),
                    help.or_else(|| Some("declare it in the catalog, or emit a declared event".into())),
                ));
            }
            Some((catalog_name, event)) => {
                if let Some(deprecation) = event.deprecated() {
                    let help = deprecation.replacement().map(|r| format!("emit `{r}` instead"));
                    findings.push(finding(
                        site,
                        Severity::Warning,
                        "deprecated-event",
                        format!("event `{catalog_name}` is deprecated"),
                        help,
                    ));
                }
            }
        }
    }

    fn allows_naming(&self, event: &EventDef) -> bool {
        let Some(catalog) = self.catalog else { return false };
        let category = event.category().and_then(|c| catalog.category(c));
        event.allowed("naming-convention").is_some()
            || category.and_then(|category: &Category| category.allowed("naming-convention")).is_some()
    }

    /// The name without the catalog's wire namespace.
    fn bare<'n>(&self, name: &'n str) -> &'n str {
        match self.catalog {
            Some(catalog) if !catalog.namespace().is_empty() => name.strip_prefix(catalog.namespace()).unwrap_or(name),
            _ => name,
        }
    }

    /// Different spellings of the same name: `identity registered` and `identity_registered`.
    fn collisions(&self, findings: &mut Vec<Diagnostic>) {
        // normal form → spellings in order of first appearance, each with its first site.
        let mut groups: BTreeMap<String, Vec<(&str, &CallSite)>> = BTreeMap::new();
        for site in self.sites {
            let Some(name) = &site.name else { continue };
            let spellings = groups.entry(naming::normalize(self.bare(name))).or_default();
            if !spellings.iter().any(|(spelling, _)| spelling == name) {
                spellings.push((name, site));
            }
        }
        for (normal, spellings) in groups {
            if spellings.len() < 2 {
                continue;
            }
            for (i, (spelling, site)) in spellings.iter().enumerate() {
                let others: Vec<String> = spellings
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, (other, at))| format!("`{other}` ({}:{})", at.file.display(), at.line))
                    .collect();
                findings.push(finding(
                    site,
                    Severity::Error,
                    "name-collision",
                    format!("event `{spelling}` collides with {}: all read as `{normal}`", others.join(", ")),
                    Some("emit one spelling everywhere; PostHog counts each spelling as a different event".into()),
                ));
            }
        }
    }

    fn never_emitted(&self, findings: &mut Vec<Diagnostic>) {
        let Some(catalog) = self.catalog else { return };
        // Every front door counts: `#[track_event]` and its `on_err`, `track!`, tracing fields,
        // `tally::Event::new`, and raw captures too (they are emitted, if badly).
        let emitted: std::collections::HashSet<&str> = self
            .sites
            .iter()
            .filter_map(|site| self.catalog_event(site.name.as_deref()?))
            .map(|(found, _)| found)
            .collect();
        for (name, event) in catalog.events() {
            if event.role().is_some() || event.origin() == Origin::Client || event.deprecated().is_some() {
                continue;
            }
            let emitted = emitted.contains(name);
            if emitted {
                continue;
            }
            let normal = naming::normalize(name);
            let respelled = self.sites.iter().find(|site| {
                site.name.as_deref().is_some_and(|emitted| naming::normalize(self.bare(emitted)) == normal)
            });
            let help = match respelled {
                Some(site) => format!(
                    "it is emitted as `{}` at {}:{}: use the catalog's spelling",
                    site.name.as_deref().unwrap_or_default(),
                    site.file.display(),
                    site.line
                ),
                None => "emit it, or deprecate it in the catalog".into(),
            };
            let location = catalog.event_location(name).unwrap_or_else(|| Location::new(catalog.source().path(), 1, 1));
            findings.push(
                Diagnostic::new(
                    Severity::Warning,
                    "never-emitted",
                    format!("catalog event `{name}` is never emitted in the audited sources"),
                    location,
                )
                .with_help(help),
            );
        }
    }
}

fn finding(
    site: &CallSite,
    severity: Severity,
    code: &'static str,
    message: String,
    help: Option<String>,
) -> Diagnostic {
    let diagnostic = Diagnostic::new(severity, code, message, Location::new(&site.file, site.line, site.column));
    match help {
        Some(help) => diagnostic.with_help(help),
        None => diagnostic,
    }
}

fn dynamic(site: &CallSite) -> &str {
    site.dynamic_name.as_deref().unwrap_or_default()
}

/// The kind of personal data a distinct_id expression reads, judged by its last identifier
/// (`&user.email` → an email).
fn personal_distinct_id(expression: &str) -> Option<PersonalKind> {
    let trimmed = expression.trim_end_matches("()").trim_end_matches(".clone").trim_end_matches(".to_string");
    let last = trimmed
        .rsplit(|c: char| !(c.is_alphanumeric() || c == '_'))
        .find(|word| !word.is_empty() && !["clone", "to_string", "as_str", "to_owned"].contains(word))?;
    personal::classify(last).filter(|kind| {
        matches!(kind, PersonalKind::Email | PersonalKind::PersonName | PersonalKind::Phone | PersonalKind::IpAddress)
    })
}

fn text_report(
    files: usize,
    sites: &[CallSite],
    findings: &[Diagnostic],
    naming: Naming,
    catalog: Option<&Catalog>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Call sites ({}):", sites.len());
    let rows: Vec<[String; 4]> = sites
        .iter()
        .map(|site| {
            // Names come from the sources: control and bidi characters are shown escaped.
            let name = match (&site.name, &site.dynamic_name) {
                (Some(name), _) => escape(&format!("{name:?}")).into_owned(),
                (None, Some(expression)) => format!("<{}>", escape(expression)),
                (None, None) => String::new(),
            };
            let distinct =
                site.distinct_id.as_deref().map(|d| format!("distinct_id: {}", escape(d))).unwrap_or_default();
            [format!("{}:{}:{}", site.file.display(), site.line, site.column), site.call.clone(), name, distinct]
        })
        .collect();
    let widths: Vec<usize> = (0..3).map(|i| rows.iter().map(|row| row[i].chars().count()).max().unwrap_or(0)).collect();
    for row in &rows {
        let line = format!(
            "  {:w0$}  {:w1$}  {:w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }

    let captures: Vec<&CallSite> = sites.iter().filter(|site| site.via == Via::Capture).collect();
    let mut distinct: Vec<(&str, usize)> = Vec::new();
    for site in &captures {
        let Some(id) = site.distinct_id.as_deref() else { continue };
        match distinct.iter_mut().find(|(d, _)| *d == id) {
            Some((_, count)) => *count += 1,
            None => distinct.push((id, 1)),
        }
    }
    if !distinct.is_empty() {
        let _ = writeln!(out, "\nDistinct ids of raw captures ({}):", distinct.len());
        for (id, count) in &distinct {
            let _ = writeln!(out, "  {id}  ({})", plural(*count, "call"));
        }
    }

    let _ = writeln!(out, "\nFindings ({}):", findings.len());
    for diagnostic in findings {
        let _ = writeln!(out, "{diagnostic}");
    }
    let errors = findings.iter().filter(|d| d.severity() == Severity::Error).count();
    let against = match catalog {
        Some(catalog) => format!("against `{}`", catalog.source().path().display()),
        None => format!("with the {} convention (no catalog)", doc::naming_name(naming)),
    };
    let raw = if captures.is_empty() {
        String::new()
    } else {
        format!(" ({} bypassing tally's pipeline)", plural(captures.len(), "raw PostHog capture"))
    };
    let _ = writeln!(
        out,
        "\naudited {} {against}: {}{raw}; {} ({}, {})",
        plural(files, "file"),
        plural(sites.len(), "call site"),
        plural(findings.len(), "finding"),
        plural(errors, "error"),
        plural(findings.len() - errors, "warning"),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_distinct_ids() {
        assert_eq!(personal_distinct_id("&user.email"), Some(PersonalKind::Email));
        assert_eq!(personal_distinct_id("session.email.clone()"), Some(PersonalKind::Email));
        assert_eq!(personal_distinct_id("&identity.handle"), None);
        assert_eq!(personal_distinct_id("principal_id"), None);
        assert_eq!(personal_distinct_id("user.username.to_string()"), Some(PersonalKind::PersonName));
    }
}
