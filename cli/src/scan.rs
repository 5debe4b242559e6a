//! Finding the places a Rust file emits analytics events, with `syn`.
//!
//! Recognised call sites:
//!
//! - `#[track_event("name", …)]` and `#[tally::track_event(…)]` on functions, and the failure
//!   event of their `on_err("name", …)`;
//! - `track!("name", …)` and `tally::track!(…)`;
//! - any macro or attribute with a `tally.event = "name"` field: `info!`, `event!`, `span!`,
//!   `info_span!`, `#[instrument(fields(tally.event = "…"))]`…, and the failure event of a
//!   `tally.on_err = "name"` field (`#[instrument(err, fields(tally.on_err = "…"))]`);
//! - tally's own dynamic events: `tally::Event::new("name")` (one argument; emitted through the
//!   pipeline with `tally::routing::emit` or a tracker);
//! - raw PostHog captures: `posthog_rs::Event::new("name", distinct_id)` (two arguments),
//!   `Event::new_anon("name")`, `capture_event("name", distinct_id, …)` and
//!   `.capture("name", distinct_id, …)`.
//!
//! Macro bodies are not part of Rust's syntax tree; bodies that parse as expressions or
//! statements (`format!`, `vec!`, `json!`…) are searched too.

use std::path::{Path, PathBuf};

use proc_macro2::{Span, TokenStream, TokenTree};
use serde::Serialize;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Attribute, Expr, ExprCall, ExprMethodCall, Lit, Macro, Meta, Token};

/// How a call site emits its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Via {
    /// `#[track_event]`.
    TrackEvent,
    /// `track!`.
    Track,
    /// `tally::Event::new`: a dynamic event handed to tally's pipeline.
    Emit,
    /// A tracing macro or `#[instrument]` with a `tally.event` field.
    Tracing,
    /// A raw PostHog capture that bypasses tally's pipeline.
    Capture,
}

/// One place that emits an event.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CallSite {
    /// The source file, as walked.
    pub(crate) file: PathBuf,
    /// The 1-based line of the event name (or of the call when the name is not a literal).
    pub(crate) line: usize,
    /// The 1-based column, in characters.
    pub(crate) column: usize,
    /// How it emits.
    pub(crate) via: Via,
    /// The call as written: `#[track_event]`, `track!`, `info!`, `Event::new`, `.capture`…
    pub(crate) call: String,
    /// The event name when it is a string literal.
    pub(crate) name: Option<String>,
    /// The source text of the name expression when it is not a literal.
    pub(crate) dynamic_name: Option<String>,
    /// The source text of the `distinct_id` argument of a raw capture.
    pub(crate) distinct_id: Option<String>,
}

/// The call sites of one file, in source order. `Err` carries `line:col: message` for a file
/// that is not valid Rust.
pub(crate) fn scan(file: &Path, text: &str) -> Result<Vec<CallSite>, String> {
    let syntax = syn::parse_file(text).map_err(|error| {
        let start = error.span().start();
        format!("{}:{}:{}: cannot parse Rust: {error}", file.display(), start.line, start.column + 1)
    })?;
    let mut scanner = Scanner { file, sites: Vec::new() };
    scanner.visit_file(&syntax);
    let mut sites = scanner.sites;
    sites.sort_by_key(|site| (site.line, site.column));
    sites.dedup_by(|a, b| (a.line, a.column, a.via) == (b.line, b.column, b.via));
    Ok(sites)
}

struct Scanner<'p> {
    file: &'p Path,
    sites: Vec<CallSite>,
}

impl Scanner<'_> {
    fn site(&mut self, span: Span, via: Via, call: String, name: Name, distinct_id: Option<String>) {
        let start = span.start();
        let (name, dynamic_name) = match name {
            Name::Literal(name) => (Some(name), None),
            Name::Dynamic(text) => (None, Some(text)),
        };
        self.sites.push(CallSite {
            file: self.file.to_path_buf(),
            line: start.line,
            column: start.column + 1,
            via,
            call,
            name,
            dynamic_name,
            distinct_id,
        });
    }

    /// Every `tally.event = "name"` and `tally.on_err = "name"` field in `tokens`, at any depth.
    fn tally_fields(&mut self, tokens: TokenStream, call: &str) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, tree) in trees.iter().enumerate() {
            if let TokenTree::Group(group) = tree {
                self.tally_fields(group.stream(), call);
                continue;
            }
            let value_at = match &trees[i..] {
                [TokenTree::Ident(a), TokenTree::Punct(dot), TokenTree::Ident(b), TokenTree::Punct(eq), ..]
                    if a == "tally"
                        && dot.as_char() == '.'
                        && (b == "event" || b == "on_err")
                        && eq.as_char() == '=' =>
                {
                    i + 4
                }
                [TokenTree::Literal(key), TokenTree::Punct(eq), ..]
                    if eq.as_char() == '='
                        && matches!(string(key).as_deref(), Some("tally.event" | "tally.on_err")) =>
                {
                    i + 2
                }
                _ => continue,
            };
            if let Some(TokenTree::Literal(value)) = trees.get(value_at)
                && let Some(name) = string(value)
            {
                self.site(value.span(), Via::Tracing, call.to_owned(), Name::Literal(name), None);
            }
        }
    }

    /// Searches a macro body that parses as expressions or statements.
    fn macro_body(&mut self, mac: &Macro) {
        if let Ok(exprs) = mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
            for expr in &exprs {
                self.visit_expr(expr);
            }
        } else if let Ok(statements) = mac.parse_body_with(syn::Block::parse_within) {
            for statement in &statements {
                self.visit_stmt(statement);
            }
        }
    }

    fn capture(&mut self, call: &str, span: Span, args: &Punctuated<Expr, Token![,]>, anonymous: bool) {
        let Some(first) = args.first() else { return };
        let name = name_of(first);
        let distinct_id = if anonymous {
            Some("(anonymous)".to_owned())
        } else {
            args.iter().nth(1).map(|expr| source_text(expr.span()))
        };
        let span = if matches!(name, Name::Literal(_)) { first.span() } else { span };
        self.site(span, Via::Capture, call.to_owned(), name, distinct_id);
    }
}

impl<'ast> Visit<'ast> for Scanner<'_> {
    fn visit_attribute(&mut self, attr: &'ast Attribute) {
        if let Meta::List(list) = &attr.meta {
            let last = last_segment(&list.path);
            if last == "track_event" {
                if let Some(literal) = first_string(list.tokens.clone()) {
                    self.site(literal.0, Via::TrackEvent, "#[track_event]".into(), Name::Literal(literal.1), None);
                }
                if let Some((span, name)) = on_err_event(list.tokens.clone()) {
                    self.site(span, Via::TrackEvent, "#[track_event] on_err".into(), Name::Literal(name), None);
                }
            } else {
                self.tally_fields(list.tokens.clone(), &format!("#[{last}]"));
            }
        }
        visit::visit_attribute(self, attr);
    }

    fn visit_macro(&mut self, mac: &'ast Macro) {
        let last = last_segment(&mac.path);
        if last == "track" {
            if let Some((span, name)) = first_string(mac.tokens.clone()) {
                self.site(span, Via::Track, "track!".into(), Name::Literal(name), None);
            }
        } else {
            self.tally_fields(mac.tokens.clone(), &format!("{last}!"));
        }
        self.macro_body(mac);
        visit::visit_macro(self, mac);
    }

    fn visit_expr_call(&mut self, call: &'ast ExprCall) {
        if let Expr::Path(path) = &*call.func {
            let segments: Vec<String> = path.path.segments.iter().map(|s| s.ident.to_string()).collect();
            let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
            match segments.as_slice() {
                // tally's `Event::new(name)` takes one argument, posthog-rs's two; a path naming
                // either crate settles it.
                [.., "Event", "new"] if is_tally_event(&segments, call.args.len()) => {
                    if let Some(first) = call.args.first() {
                        let name = name_of(first);
                        let span = if matches!(name, Name::Literal(_)) { first.span() } else { call.span() };
                        self.site(span, Via::Emit, "Event::new".into(), name, None);
                    }
                }
                [.., "Event", "new"] => self.capture("Event::new", call.span(), &call.args, false),
                [.., "Event", "new_anon"] => self.capture("Event::new_anon", call.span(), &call.args, true),
                [.., "capture_event"] => self.capture("capture_event", call.span(), &call.args, false),
                _ => {}
            }
        }
        visit::visit_expr_call(self, call);
    }

    fn visit_expr_method_call(&mut self, call: &'ast ExprMethodCall) {
        let method = call.method.to_string();
        let literal_first = call.args.first().is_some_and(|first| matches!(name_of(first), Name::Literal(_)));
        match method.as_str() {
            "capture_event" => self.capture(".capture_event", call.method.span(), &call.args, false),
            // `.capture(event)` with an `Event` value is found at `Event::new`; only a literal
            // name makes `.capture` itself a capture.
            "capture" if literal_first => self.capture(".capture", call.method.span(), &call.args, false),
            _ => {}
        }
        visit::visit_expr_method_call(self, call);
    }
}

/// Whether `…::Event::new` with `args` arguments is tally's constructor rather than PostHog's.
fn is_tally_event(segments: &[&str], args: usize) -> bool {
    if segments.iter().any(|segment| segment.starts_with("posthog")) {
        return false;
    }
    segments.contains(&"tally") || args == 1
}

/// The event of `on_err("name", …)` among an attribute's top-level tokens.
fn on_err_event(tokens: TokenStream) -> Option<(Span, String)> {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    trees.windows(2).find_map(|pair| match pair {
        [TokenTree::Ident(keyword), TokenTree::Group(group)] if keyword == "on_err" => first_string(group.stream()),
        _ => None,
    })
}

/// An event name argument.
enum Name {
    Literal(String),
    Dynamic(String),
}

/// A string literal, also through `"x".to_string()`, `"x".into()`, `String::from("x")` or `&"x"`.
fn name_of(expr: &Expr) -> Name {
    fn literal(expr: &Expr) -> Option<String> {
        match expr {
            Expr::Lit(lit) => match &lit.lit {
                Lit::Str(s) => Some(s.value()),
                _ => None,
            },
            Expr::Reference(reference) => literal(&reference.expr),
            Expr::Paren(paren) => literal(&paren.expr),
            Expr::MethodCall(call)
                if call.args.is_empty()
                    && ["to_string", "to_owned", "into"].contains(&call.method.to_string().as_str()) =>
            {
                literal(&call.receiver)
            }
            Expr::Call(call) if call.args.len() == 1 => match &*call.func {
                Expr::Path(path) if path.path.segments.iter().any(|s| s.ident == "String") => {
                    call.args.first().and_then(literal)
                }
                _ => None,
            },
            _ => None,
        }
    }
    match literal(expr) {
        Some(name) => Name::Literal(name),
        None => Name::Dynamic(source_text(expr.span())),
    }
}

/// The first string literal among the top-level tokens, with its span.
fn first_string(tokens: TokenStream) -> Option<(Span, String)> {
    tokens.into_iter().find_map(|tree| match tree {
        TokenTree::Literal(literal) => string(&literal).map(|value| (literal.span(), value)),
        _ => None,
    })
}

/// The value of a string literal token.
fn string(literal: &proc_macro2::Literal) -> Option<String> {
    match Lit::new(literal.clone()) {
        Lit::Str(s) => Some(s.value()),
        _ => None,
    }
}

fn last_segment(path: &syn::Path) -> String {
    path.segments.last().map(|segment| segment.ident.to_string()).unwrap_or_default()
}

/// The source text of a span, whitespace collapsed to single spaces.
fn source_text(span: Span) -> String {
    span.source_text().map(|text| text.split_whitespace().collect::<Vec<_>>().join(" ")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(usize, Via, String, Option<String>)> {
        match scan(Path::new("x.rs"), text) {
            Ok(sites) => sites
                .into_iter()
                .map(|s| (s.line, s.via, s.name.or(s.dynamic_name).unwrap_or_default(), s.distinct_id))
                .collect(),
            Err(error) => panic!("{error}"),
        }
    }

    #[test]
    fn every_front_door() {
        let found = names(
            r#"
#[track_event("order.placed", total = order.total)]
fn place() {}

#[tally::track_event("order.cancelled", on_err("order.cancel_failed", reason = e.kind()))]
fn cancel() {
    tally::track!("cart.emptied", items = 0);
    tracing::info!(tally.event = "search.performed", query = %q, "searched");
    let span = info_span!("request", tally.event = "api.request_completed");
}

#[tracing::instrument(fields(tally.event = "job.ran"))]
async fn job() {}

#[tracing::instrument(err, fields(tally.event = "job.done", tally.on_err = "job.failed"))]
async fn done() {}
"#,
        );
        let expected = [
            (2, Via::TrackEvent, "order.placed"),
            (5, Via::TrackEvent, "order.cancelled"),
            (5, Via::TrackEvent, "order.cancel_failed"),
            (7, Via::Track, "cart.emptied"),
            (8, Via::Tracing, "search.performed"),
            (9, Via::Tracing, "api.request_completed"),
            (12, Via::Tracing, "job.ran"),
            (15, Via::Tracing, "job.done"),
            (15, Via::Tracing, "job.failed"),
        ];
        let found: Vec<(usize, Via, &str)> = found.iter().map(|(l, v, n, _)| (*l, *v, n.as_str())).collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn raw_captures_with_their_distinct_id() {
        let found = names(
            r#"
fn f(client: &Client, user: &User, name: &str) {
    let event = posthog_rs::Event::new("account_registered", &user.email);
    let other = Event::new(name, user.id.to_string());
    capture_event("identity registered", &identity.handle, props);
    analytics.capture("auth session completed", principal_id, json!({}));
    let anon = Event::new_anon("page_viewed");
    let nested = vec![Event::new("in_macro", "account-ui")];
    let matches = re.captures("not an event");
}
"#,
        );
        let expected = vec![
            (3, Via::Capture, "account_registered".to_owned(), Some("&user.email".to_owned())),
            (4, Via::Capture, "name".to_owned(), Some("user.id.to_string()".to_owned())),
            (5, Via::Capture, "identity registered".to_owned(), Some("&identity.handle".to_owned())),
            (6, Via::Capture, "auth session completed".to_owned(), Some("principal_id".to_owned())),
            (7, Via::Capture, "page_viewed".to_owned(), Some("(anonymous)".to_owned())),
            (8, Via::Capture, "in_macro".to_owned(), Some("\"account-ui\"".to_owned())),
        ];
        assert_eq!(found, expected);
    }

    #[test]
    fn tallys_own_event_constructor_is_not_a_raw_capture() {
        let found = names(
            r#"
use tally::Event;
fn f(user: &User) {
    tally::routing::emit(Event::new("user.login").with("method", "sso"));
    let e = tally::Event::new("session.start");
    let raw = posthog_rs::Event::new("user.login", &user.id);
}
"#,
        );
        let expected = vec![
            (4, Via::Emit, "user.login".to_owned(), None),
            (5, Via::Emit, "session.start".to_owned(), None),
            (6, Via::Capture, "user.login".to_owned(), Some("&user.id".to_owned())),
        ];
        assert_eq!(found, expected);
    }

    #[test]
    fn invalid_rust_names_the_position() {
        let error = scan(Path::new("bad.rs"), "fn main() {\n    let = ;\n}\n").err().unwrap_or_default();
        assert!(error.starts_with("bad.rs:2:"), "{error}");
        assert!(error.contains("cannot parse Rust"), "{error}");
    }
}
