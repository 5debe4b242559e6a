//! `tally docs`: the tracking plan as Markdown (or, through `html.rs`, one HTML page).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::doc::{self, Block, Document, Table};
use crate::error::CliError;
use crate::{html, load, output};

const EXAMPLES: &str = "\
Examples:
  tally docs catalog.toml                          # Markdown on stdout
  tally docs catalog.toml -o docs/tracking-plan.md
  tally docs catalog.toml --format html -o plan.html

The format follows the extension of -o (.html, .htm) unless --format says otherwise.
Exit codes: 0 written, 1 the catalog does not load, 2 a file could not be read or written.";

/// Generate the tracking plan's documentation: Markdown, or one self-contained HTML page.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub(crate) struct Args {
    /// The catalog file (default: the current crate's, found as the macros find it).
    #[arg(value_name = "CATALOG")]
    catalog: Option<PathBuf>,
    /// `markdown` or `html` (a single page with inline CSS and a search box).
    #[arg(long, value_enum)]
    format: Option<DocFormat>,
    /// Write to this file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// The documentation formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DocFormat {
    /// GitHub-flavoured Markdown.
    Markdown,
    /// One self-contained HTML page.
    Html,
}

/// Runs `tally docs`.
pub(crate) fn run(args: &Args) -> Result<ExitCode, CliError> {
    let path = load::catalog_path(args.catalog.as_deref())?;
    let catalog = load::catalog(&path)?;
    let format = args.format.unwrap_or_else(|| match extension(args.output.as_deref()).as_deref() {
        Some("html" | "htm") => DocFormat::Html,
        _ => DocFormat::Markdown,
    });
    let document = doc::build(&catalog, &path);
    let text = match format {
        DocFormat::Markdown => markdown(&document),
        DocFormat::Html => html::page(&document),
    };
    output::emit(&text, args.output.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

fn extension(path: Option<&Path>) -> Option<String> {
    path?.extension().map(|ext| ext.to_string_lossy().to_ascii_lowercase())
}

/// Renders a document as GitHub-flavoured Markdown.
pub(crate) fn markdown(document: &Document) -> String {
    let mut out = String::new();
    blocks(&mut out, &document.blocks);
    let mut text = out.trim_end().to_owned();
    text.push('\n');
    text
}

fn blocks(out: &mut String, all: &[Block]) {
    for block in all {
        match block {
            Block::Heading { level, text, .. } => {
                out.push_str(&"#".repeat(usize::from(*level)));
                out.push(' ');
                out.push_str(text);
                out.push_str("\n\n");
            }
            Block::Paragraph(text) => {
                out.push_str(text);
                out.push_str("\n\n");
            }
            Block::Note(text) => {
                out.push_str("> ");
                out.push_str(&doc::one_line(text));
                out.push_str("\n\n");
            }
            Block::List(items) => {
                for item in items {
                    out.push_str("- ");
                    out.push_str(&doc::one_line(item));
                    out.push('\n');
                }
                out.push('\n');
            }
            Block::Numbered(items) => {
                for (i, item) in items.iter().enumerate() {
                    out.push_str(&format!("{}. {}\n", i + 1, doc::one_line(item)));
                }
                out.push('\n');
            }
            Block::Table(table) => render_table(out, table),
            Block::Event { blocks: inner, .. } => blocks(out, inner),
        }
    }
}

fn render_table(out: &mut String, table: &Table) {
    let row = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
        out.push('|');
        for cell in cells {
            out.push(' ');
            out.push_str(&escape_cell(cell));
            out.push_str(" |");
        }
        out.push('\n');
    };
    row(out, &mut table.header.iter().map(String::as_str));
    out.push('|');
    for _ in &table.header {
        out.push_str(" --- |");
    }
    out.push('\n');
    for r in &table.rows {
        row(out, &mut r.cells.iter().map(String::as_str));
    }
    out.push('\n');
}

/// A table cell on one line, with `|` escaped.
fn escape_cell(text: &str) -> String {
    doc::one_line(text).replace('|', "\\|")
}
