//! Writing a command's result to stdout or to the file named by `-o`.

use std::io::{self, ErrorKind, Write};
use std::path::Path;

use serde_json::ser::{Formatter, PrettyFormatter};

use crate::error::CliError;

/// Writes `text` to `path`, or to stdout when there is none. A closed stdout (the reader of a
/// pipe went away) ends the command quietly instead of panicking.
pub(crate) fn emit(text: &str, path: Option<&Path>) -> Result<(), CliError> {
    match path {
        Some(path) => write_file(path, text),
        None => stdout(text),
    }
}

/// Writes `text` to stdout.
pub(crate) fn stdout(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(|error| match error.kind() {
        ErrorKind::BrokenPipe => CliError::Quiet,
        _ => CliError::Run(format!("cannot write to stdout: {error}")),
    })
}

/// Writes `text` to stderr; failures are ignored (there is nowhere left to report them).
pub(crate) fn stderr(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Writes a file, creating its parent directories.
pub(crate) fn write_file(path: &Path, text: &str) -> Result<(), CliError> {
    if path.is_dir() {
        return Err(CliError::Run(format!("cannot write `{}`: it is a directory", path.display())));
    }
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|error| CliError::Run(format!("cannot create the directory `{}`: {error}", parent.display())))?;
    }
    std::fs::write(path, text).map_err(|error| CliError::Run(format!("cannot write `{}`: {error}", path.display())))
}

/// The format of a report: for people or for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Lines for people, like a compiler's.
    Text,
    /// JSON for programs.
    Json,
}

/// `1 error`, `2 errors`.
pub(crate) fn plural(count: usize, noun: &str) -> String {
    if count == 1 { format!("{count} {noun}") } else { format!("{count} {noun}s") }
}

/// Pretty JSON with a final newline. Strings are escaped as JSON requires (quotes, backslashes,
/// C0 controls) and further: DEL, C1 controls and the bidirectional formatting characters are
/// written as `\uXXXX`, so that a name that carries them cannot reorder what a terminal shows
/// when the report is printed; a JSON reader gets the same string back.
pub(crate) fn json(value: &impl serde::Serialize) -> Result<String, CliError> {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, Escaping(PrettyFormatter::new()));
    value.serialize(&mut serializer).map_err(|error| CliError::Run(format!("cannot serialize the output: {error}")))?;
    let mut text =
        String::from_utf8(out).map_err(|error| CliError::Run(format!("cannot serialize the output: {error}")))?;
    text.push('\n');
    Ok(text)
}

/// serde_json's pretty formatter, with the extra escapes of [`json`].
struct Escaping(PrettyFormatter<'static>);

impl Formatter for Escaping {
    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()> {
        let mut rest = fragment;
        // `find` stops at a character boundary, so the split is always valid.
        while let Some(at) = rest.find(needs_escape) {
            let (before, from) = rest.split_at(at);
            writer.write_all(before.as_bytes())?;
            let mut chars = from.chars();
            let Some(c) = chars.next() else { break };
            write!(writer, "\\u{:04x}", u32::from(c))?;
            rest = chars.as_str();
        }
        writer.write_all(rest.as_bytes())
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_array(writer)
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array(writer)
    }

    fn begin_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(writer, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array_value(writer)
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object(writer)
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object(writer)
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(writer, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object_value(writer)
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_value(writer)
    }
}

/// Characters serde_json leaves raw that a terminal would act on: DEL, C1 controls and the
/// bidirectional formatting characters (the set `tally_catalog::escape` escapes in text).
fn needs_escape(c: char) -> bool {
    matches!(c, '\u{7f}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}
