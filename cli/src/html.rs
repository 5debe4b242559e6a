//! `tally docs --format html`: the documentation as one self-contained page (inline CSS, a small
//! inline script that filters the events as you type; no external asset).

use crate::doc::{self, Block, Document, Table};

const STYLE: &str = r#"
:root { color-scheme: light dark; --fg: #1f2328; --muted: #59636e; --bg: #ffffff; --line: #d1d9e0; --code: #eff2f5; --accent: #0969da; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --line: #3d444d; --code: #1f242c; --accent: #4493f8; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.55 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 1100px; margin: 0 auto; padding: 1rem 1.5rem 4rem; }
.search { position: sticky; top: 0; z-index: 1; display: flex; gap: 1rem; align-items: center; padding: .6rem 1.5rem; background: var(--bg); border-bottom: 1px solid var(--line); }
.search input { flex: 1; max-width: 40rem; padding: .45rem .7rem; font: inherit; color: inherit; background: var(--bg); border: 1px solid var(--line); border-radius: 6px; }
.search span { color: var(--muted); font-size: .9em; }
h1, h2, h3, h4 { line-height: 1.25; margin: 1.6em 0 .6em; }
h2 { padding-bottom: .3em; border-bottom: 1px solid var(--line); }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code { font: .88em/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; padding: .1em .35em; background: var(--code); border-radius: 4px; }
blockquote { margin: 1em 0; padding: .2em 1em; color: var(--muted); border-left: 4px solid var(--line); }
.table { overflow-x: auto; margin: .8em 0 1.2em; }
table { border-collapse: collapse; }
th, td { padding: .35em .7em; border: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--code); }
section.event { margin: 1.5em 0; padding: 0 1.2em .5em; border: 1px solid var(--line); border-radius: 8px; }
section.event > h3:first-child, section.event > h4:first-child { margin-top: 1em; }
[hidden] { display: none !important; }
"#;

const SCRIPT: &str = r#"
(function () {
  var input = document.getElementById('search');
  var count = document.getElementById('count');
  var items = Array.prototype.slice.call(document.querySelectorAll('[data-search]'));
  var events = items.filter(function (el) { return el.tagName === 'SECTION'; }).length;
  function apply() {
    var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    items.forEach(function (el) {
      var text = el.getAttribute('data-search');
      var match = words.every(function (word) { return text.indexOf(word) !== -1; });
      el.hidden = !match;
      if (match && el.tagName === 'SECTION') { shown += 1; }
    });
    count.textContent = words.length ? shown + ' of ' + events + ' events' : events + ' events';
  }
  input.addEventListener('input', apply);
  var query = new URLSearchParams(window.location.search).get('q');
  if (query) { input.value = query; }
  apply();
})();
"#;

/// Renders a document as one HTML page.
pub(crate) fn page(document: &Document) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(&format!("<title>{}</title>\n", escape(&document.title)));
    out.push_str(&format!("<style>{STYLE}</style>\n</head>\n<body>\n"));
    out.push_str(
        "<div class=\"search\"><input id=\"search\" type=\"search\" placeholder=\"Filter events by name, \
         property or description\" aria-label=\"Filter events\" autocomplete=\"off\"><span id=\"count\"></span></div>\n",
    );
    out.push_str("<main>\n");
    blocks(&mut out, &document.blocks);
    out.push_str("</main>\n");
    out.push_str(&format!("<script>{SCRIPT}</script>\n</body>\n</html>\n"));
    out
}

fn blocks(out: &mut String, all: &[Block]) {
    for block in all {
        match block {
            Block::Heading { level, text, id } => {
                out.push_str(&format!("<h{level} id=\"{}\">{}</h{level}>\n", escape(id), inline(text)));
            }
            Block::Paragraph(text) => out.push_str(&format!("<p>{}</p>\n", inline(text))),
            Block::Note(text) => out.push_str(&format!("<blockquote><p>{}</p></blockquote>\n", inline(text))),
            Block::List(items) => list(out, "ul", items),
            Block::Numbered(items) => list(out, "ol", items),
            Block::Table(table) => render_table(out, table),
            Block::Event { search, blocks: inner } => {
                out.push_str(&format!("<section class=\"event\" data-search=\"{}\">\n", escape(&search_text(search))));
                blocks(out, inner);
                out.push_str("</section>\n");
            }
        }
    }
}

fn list(out: &mut String, tag: &str, items: &[String]) {
    out.push_str(&format!("<{tag}>\n"));
    for item in items {
        out.push_str(&format!("<li>{}</li>\n", inline(item)));
    }
    out.push_str(&format!("</{tag}>\n"));
}

fn render_table(out: &mut String, table: &Table) {
    out.push_str("<div class=\"table\"><table>\n");
    if table.header.iter().any(|h| !h.is_empty()) {
        out.push_str("<thead><tr>");
        for cell in &table.header {
            out.push_str(&format!("<th>{}</th>", inline(cell)));
        }
        out.push_str("</tr></thead>\n");
    }
    out.push_str("<tbody>\n");
    for row in &table.rows {
        match &row.search {
            Some(search) => out.push_str(&format!("<tr data-search=\"{}\">", escape(&search_text(search)))),
            None => out.push_str("<tr>"),
        }
        for cell in &row.cells {
            out.push_str(&format!("<td>{}</td>", inline(cell)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
}

/// What the search box matches: lower case, one line.
fn search_text(text: &str) -> String {
    doc::one_line(&doc::plain(text)).to_lowercase()
}

/// Inline markup (`` `code` ``, `**bold**`, `[text](#anchor)`) to HTML; everything else escaped.
fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    let mut bold = false;
    while let Some(c) = rest.chars().next() {
        if let Some((label, target, after)) = doc::link(rest) {
            out.push_str(&format!("<a href=\"{}\">{}</a>", escape(target), inline(label)));
            rest = after;
        } else if let Some(after) = rest.strip_prefix("**") {
            out.push_str(if bold { "</strong>" } else { "<strong>" });
            bold = !bold;
            rest = after;
        } else if c == '`'
            && let Some(end) = rest[1..].find('`')
        {
            out.push_str(&format!("<code>{}</code>", escape(&rest[1..=end])));
            rest = &rest[end + 2..];
        } else {
            out.push_str(&escape(&rest[..c.len_utf8()]));
            rest = &rest[c.len_utf8()..];
        }
    }
    if bold {
        out.push_str("</strong>");
    }
    out
}

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_markup() {
        assert_eq!(
            inline("a `<b>` **c** [`d`](#d)"),
            "a <code>&lt;b&gt;</code> <strong>c</strong> <a href=\"#d\"><code>d</code></a>"
        );
        assert_eq!(inline("unclosed ` tick"), "unclosed ` tick");
        assert_eq!(inline("**open"), "<strong>open</strong>");
    }
}
