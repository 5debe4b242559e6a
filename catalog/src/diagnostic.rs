//! Diagnostics: what is wrong, where (`file:line:col`), and how to fix it.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth a look; does not fail `tally check`.
    Warning,
    /// The catalog must be fixed.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// A position in a catalog file, 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub(crate) file: PathBuf,
    pub(crate) line: usize,
    pub(crate) column: usize,
}

impl Location {
    /// A position in `file`; `line` and `column` (in characters) start at 1.
    pub fn new(file: impl Into<PathBuf>, line: usize, column: usize) -> Self {
        Self { file: file.into(), line, column }
    }

    /// The file, as it was named when the catalog was loaded.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The line, starting at 1.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The column in characters, starting at 1.
    pub fn column(&self) -> usize {
        self.column
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// One finding about a catalog: a parse error, an invalid reference or a lint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub(crate) severity: Severity,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) help: Option<String>,
    pub(crate) location: Location,
}

impl Diagnostic {
    /// A finding without help; add one with [`Diagnostic::with_help`].
    pub fn new(severity: Severity, code: &'static str, message: impl Into<String>, location: Location) -> Self {
        Self { severity, code, message: message.into(), help: None, location }
    }

    /// The diagnostic with `help`: how to fix it.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Error or warning.
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// A stable id: a lint rule id (see [`crate::lint::RULES`]) or a parse error code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// How to fix it, when there is something specific to say.
    pub fn help(&self) -> Option<&str> {
        self.help.as_deref()
    }

    /// Where it is.
    pub fn location(&self) -> &Location {
        &self.location
    }
}

impl fmt::Display for Diagnostic {
    /// `file:line:col: severity[code]: message`, then `  = help: …`; control and bidi
    /// characters in the message and help are escaped (see [`escape`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}[{}]: {}", self.location, self.severity, self.code, escape(&self.message))?;
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {}", escape(help))?;
        }
        Ok(())
    }
}

/// `text` safe to print on a terminal: control characters (but newline and tab) and the
/// bidirectional formatting characters that reorder what a reader sees (U+202A–U+202E,
/// U+2066–U+2069, U+200E, U+200F, U+061C) are written as `\u{…}` escapes. A name in a
/// catalog or a source file may contain them; echoed raw, they can make a line say something
/// else than it does ("Trojan Source").
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// The text of a catalog file and the map from byte offsets to lines and columns.
#[derive(Debug, Clone)]
pub struct Source {
    path: PathBuf,
    text: String,
    line_starts: Vec<usize>,
}

impl Source {
    /// Wraps a file's text; `path` is only used to name the file in diagnostics.
    pub fn new(path: impl AsRef<Path>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(at, _)| at + 1)).collect();
        Self { path: path.as_ref().to_path_buf(), text, line_starts }
    }

    /// Decodes a file's bytes as UTF-8; otherwise an `invalid-utf8` diagnostic at the first
    /// invalid byte, giving its byte offset (the line and column count the valid text before it).
    pub fn decode(path: &Path, bytes: Vec<u8>) -> Result<String, Diagnostic> {
        String::from_utf8(bytes).map_err(|error| {
            let offset = error.utf8_error().valid_up_to();
            let bytes = error.as_bytes();
            let valid = String::from_utf8_lossy(&bytes[..offset]).into_owned();
            let found = bytes.get(offset).map_or(String::new(), |byte| format!(" (0x{byte:02x})"));
            let location = Source::new(path, valid).location(offset);
            Diagnostic {
                severity: Severity::Error,
                code: "invalid-utf8",
                message: format!("the file is not UTF-8 text: invalid byte{found} at byte offset {offset}"),
                help: Some("save the file as UTF-8".into()),
                location,
            }
        })
    }

    /// The file's path as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The 1-based line and column of a byte offset (clamped to the text).
    pub(crate) fn location(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset).max(1);
        let start = self.line_starts[line - 1];
        let column = self.text.get(start..offset).map_or(offset - start, |s| s.chars().count()) + 1;
        Location { file: self.path.clone(), line, column }
    }

    /// A diagnostic at the start of `span`.
    pub(crate) fn diagnostic(
        &self,
        severity: Severity,
        code: &'static str,
        span: Range<usize>,
        message: impl Into<String>,
        help: Option<String>,
    ) -> Diagnostic {
        Diagnostic { severity, code, message: message.into(), help, location: self.location(span.start) }
    }
}

/// A catalog that could not be loaded, with every error found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogError {
    pub(crate) diagnostics: Vec<Diagnostic>,
}

impl CatalogError {
    /// The errors, in file order.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The errors, in file order, owned.
    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diagnostics
    }

    pub(crate) fn single(diagnostic: Diagnostic) -> Self {
        Self { diagnostics: vec![diagnostic] }
    }
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, diagnostic) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CatalogError {}
