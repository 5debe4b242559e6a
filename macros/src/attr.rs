//! Parsing the macros' arguments:
//! `"event.name", property = expr, …, when = expr, distinct_id = expr, on_err("event", …)`.
//!
//! Parsing knows the option keys but not the catalog; errors about an argument end with the
//! valid keys, which the caller computes from the catalog (see [`Hint`]).

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Expr, Ident, LitStr, Token};

/// The option keys, in the order errors list them.
pub(crate) const OPTION_KEYS: [&str; 3] = ["on_err", "when", "distinct_id"];

/// Where arguments are parsed: the keys differ.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Site {
    /// `#[track_event(…)]`: the success event; `on_err(…)` allowed.
    Attribute,
    /// Inside `on_err(…)`: the failure event.
    OnErr,
    /// `track!(…)`: an event from inside a body.
    Track,
}

/// Computes "valid keys: …" for an event name (the caller knows the catalog).
pub(crate) type Hint<'a> = &'a dyn Fn(Site, Option<&str>) -> String;

/// A property: its catalog name (a raw identifier unraw'd) and value.
pub(crate) struct PropertyArg {
    /// The catalog name.
    pub(crate) name: String,
    /// The key as written, for spans.
    pub(crate) ident: Ident,
    /// The value expression.
    pub(crate) value: Expr,
}

/// The arguments describing one event.
pub(crate) struct EventArgs {
    /// The catalog event name.
    pub(crate) name: LitStr,
    /// The properties given, in order.
    pub(crate) properties: Vec<PropertyArg>,
    /// `when = …`, with its key.
    pub(crate) when: Option<(Ident, Expr)>,
    /// `distinct_id = …`, with its key.
    pub(crate) distinct_id: Option<(Ident, Expr)>,
}

/// The arguments of `#[track_event(…)]`.
pub(crate) struct TrackEventArgs {
    /// The success event.
    pub(crate) event: EventArgs,
    /// `on_err(…)`: the keyword (for spans) and the failure event.
    pub(crate) on_err: Option<(Ident, EventArgs)>,
}

/// Parses `#[track_event(…)]` arguments.
pub(crate) fn parse_track_event(tokens: proc_macro2::TokenStream, hint: Hint<'_>) -> syn::Result<TrackEventArgs> {
    let parser = |input: ParseStream<'_>| {
        let mut on_err = None;
        let event = parse_event(input, Site::Attribute, hint, &mut on_err)?;
        Ok(TrackEventArgs { event, on_err })
    };
    parser.parse2(tokens)
}

/// Parses `track!(…)` arguments.
pub(crate) fn parse_track(tokens: proc_macro2::TokenStream, hint: Hint<'_>) -> syn::Result<EventArgs> {
    let parser = |input: ParseStream<'_>| parse_event(input, Site::Track, hint, &mut None);
    parser.parse2(tokens)
}

/// The event name, if the arguments start with one (for hints after a parse error).
pub(crate) fn event_name(tokens: &proc_macro2::TokenStream) -> Option<LitStr> {
    let parser = |input: ParseStream<'_>| {
        let name = input.parse::<LitStr>()?;
        input.parse::<proc_macro2::TokenStream>()?;
        Ok(name)
    };
    parser.parse2(tokens.clone()).ok()
}

fn usage(site: Site) -> &'static str {
    match site {
        Site::Attribute => "#[track_event(\"resource.action\", property = expr, …)]",
        Site::OnErr => "on_err(\"resource.action_failed\", property = expr, …)",
        Site::Track => "track!(\"resource.action\", property = expr, …)",
    }
}

fn parse_event(
    input: ParseStream<'_>,
    site: Site,
    hint: Hint<'_>,
    on_err: &mut Option<(Ident, EventArgs)>,
) -> syn::Result<EventArgs> {
    if input.is_empty() {
        let span = if site == Site::OnErr { input.span() } else { Span::call_site() };
        return Err(syn::Error::new(
            span,
            format!("expected the catalog event name as a string literal: {}", usage(site)),
        ));
    }
    if !input.peek(LitStr) {
        return Err(input.error(format!(
            "expected the catalog event name as a string literal, e.g. \"project.created\": {}",
            usage(site)
        )));
    }
    let name: LitStr = input.parse()?;
    let event = name.value();
    let mut args = EventArgs { name, properties: Vec::new(), when: None, distinct_id: None };
    let bad_key = |span: Span, what: String| syn::Error::new(span, format!("{what}; {}", hint(site, Some(&event))));
    while !input.is_empty() {
        if !input.peek(Token![,]) {
            return Err(bad_key(input.span(), "expected `,` between arguments".into()));
        }
        input.parse::<Token![,]>()?;
        if input.is_empty() {
            break;
        }
        if !input.peek(Ident::peek_any) {
            return Err(bad_key(input.span(), "expected `key = expression`".into()));
        }
        let key = input.call(Ident::parse_any)?;
        let written = key.to_string();
        if written == "on_err" && input.peek(syn::token::Paren) {
            if site != Site::Attribute {
                return Err(bad_key(
                    key.span(),
                    match site {
                        Site::OnErr => "`on_err` cannot be nested".into(),
                        _ => "`on_err` only exists in #[track_event]: it names the event of an `Err` return".into(),
                    },
                ));
            }
            if on_err.is_some() {
                return Err(syn::Error::new(key.span(), "duplicate `on_err`: a function has one failure event"));
            }
            let content;
            let parens = syn::parenthesized!(content in input);
            if content.is_empty() {
                return Err(syn::Error::new(
                    parens.span.join(),
                    format!("expected the failure event's name: {}", usage(Site::OnErr)),
                ));
            }
            let failure = parse_event(&content, Site::OnErr, hint, &mut None)?;
            *on_err = Some((key, failure));
            continue;
        }
        if !input.peek(Token![=]) || input.peek(Token![==]) {
            let what = if written == "on_err" {
                "`on_err` takes the failure event and its properties in parentheses: \
                 on_err(\"auth.login_failed\", reason = err.kind())"
                    .to_owned()
            } else {
                format!("expected `{written} = <expression>`")
            };
            return Err(bad_key(key.span(), what));
        }
        let equals = input.parse::<Token![=]>()?;
        if input.is_empty() || input.peek(Token![,]) {
            return Err(syn::Error::new(equals.span, format!("expected an expression after `{written} =`")));
        }
        let value: Expr = input.parse()?;
        match written.as_str() {
            "when" => set_once(&mut args.when, key, value)?,
            "distinct_id" => set_once(&mut args.distinct_id, key, value)?,
            "on_err" => {
                return Err(bad_key(
                    key.span(),
                    "`on_err` takes the failure event and its properties in parentheses, not `=`: \
                     on_err(\"auth.login_failed\", reason = err.kind())"
                        .into(),
                ));
            }
            _ => {
                let name = key.unraw().to_string();
                if args.properties.iter().any(|property| property.name == name) {
                    return Err(syn::Error::new(
                        key.span(),
                        format!("duplicate property `{name}`: give each property once"),
                    ));
                }
                args.properties.push(PropertyArg { name, ident: key, value });
            }
        }
    }
    Ok(args)
}

fn set_once(slot: &mut Option<(Ident, Expr)>, key: Ident, value: Expr) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(key.span(), format!("duplicate `{key}`")));
    }
    *slot = Some((key, value));
    Ok(())
}
