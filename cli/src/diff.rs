//! `tally diff`: what changed between two versions of a catalog, whether each change breaks
//! consumers, and the semantic-version bump it calls for.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use semver::Version;
use serde::Serialize;
use tally_catalog::model::{
    EventDef, Funnel, IdentityKindDef, OnMissing, PersonProperty, Privacy, PropertyDef, RetentionClass, Role,
};
use tally_catalog::{Catalog, escape, naming};

use crate::error::{self, CliError};
use crate::output::{self, Format};
use crate::{doc, load};

const EXAMPLES: &str = "\
Examples:
  tally diff catalog.old.toml catalog.toml
  git show main:catalog.toml > /tmp/old.toml && tally diff /tmp/old.toml catalog.toml --check-version
  tally diff old.toml new.toml --format json --date 2026-01-31

Breaking: an event or property removed (a rename is a removal plus an addition), a type changed,
an optional property made required, a new required property, an enum value removed, a nullable
property made non-nullable, a stricter length limit, a namespace, identity or privacy change.
Additive: a new event, a new optional property, an enum value added, a constraint relaxed, a
deprecation. Docs: descriptions, triggers, owners, categories, retention.
Bumps follow Cargo: from 1.0.0 on, breaking → major, additive → minor, docs → patch; below
1.0.0, breaking → minor and the rest → patch (0.0.x: every change → patch).
Exit codes: 0 reported, 1 a catalog does not load (or, with --check-version, the new version does
not reflect the bump), 2 a file could not be read.";

/// Compare two catalog versions: a changelog entry and the semver bump it calls for.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub(crate) struct Args {
    /// The previous catalog.
    #[arg(value_name = "OLD")]
    old: PathBuf,
    /// The new catalog (default: the current crate's, found as the macros find it).
    #[arg(value_name = "NEW")]
    new: Option<PathBuf>,
    /// `text` prints a changelog entry; `json` the changes, the bump and the verdict.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// The date of the changelog entry (default: today, UTC).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    date: Option<String>,
    /// Exit 1 when the new catalog's version does not reflect the required bump.
    #[arg(long)]
    check_version: bool,
}

/// How much a change matters to the people and code that consume the events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Kind {
    /// Wording only: descriptions, triggers, owners, categories.
    Docs,
    /// Consumers keep working: something was added or relaxed.
    Additive,
    /// Consumers (queries, dashboards, emitters) may break.
    Breaking,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Docs => "Docs",
            Kind::Additive => "Additive",
            Kind::Breaking => "Breaking",
        }
    }
}

/// One change.
#[derive(Debug, Serialize)]
pub(crate) struct Change {
    /// How much it matters.
    pub(crate) kind: Kind,
    /// What changed, in inline Markdown.
    pub(crate) message: String,
}

/// The semver component a set of changes calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Bump {
    None,
    Patch,
    Minor,
    Major,
}

#[derive(Debug, Serialize)]
struct Side {
    path: String,
    version: String,
}

#[derive(Debug, Serialize)]
struct Report {
    old: Side,
    new: Side,
    date: String,
    bump: Bump,
    required_version: String,
    reflected: bool,
    changes: Vec<Change>,
}

/// Runs `tally diff`.
pub(crate) fn run(args: &Args) -> Result<ExitCode, CliError> {
    let old = load::catalog(&args.old)?;
    let new_path = load::catalog_path(args.new.as_deref())?;
    let new = load::catalog(&new_path)?;
    let changes = diff(&old, &new);
    let parse = |catalog: &Catalog| {
        Version::parse(catalog.version())
            .map_err(|error| CliError::Invalid(format!("error: version `{}`: {error}", catalog.version())))
    };
    let (old_version, new_version) = (parse(&old)?, parse(&new)?);
    let worst = changes.iter().map(|change| change.kind).max();
    let (bump, required) = required_bump(&old_version, worst);
    let reflected = new_version >= required;
    let report = Report {
        old: Side { path: args.old.display().to_string(), version: old_version.to_string() },
        new: Side { path: new_path.display().to_string(), version: new_version.to_string() },
        date: args.date.clone().unwrap_or_else(today),
        bump,
        required_version: required.to_string(),
        reflected,
        changes,
    };
    let text = match args.format {
        Format::Json => output::json(&report)?,
        Format::Text => changelog_entry(&report),
    };
    output::stdout(&text)?;
    Ok(if args.check_version && !reflected { error::findings() } else { ExitCode::SUCCESS })
}

fn changelog_entry(report: &Report) -> String {
    let heading_version = if report.reflected { &report.new.version } else { &report.required_version };
    let mut out = format!("### {} — v{heading_version}\n\n", report.date);
    if report.changes.is_empty() {
        out.push_str("- No change to the tracking plan.\n");
    }
    let mut sorted: Vec<&Change> = report.changes.iter().collect();
    sorted.sort_by_key(|change| std::cmp::Reverse(change.kind));
    for change in sorted {
        let _ = writeln!(out, "- **{}:** {}", change.kind.label(), escape(&change.message));
    }
    out.push('\n');
    let bump = match report.bump {
        Bump::None => "none".to_owned(),
        Bump::Patch => format!("patch (v{} → v{})", report.old.version, report.required_version),
        Bump::Minor => format!("minor (v{} → v{})", report.old.version, report.required_version),
        Bump::Major => format!("major (v{} → v{})", report.old.version, report.required_version),
    };
    let verdict = if report.reflected {
        format!("the new catalog's version v{} reflects it.", report.new.version)
    } else {
        format!(
            "the new catalog still says v{}: set `version = \"{}\"` under [catalog].",
            report.new.version, report.required_version
        )
    };
    let _ = writeln!(out, "Required bump: {bump}; {verdict}");
    out
}

/// The bump and the smallest version that reflects it, Cargo-style.
fn required_bump(old: &Version, worst: Option<Kind>) -> (Bump, Version) {
    let bump = match (worst, old.major, old.minor) {
        (None, _, _) => Bump::None,
        (Some(_), 0, 0) => Bump::Patch,
        (Some(Kind::Breaking), 0, _) => Bump::Minor,
        (Some(_), 0, _) => Bump::Patch,
        (Some(Kind::Breaking), _, _) => Bump::Major,
        (Some(Kind::Additive), _, _) => Bump::Minor,
        (Some(Kind::Docs), _, _) => Bump::Patch,
    };
    let version = match bump {
        Bump::None => Version::new(old.major, old.minor, old.patch),
        Bump::Patch => Version::new(old.major, old.minor, old.patch + 1),
        Bump::Minor => Version::new(old.major, old.minor + 1, 0),
        Bump::Major => Version::new(old.major + 1, 0, 0),
    };
    (bump, version)
}

/// Every change from `old` to `new`, in catalog order.
pub(crate) fn diff(old: &Catalog, new: &Catalog) -> Vec<Change> {
    let mut differ = Differ { changes: Vec::new() };
    differ.meta(old, new);
    differ.identity(old, new);
    differ.groups(old, new);
    for name in keys(old.common_properties(), new.common_properties()) {
        let label = format!("common property `{name}`");
        differ.property(&label, old.common_property(&name), new.common_property(&name));
    }
    differ.events(old, new);
    differ.catalog_wide(old, new);
    differ.changes
}

struct Differ {
    changes: Vec<Change>,
}

impl Differ {
    fn push(&mut self, kind: Kind, message: String) {
        self.changes.push(Change { kind, message });
    }

    fn meta(&mut self, old: &Catalog, new: &Catalog) {
        if old.namespace() != new.namespace() {
            self.push(
                Kind::Breaking,
                format!(
                    "wire namespace changed from `{}` to `{}`: every event and property name on the wire changes.",
                    old.namespace(),
                    new.namespace()
                ),
            );
        }
        if old.naming() != new.naming() {
            self.push(
                Kind::Docs,
                format!(
                    "naming convention changed from `{}` to `{}`.",
                    doc::naming_name(old.naming()),
                    doc::naming_name(new.naming())
                ),
            );
        }
        if old.name() != new.name() {
            self.push(Kind::Docs, format!("catalog renamed from `{}` to `{}`.", old.name(), new.name()));
        }
        if old.description() != new.description() {
            self.push(Kind::Docs, "catalog description changed.".into());
        }
        if old.owner() != new.owner() {
            self.push(Kind::Docs, "catalog owner changed.".into());
        }
    }

    fn identity(&mut self, old: &Catalog, new: &Catalog) {
        if old.on_missing() != new.on_missing() {
            self.push(
                Kind::Breaking,
                format!(
                    "events without a known identity are now {} (were {}).",
                    on_missing(new.on_missing()),
                    on_missing(old.on_missing())
                ),
            );
        }
        for name in keys(old.identity_kinds(), new.identity_kinds()) {
            match (old.identity_kind(&name), new.identity_kind(&name)) {
                (Some(_), None) => self.push(Kind::Breaking, format!("identity `{name}` removed.")),
                (None, Some(_)) => self.push(Kind::Additive, format!("identity `{name}` added.")),
                (Some(a), Some(b)) => self.identity_kind(&name, a, b),
                (None, None) => {}
            }
        }
    }

    fn identity_kind(&mut self, name: &str, old: &IdentityKindDef, new: &IdentityKindDef) {
        let format = |kind: &IdentityKindDef| kind.format().unwrap_or("{id}").to_owned();
        if format(old) != format(new) {
            self.push(
                Kind::Breaking,
                format!(
                    "identity `{name}`: distinct_id format changed from `{}` to `{}`: the same people become new persons.",
                    format(old),
                    format(new)
                ),
            );
        }
        if old.pseudonymize() != new.pseudonymize() {
            let now = if new.pseudonymize() { "pseudonymized" } else { "no longer pseudonymized" };
            self.push(Kind::Breaking, format!("identity `{name}` is {now}: its distinct_ids change."));
        }
        let links = |kind: &IdentityKindDef| kind.links().map(str::to_owned).collect::<Vec<_>>();
        let (old_links, new_links) = (links(old), links(new));
        for link in old_links.iter().filter(|l| !new_links.contains(l)) {
            self.push(Kind::Breaking, format!("identity `{name}` no longer links `{link}`."));
        }
        for link in new_links.iter().filter(|l| !old_links.contains(l)) {
            self.push(Kind::Additive, format!("identity `{name}` now links `{link}`."));
        }
        if old.source() != new.source() || old.description() != new.description() || old.personal() != new.personal() {
            self.push(Kind::Docs, format!("identity `{name}`: description, source or personal flag changed."));
        }
    }

    fn groups(&mut self, old: &Catalog, new: &Catalog) {
        for name in keys(old.groups(), new.groups()) {
            match (old.group(&name), new.group(&name)) {
                (Some(_), None) => self.push(Kind::Breaking, format!("group type `{name}` removed.")),
                (None, Some(_)) => self.push(Kind::Additive, format!("group type `{name}` added.")),
                (Some(a), Some(b)) => {
                    if a.property() != b.property() {
                        self.push(Kind::Breaking, format!("group type `{name}`: key property changed."));
                    }
                    if a.description() != b.description() {
                        self.push(Kind::Docs, format!("group type `{name}`: description changed."));
                    }
                }
                (None, None) => {}
            }
        }
    }

    fn events(&mut self, old: &Catalog, new: &Catalog) {
        // Indexes, so that a catalog of n events diffs in O(n) lookups (it compared every
        // removed event with every added one).
        let added: Vec<&str> = new.events().map(|(n, _)| n).filter(|n| old.event(n).is_none()).collect();
        let added_at: HashMap<&str, usize> = added.iter().enumerate().map(|(at, name)| (*name, at)).collect();
        let mut added_by_normal: HashMap<String, usize> = HashMap::new();
        for (at, name) in added.iter().enumerate() {
            added_by_normal.entry(naming::normalize(name)).or_insert(at);
        }
        let mut new_by_normal: HashMap<String, &str> = HashMap::new();
        for (name, _) in new.events() {
            new_by_normal.entry(naming::normalize(name)).or_insert(name);
        }
        let mut renamed_to: HashSet<&str> = HashSet::new();
        for (name, old_event) in old.events() {
            match new.event(name) {
                Some(new_event) => self.event(old, new, name, old_event, new_event),
                None => {
                    let replacement = old_event.deprecated().and_then(|d| d.replacement());
                    let normal = naming::normalize(name);
                    // The first added event, in file order, that is the replacement or the same
                    // name respelled.
                    let by_replacement = replacement.and_then(|r| added_at.get(r).copied());
                    let by_normal = added_by_normal.get(&normal).copied();
                    let successor = by_replacement.into_iter().chain(by_normal).min().map(|at| added[at]);
                    match successor {
                        Some(successor) => {
                            renamed_to.insert(successor);
                            self.push(
                                Kind::Breaking,
                                format!(
                                    "event `{name}` renamed `{successor}` (a removal and an addition: queries on \
                                     `{name}` stop matching)."
                                ),
                            );
                        }
                        None => match new_by_normal.get(&normal) {
                            Some(kept) => self.push(
                                Kind::Breaking,
                                format!("event `{name}` removed: it is now spelled `{kept}` only."),
                            ),
                            None => self.push(Kind::Breaking, format!("event `{name}` removed.")),
                        },
                    }
                }
            }
        }
        for name in added.into_iter().filter(|name| !renamed_to.contains(name)) {
            self.push(Kind::Additive, format!("event `{name}` added."));
        }
    }

    fn event(&mut self, old: &Catalog, new: &Catalog, name: &str, a: &EventDef, b: &EventDef) {
        let (old_identity, new_identity) = (old.identity_of(a), new.identity_of(b));
        if old_identity != new_identity {
            self.push(
                Kind::Breaking,
                format!(
                    "event `{name}` is now keyed by {} (was {}): its persons change.",
                    identity(new_identity),
                    identity(old_identity)
                ),
            );
        }
        match (a.role(), b.role()) {
            (Some(x), Some(y)) if x != y => self.push(
                Kind::Breaking,
                format!("event `{name}`: role changed from `{}` to `{}`.", x.as_str(), y.as_str()),
            ),
            (Some(x), None) => self.push(
                Kind::Breaking,
                format!("event `{name}` no longer has the role `{}`: the middleware stops emitting it.", x.as_str()),
            ),
            (None, Some(y)) => {
                self.push(Kind::Additive, format!("event `{name}` takes the role `{}`.", Role::as_str(y)))
            }
            _ => {}
        }
        match (a.deprecated(), b.deprecated()) {
            (None, Some(deprecation)) => {
                let replacement = deprecation.replacement().map(|r| format!(": use `{r}`")).unwrap_or_default();
                self.push(Kind::Additive, format!("event `{name}` deprecated{replacement}."));
            }
            (Some(_), None) => self.push(Kind::Additive, format!("event `{name}` is no longer deprecated.")),
            _ => {}
        }
        for property in keys(a.properties(), b.properties()) {
            let label = format!("`{name}`: property `{property}`");
            self.property(&label, a.property(&property), b.property(&property));
        }
        for (how, old_people, new_people) in [
            ("$set", a.set().collect::<Vec<_>>(), b.set().collect::<Vec<_>>()),
            ("$set_once", a.set_once().collect(), b.set_once().collect()),
        ] {
            fn find<'p>(people: &[(&str, &'p PersonProperty)], name: &str) -> Option<&'p PersonProperty> {
                people.iter().find(|(n, _)| *n == name).map(|(_, person)| *person)
            }
            for person in keys(old_people.iter().copied(), new_people.iter().copied()) {
                let label = format!("`{name}`: person property `{person}` ({how})");
                self.person(&label, find(&old_people, &person), find(&new_people, &person));
            }
        }
        let docs = [
            ("description", a.description() != b.description()),
            ("trigger", a.trigger() != b.trigger()),
            ("owner", a.owner() != b.owner()),
            ("category", a.category() != b.category()),
            ("origin", a.origin() != b.origin()),
        ];
        let changed: Vec<&str> = docs.iter().filter(|(_, changed)| *changed).map(|(what, _)| *what).collect();
        if !changed.is_empty() {
            self.push(Kind::Docs, format!("event `{name}`: {} changed.", changed.join(", ")));
        }
    }

    fn property(&mut self, label: &str, old: Option<&PropertyDef>, new: Option<&PropertyDef>) {
        let (a, b) = match (old, new) {
            (Some(a), Some(b)) => (a, b),
            (Some(_), None) => return self.push(Kind::Breaking, format!("{label} removed.")),
            (None, Some(b)) if b.required() && b.fill().is_none() => {
                return self
                    .push(Kind::Breaking, format!("{label} added as required: every emitter must now give it."));
            }
            (None, Some(b)) => {
                let how = match b.fill() {
                    Some(fill) => format!("filled from `{fill}`"),
                    None => "optional".into(),
                };
                return self.push(Kind::Additive, format!("{label} added ({how})."));
            }
            (None, None) => return,
        };
        let (ty_a, ty_b) = (a.ty(), b.ty());
        if ty_a != ty_b {
            self.push(
                Kind::Breaking,
                format!("{label}: type changed from `{}` to `{}`.", ty_a.as_str(), ty_b.as_str()),
            );
        } else if a.items() != b.items() {
            let items = |p: &PropertyDef| p.items().map_or("unspecified", |i| i.as_str());
            self.push(Kind::Breaking, format!("{label}: item type changed from `{}` to `{}`.", items(a), items(b)));
        }
        let values = |p: &PropertyDef| p.values().unwrap_or_default().to_vec();
        let (values_a, values_b) = (values(a), values(b));
        let removed: Vec<String> =
            values_a.iter().filter(|v| !values_b.contains(v)).map(|v| format!("`{v}`")).collect();
        let added: Vec<String> = values_b.iter().filter(|v| !values_a.contains(v)).map(|v| format!("`{v}`")).collect();
        if !removed.is_empty() && !values_b.is_empty() {
            self.push(Kind::Breaking, format!("{label}: enum value {} removed.", removed.join(", ")));
        }
        if !added.is_empty() && !values_a.is_empty() {
            self.push(Kind::Additive, format!("{label}: enum value {} added.", added.join(", ")));
        }
        match (a.required(), b.required()) {
            (false, true) if b.fill().is_none() => self.push(Kind::Breaking, format!("{label}: now required.")),
            (true, false) => self.push(Kind::Additive, format!("{label}: now optional.")),
            _ => {}
        }
        match (a.nullable(), b.nullable()) {
            (true, false) => self.push(Kind::Breaking, format!("{label}: no longer nullable.")),
            (false, true) => self.push(Kind::Additive, format!("{label}: now nullable.")),
            _ => {}
        }
        match (a.non_empty(), b.non_empty()) {
            (false, true) => self.push(Kind::Breaking, format!("{label}: must now be non-empty.")),
            (true, false) => self.push(Kind::Additive, format!("{label}: may now be empty.")),
            _ => {}
        }
        match (a.max_length(), b.max_length()) {
            (old, Some(new)) if old.is_none_or(|old| new < old) => {
                self.push(Kind::Breaking, format!("{label}: length limited to {new}."));
            }
            (Some(_), None) => self.push(Kind::Additive, format!("{label}: length limit removed.")),
            (Some(old), Some(new)) if new > old => {
                self.push(Kind::Additive, format!("{label}: length limit raised to {new}."))
            }
            _ => {}
        }
        if a.privacy() != b.privacy() {
            let kind = if a.privacy() == Privacy::Drop { Kind::Additive } else { Kind::Breaking };
            self.push(
                kind,
                format!("{label}: privacy changed from `{}` to `{}`.", a.privacy().as_str(), b.privacy().as_str()),
            );
        }
        let fill = |p: &PropertyDef| p.fill().map(|f| f.to_string());
        match (fill(a), fill(b)) {
            (Some(x), Some(y)) if x != y => {
                self.push(Kind::Breaking, format!("{label}: filled from `{y}` instead of `{x}`."))
            }
            (Some(x), None) if b.required() => self
                .push(Kind::Breaking, format!("{label}: no longer filled from `{x}`: every emitter must now give it.")),
            (Some(x), None) => self.push(Kind::Additive, format!("{label}: no longer filled from `{x}`.")),
            (None, Some(y)) => self.push(Kind::Additive, format!("{label}: now filled from `{y}`.")),
            _ => {}
        }
        if a.description() != b.description() || a.reason() != b.reason() {
            self.push(Kind::Docs, format!("{label}: description changed."));
        }
    }

    fn person(&mut self, label: &str, old: Option<&PersonProperty>, new: Option<&PersonProperty>) {
        match (old, new) {
            (Some(_), None) => self.push(Kind::Breaking, format!("{label} removed.")),
            (None, Some(_)) => self.push(Kind::Additive, format!("{label} added.")),
            (Some(a), Some(b)) => {
                if a.from() != b.from() || a.when() != b.when() {
                    self.push(Kind::Breaking, format!("{label}: value or condition changed."));
                }
                if a.description() != b.description() {
                    self.push(Kind::Docs, format!("{label}: description changed."));
                }
            }
            (None, None) => {}
        }
    }

    /// Privacy settings, categories, retention classes and funnels.
    fn catalog_wide(&mut self, old: &Catalog, new: &Catalog) {
        let (a, b) = (old, new);
        if a.scrub_free_text() != b.scrub_free_text() {
            let now = if b.scrub_free_text() { "on" } else { "off" };
            self.push(Kind::Breaking, format!("free-text scrubbing turned {now}: string values on the wire change."));
        }
        if a.privacy_rules() != b.privacy_rules() {
            self.push(Kind::Docs, "privacy rules changed.".into());
        }
        for name in keys(a.categories(), b.categories()) {
            match (a.category(&name), b.category(&name)) {
                (Some(_), None) => self.push(Kind::Docs, format!("category `{name}` removed.")),
                (None, Some(_)) => self.push(Kind::Docs, format!("category `{name}` added.")),
                (Some(x), Some(y)) => {
                    if x.retention() != y.retention()
                        || x.description() != y.description()
                        || x.identity() != y.identity()
                    {
                        self.push(Kind::Docs, format!("category `{name}` changed."));
                    }
                }
                (None, None) => {}
            }
        }
        for name in keys(a.retention_classes(), b.retention_classes()) {
            let period =
                |c: Option<&RetentionClass>| c.map(|c| (c.period().to_owned(), c.archive_after().map(str::to_owned)));
            if period(a.retention_class(&name)) != period(b.retention_class(&name)) {
                self.push(Kind::Docs, format!("retention class `{name}` changed."));
            }
        }
        let funnel = |catalog: &Catalog, name: &str| -> Option<Vec<String>> {
            let (_, funnel): (&str, &Funnel) = catalog.funnels().find(|(n, _)| *n == name)?;
            Some(funnel.steps().map(str::to_owned).collect())
        };
        for name in keys(a.funnels(), b.funnels()) {
            if funnel(a, &name) != funnel(b, &name) {
                self.push(Kind::Docs, format!("funnel `{name}` changed."));
            }
        }
    }
}

fn identity(kind: Option<&str>) -> String {
    kind.map_or_else(|| "no identity".into(), |kind| format!("`{kind}`"))
}

fn on_missing(on_missing: OnMissing) -> &'static str {
    match on_missing {
        OnMissing::Drop => "dropped",
        OnMissing::Personless => "sent personless",
        OnMissing::Anonymous => "keyed by the anonymous id",
        _ => "handled by a policy this tool does not know",
    }
}

/// The ordered union of two maps' names: the old ones in order, then the new ones.
fn keys<'a, T: 'a>(
    a: impl IntoIterator<Item = (&'a str, T)>,
    b: impl IntoIterator<Item = (&'a str, T)>,
) -> Vec<String> {
    let mut seen = HashSet::new();
    a.into_iter().chain(b).filter(|(name, _)| seen.insert(*name)).map(|(name, _)| name.to_owned()).collect()
}

fn parse_date(text: &str) -> Result<String, String> {
    let parts: Vec<&str> = text.split('-').collect();
    let valid = parts.len() == 3
        && [4, 2, 2]
            .iter()
            .zip(&parts)
            .all(|(len, part)| part.len() == *len && part.chars().all(|c| c.is_ascii_digit()));
    if valid { Ok(text.to_owned()) } else { Err(format!("`{text}` is not a date; write YYYY-MM-DD")) }
}

/// Today's date (UTC) as `YYYY-MM-DD`.
fn today() -> String {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(seconds / 86_400).unwrap_or(0);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bumps_follow_cargo() {
        let v = Version::new;
        assert_eq!(required_bump(&v(1, 2, 3), Some(Kind::Breaking)), (Bump::Major, v(2, 0, 0)));
        assert_eq!(required_bump(&v(1, 2, 3), Some(Kind::Additive)), (Bump::Minor, v(1, 3, 0)));
        assert_eq!(required_bump(&v(1, 2, 3), Some(Kind::Docs)), (Bump::Patch, v(1, 2, 4)));
        assert_eq!(required_bump(&v(1, 2, 3), None), (Bump::None, v(1, 2, 3)));
        assert_eq!(required_bump(&v(0, 3, 1), Some(Kind::Breaking)), (Bump::Minor, v(0, 4, 0)));
        assert_eq!(required_bump(&v(0, 3, 1), Some(Kind::Additive)), (Bump::Patch, v(0, 3, 2)));
        assert_eq!(required_bump(&v(0, 0, 7), Some(Kind::Breaking)), (Bump::Patch, v(0, 0, 8)));
    }

    #[test]
    fn dates() {
        assert!(parse_date("2025-10-20").is_ok());
        assert!(parse_date("20-10-2025").is_err());
        let today = today();
        assert_eq!(today.len(), 10);
        assert!(today.as_str() > "2025-01-01");
    }
}
