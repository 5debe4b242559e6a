//! `tally check`: load and lint catalogs, report every diagnostic at `file:line:col`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tally_catalog::lint::RULES;
use tally_catalog::model::{Privacy, PropertyDef};
use tally_catalog::{Catalog, Diagnostic, Location, Severity};

use crate::error::{self, CliError};
use crate::load;
use crate::output::{self, Format, plural};

const EXAMPLES: &str = "\
Examples:
  tally check                      # the current crate's catalog
  tally check catalog.toml
  tally check examples/catalogs/*.toml --format json
  tally check --explain personal-distinct-id

Exit codes: 0 no errors (warnings allowed), 1 an error-severity lint or an invalid catalog,
2 a catalog could not be read (missing file, directory).";

/// Load and lint catalogs: print each diagnostic as `file:line:col: severity[rule]: message`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub(crate) struct Args {
    /// The catalog files to check (default: the current crate's, found as the macros find it).
    #[arg(value_name = "CATALOG")]
    catalogs: Vec<PathBuf>,
    /// `text` for people; `json` prints one JSON array of every diagnostic.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Explain a lint rule (or list every rule when no id is given) and exit.
    #[arg(long, value_name = "RULE", num_args = 0..=1, default_missing_value = "")]
    explain: Option<String>,
}

/// What checking one catalog found.
struct Checked {
    diagnostics: Vec<Diagnostic>,
    /// The number of events, when the catalog loaded.
    events: Option<usize>,
    /// The file could not be read at all.
    unreadable: bool,
    /// The properties whose personal data the catalog lets leave the process, with the reason:
    /// the only way past the privacy gate, so a reviewer should see every one.
    allowed: Vec<AllowedProperty>,
}

/// A property marked `privacy = "allowed"`.
struct AllowedProperty {
    /// `common.name` or `event.name`.
    path: String,
    reason: String,
}

fn allowed_properties(catalog: &Catalog) -> Vec<AllowedProperty> {
    let allowed = |owner: &str, (name, property): (&str, &PropertyDef)| {
        (property.privacy() == Privacy::Allowed).then(|| AllowedProperty {
            path: format!("{owner}.{name}"),
            reason: property.reason().unwrap_or_default().to_owned(),
        })
    };
    let common = catalog.common_properties().filter_map(|property| allowed("common", property));
    let own =
        catalog.events().flat_map(|(event, def)| def.properties().filter_map(move |property| allowed(event, property)));
    common.chain(own).collect()
}

/// Runs `tally check`.
pub(crate) fn run(args: &Args) -> Result<ExitCode, CliError> {
    if let Some(rule) = &args.explain {
        return explain(rule);
    }
    let found;
    let catalogs = if args.catalogs.is_empty() {
        found = [load::catalog_path(None)?];
        &found[..]
    } else {
        &args.catalogs[..]
    };
    let results: Vec<(&Path, Checked)> = catalogs.iter().map(|path| (path.as_path(), check(path))).collect();
    let errors = count(&results, Severity::Error);
    let warnings = count(&results, Severity::Warning);
    let unreadable = results.iter().any(|(_, checked)| checked.unreadable);

    match args.format {
        Format::Json => {
            let all: Vec<&Diagnostic> = results.iter().flat_map(|(_, checked)| &checked.diagnostics).collect();
            output::stdout(&output::json(&all)?)?;
        }
        Format::Text => output::stdout(&text_report(&results, errors, warnings))?,
    }
    Ok(if unreadable {
        error::incomplete()
    } else if errors > 0 {
        error::findings()
    } else {
        ExitCode::SUCCESS
    })
}

fn check(path: &Path) -> Checked {
    let bytes = match load::bytes(path, "catalog") {
        Ok(bytes) => bytes,
        Err(error) => {
            let message = match error {
                CliError::Run(message) | CliError::Invalid(message) => message,
                CliError::Quiet => String::new(),
            };
            let diagnostic = Diagnostic::new(Severity::Error, "unreadable", message, Location::new(path, 1, 1));
            return Checked { diagnostics: vec![diagnostic], events: None, unreadable: true, allowed: Vec::new() };
        }
    };
    match Catalog::from_bytes(path, bytes) {
        Ok(catalog) => Checked {
            diagnostics: catalog.lint(),
            events: Some(catalog.events().count()),
            unreadable: false,
            allowed: allowed_properties(&catalog),
        },
        Err(error) => {
            Checked { diagnostics: error.into_diagnostics(), events: None, unreadable: false, allowed: Vec::new() }
        }
    }
}

fn count(results: &[(&Path, Checked)], severity: Severity) -> usize {
    results.iter().flat_map(|(_, checked)| &checked.diagnostics).filter(|d| d.severity() == severity).count()
}

fn text_report(results: &[(&Path, Checked)], errors: usize, warnings: usize) -> String {
    let mut out = String::new();
    for (path, checked) in results {
        for diagnostic in &checked.diagnostics {
            if checked.unreadable {
                output::stderr(&format!("error: {}\n", diagnostic.message()));
            } else {
                let _ = writeln!(out, "{diagnostic}");
            }
        }
        let own_errors = checked.diagnostics.iter().filter(|d| d.severity() == Severity::Error).count();
        let own_warnings = checked.diagnostics.len() - own_errors;
        let status = match checked.events {
            _ if checked.unreadable => "not checked".to_owned(),
            None => "invalid, does not load".to_owned(),
            Some(events) => {
                let verdict = if own_errors > 0 { "fails" } else { "ok" };
                format!("{verdict}, {}", plural(events, "event"))
            }
        };
        let _ = writeln!(
            out,
            "{}: {status}; {}, {}",
            tally_catalog::escape(&path.display().to_string()),
            plural(own_errors, "error"),
            plural(own_warnings, "warning")
        );
        if !checked.allowed.is_empty() {
            let _ = writeln!(out, "  personal data sent as is (privacy = \"allowed\"):");
            for property in &checked.allowed {
                let _ = writeln!(
                    out,
                    "    {}: {}",
                    tally_catalog::escape(&property.path),
                    tally_catalog::escape(&property.reason)
                );
            }
        }
    }
    if results.len() > 1 {
        let _ = writeln!(
            out,
            "checked {}: {}, {}",
            plural(results.len(), "catalog"),
            plural(errors, "error"),
            plural(warnings, "warning")
        );
    }
    out
}

fn explain(rule: &str) -> Result<ExitCode, CliError> {
    let severity = |s: Severity| match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    if rule.is_empty() {
        let mut out =
            String::from("Lint rules (default severity; override under [lints], suppress per item with allow):\n");
        for rule in RULES {
            let _ = writeln!(out, "  {:<32} {:<8} {}", rule.id(), severity(rule.severity()), rule.summary());
        }
        output::stdout(&out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(found) = RULES.iter().find(|candidate| candidate.id() == rule) else {
        let hint = tally_catalog::closest(rule, RULES.iter().map(|r| r.id()))
            .map(|best| format!("; did you mean `{best}`?"))
            .unwrap_or_else(|| "; `tally check --explain` lists them".into());
        return Err(CliError::Run(format!("no lint rule `{rule}`{hint}")));
    };
    output::stdout(&format!(
        "{} ({} by default)\n\n{}\n\nSuppress it for one item with `allow = {{ {} = \"why it does not apply\" }}` on the \
         event, category, property or identity kind; change its severity for the whole catalog under \
         `[lints]`: `{} = \"warn\"`.\n",
        found.id(),
        severity(found.severity()),
        found.summary(),
        found.id(),
        found.id()
    ))?;
    Ok(ExitCode::SUCCESS)
}
