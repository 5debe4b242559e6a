//! Checking parsed arguments against the catalog: the event exists, every property is
//! declared, the required ones are given, enum literals are allowed values, `ret` and `err` are
//! used where they are bound. The result is what the expansion needs, per property.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::{Expr, Lit, LitStr};
use tally_catalog::Catalog;
use tally_catalog::model::{Deprecation, EventDef, Fill, PropertyDef, PropertyType};

use crate::attr::{EventArgs, OPTION_KEYS, Site};

/// The Rust-side conversion of a property value: the catalog type, or an array of one.
#[derive(Clone, Copy)]
pub(crate) enum Shape {
    /// A scalar of this type.
    Scalar(PropertyType),
    /// An array of items of this type (`None`: the catalog does not say).
    Array(Option<PropertyType>),
}

/// Whether a value must be there.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presence {
    /// Required and not nullable: the value itself, no `Option`.
    Required,
    /// Nullable: an `Option` whose `None` is `null`.
    Nullable,
    /// Optional: an `Option` whose `None` leaves the property out.
    Optional,
}

/// When a value is computed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timing {
    /// When the function is called, before its body runs (it reads the arguments only).
    Call,
    /// When the function returns (it reads `ret` or `err`).
    Return,
}

/// A checked property.
pub(crate) struct Property {
    /// The catalog name.
    pub(crate) name: String,
    /// The span of the name as written.
    pub(crate) key: Span,
    /// The value expression, as written.
    pub(crate) value: Expr,
    /// The conversion.
    pub(crate) shape: Shape,
    /// `Option` handling.
    pub(crate) presence: Presence,
    /// When it is evaluated.
    pub(crate) timing: Timing,
}

/// A checked option (`when`, `distinct_id`).
pub(crate) struct Checked<T> {
    /// The span of the key as written.
    pub(crate) key: Span,
    /// The value expression.
    pub(crate) value: T,
    /// When it is evaluated.
    pub(crate) timing: Timing,
}

/// One event, checked.
pub(crate) struct Event {
    /// The catalog name.
    pub(crate) name: LitStr,
    /// The given properties.
    pub(crate) properties: Vec<Property>,
    /// `when = …`.
    pub(crate) when: Option<Checked<Expr>>,
    /// `distinct_id = …`.
    pub(crate) distinct_id: Option<Checked<Expr>>,
    /// Whether the catalog declares a duration property that the expansion measures.
    pub(crate) measure: bool,
    /// The deprecation note, when the event is deprecated.
    pub(crate) deprecated: Option<String>,
}

impl Event {
    /// Whether a value of this event reads `ret` or `err`.
    pub(crate) fn uses_outcome(&self) -> bool {
        self.properties.iter().any(|property| property.timing == Timing::Return)
            || self.when.as_ref().is_some_and(|when| when.timing == Timing::Return)
            || self.distinct_id.as_ref().is_some_and(|id| id.timing == Timing::Return)
    }
}

/// What `ret` can be in the function being annotated.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Returns {
    /// Nothing (`()`): `ret` is an error.
    Unit,
    /// A value.
    Value,
}

/// The "valid keys" sentence for an event.
pub(crate) fn valid_keys(catalog: Option<&Catalog>, site: Site, event: Option<&str>) -> String {
    let options: Vec<&str> = match site {
        Site::Attribute => OPTION_KEYS.to_vec(),
        Site::OnErr | Site::Track => OPTION_KEYS[1..].to_vec(),
    };
    let options = options.iter().map(|key| format!("`{key}`")).collect::<Vec<_>>().join(", ");
    let def = catalog.zip(event).and_then(|(catalog, event)| catalog.event(event).map(|def| (catalog, def)));
    match (def, event) {
        (Some((catalog, def)), Some(event)) => {
            let properties = property_names(catalog, def).map(|name| format!("`{name}`")).collect::<Vec<_>>();
            if properties.is_empty() {
                format!("valid keys: {options} (`{event}` declares no properties)")
            } else {
                format!("valid keys: {options}, and the properties of `{event}`: {}", properties.join(", "))
            }
        }
        _ => format!("valid keys: {options}, and the event's properties"),
    }
}

fn property_names<'a>(catalog: &'a Catalog, def: &'a EventDef) -> impl Iterator<Item = &'a str> {
    def.properties().chain(catalog.common_properties()).map(|(name, _)| name)
}

fn property<'a>(catalog: &'a Catalog, def: &'a EventDef, name: &str) -> Option<&'a PropertyDef> {
    catalog.property_of(def, name)
}

/// Checks one event's arguments. `returns` is `Some` for `#[track_event]` (and its `on_err`).
pub(crate) fn event(catalog: &Catalog, args: EventArgs, site: Site, returns: Option<Returns>) -> syn::Result<Event> {
    let mut errors = Errors::default();
    let event_name = args.name.value();
    let Some(def) = catalog.event(&event_name) else {
        let suggestion = catalog
            .closest_event(&event_name)
            .map(|best| format!("; did you mean `{best}`?"))
            .unwrap_or_else(|| format!("; the catalog `{}` lists its events", catalog.source().path().display()));
        return Err(syn::Error::new(
            args.name.span(),
            format!("unknown event `{event_name}` in the tally catalog `{}`{suggestion}", catalog.name()),
        ));
    };

    let mut properties = Vec::new();
    // Misspelled properties: not reported again as missing.
    let mut misspelled = Vec::new();
    for given in args.properties {
        let Some(declared) = property(catalog, def, &given.name) else {
            let closest = tally_catalog::closest(&given.name, property_names(catalog, def));
            misspelled.extend(closest.map(str::to_owned));
            let hint = closest.map(|best| format!("did you mean `{best}`? ")).unwrap_or_default();
            errors.push(syn::Error::new(
                given.ident.span(),
                format!(
                    "`{event_name}` has no property `{}`; {hint}{}",
                    given.name,
                    valid_keys(Some(catalog), site, Some(&event_name))
                ),
            ));
            continue;
        };
        let shape = match declared.ty() {
            PropertyType::Array => Shape::Array(declared.items()),
            other => Shape::Scalar(other),
        };
        let presence = if declared.nullable() {
            Presence::Nullable
        } else if declared.required() {
            Presence::Required
        } else {
            Presence::Optional
        };
        check_literals(&given.name, declared, &given.value, &mut errors);
        let timing = timing(&given.value, site, returns, &mut errors);
        properties.push(Property {
            name: given.name,
            key: given.ident.span(),
            value: given.value,
            shape,
            presence,
            timing,
        });
    }

    let measured = matches!(site, Site::Attribute | Site::OnErr);
    let duration = catalog.duration_property(def).map(|(name, _)| name);
    let measure = measured && duration.is_some_and(|name| !properties.iter().any(|p| p.name == name));
    let missing: Vec<(&str, String)> = def
        .properties()
        .chain(catalog.common_properties())
        .filter(|&(name, declared)| {
            declared.required()
                && !properties.iter().any(|p| p.name == name)
                && !misspelled.iter().any(|m| m == name)
                && !filled(declared.fill(), measured)
        })
        .map(|(name, declared)| (name, describe_missing(name, declared, measured)))
        .collect();
    if !missing.is_empty() {
        let noun = if missing.len() == 1 { "property" } else { "properties" };
        let list = missing.iter().map(|(_, described)| described.as_str()).collect::<Vec<_>>().join(", ");
        let add = missing.iter().map(|(name, _)| format!("{name} = <expression>")).collect::<Vec<_>>().join(", ");
        errors
            .push(syn::Error::new(args.name.span(), format!("`{event_name}` requires the {noun} {list}: add `{add}`")));
    }

    let when = args.when.map(|(key, value)| {
        let timing = timing(&value, site, returns, &mut errors);
        Checked { key: key.span(), value, timing }
    });
    let distinct_id = args.distinct_id.map(|(key, value)| {
        let timing = timing(&value, site, returns, &mut errors);
        Checked { key: key.span(), value, timing }
    });
    let deprecated = def.deprecated().map(|deprecation: &Deprecation| {
        let mut note = format!("the catalog deprecates the event `{event_name}`");
        if let Some(since) = deprecation.since() {
            note.push_str(&format!(" since {since}"));
        }
        match deprecation.replacement() {
            Some(replacement) => note.push_str(&format!("; emit `{replacement}` instead")),
            None => note.push_str("; stop emitting it"),
        }
        if let Some(reason) = deprecation.reason() {
            note.push_str(&format!(" ({reason})"));
        }
        note
    });
    errors.finish()?;
    Ok(Event { name: args.name, properties, when, distinct_id, measure, deprecated })
}

/// Whether a `fill` satisfies a required property for an emit from this macro. Facts only a
/// middleware or the tracing layer measures (status, error, login) do not; durations do for
/// `#[track_event]`, which times the function.
fn filled(fill: Option<&Fill>, measured: bool) -> bool {
    match fill {
        None => false,
        Some(fill) if fill.is_duration() => measured,
        Some(
            Fill::Status
            | Fill::RequestSize
            | Fill::ResponseSize
            | Fill::ErrorType
            | Fill::ErrorMessage
            | Fill::FailureReason
            | Fill::LoginMethod
            | Fill::Success
            | Fill::Username
            | Fill::SessionDurationSecs
            | Fill::SessionDurationMins
            | Fill::LastActivity
            | Fill::LogoutReason,
        ) => false,
        Some(_) => true,
    }
}

fn describe_missing(name: &str, declared: &PropertyDef, measured: bool) -> String {
    let ty = match (declared.ty(), declared.items()) {
        (PropertyType::Array, Some(items)) => format!("array of {}", items.as_str()),
        (ty, _) => ty.as_str().to_owned(),
    };
    match declared.fill() {
        Some(fill) if fill.is_duration() && !measured => {
            format!("`{name}` ({ty}; its fill `{fill}` is measured by #[track_event] only)")
        }
        Some(fill) => format!("`{name}` ({ty}; its fill `{fill}` is only known to the tally middleware)"),
        None => format!("`{name}` ({ty})"),
    }
}

/// Checks literal values against what the catalog allows: enum values, `non_empty`,
/// `max_length`. Anything else is left to the type checker and run-time validation.
fn check_literals(name: &str, declared: &PropertyDef, value: &Expr, errors: &mut Errors) {
    let ty = declared.ty();
    let literals: Vec<&LitStr> = match (ty, value) {
        (PropertyType::Array, Expr::Array(array)) => array.elems.iter().filter_map(string_literal).collect(),
        (PropertyType::Array, Expr::Reference(reference)) => match &*reference.expr {
            Expr::Array(array) => array.elems.iter().filter_map(string_literal).collect(),
            _ => Vec::new(),
        },
        (_, value) => string_literal(value).into_iter().collect(),
    };
    let item_ty = if ty == PropertyType::Array { declared.items() } else { Some(ty) };
    for literal in literals {
        let text = literal.value();
        if item_ty == Some(PropertyType::Enum)
            && let Some(values) = declared.values()
            && !values.contains(&text)
        {
            let hint = tally_catalog::closest(&text, values.iter().map(String::as_str))
                .map(|best| format!("did you mean \"{best}\"? "))
                .unwrap_or_default();
            let list = values.iter().map(|v| format!("\"{v}\"")).collect::<Vec<_>>().join(", ");
            errors.push(syn::Error::new(
                literal.span(),
                format!("\"{text}\" is not a value of the enum property `{name}`; {hint}its values: {list}"),
            ));
        }
        if ty != PropertyType::Array {
            if declared.non_empty() && text.is_empty() {
                errors.push(syn::Error::new(literal.span(), format!("`{name}` is declared `non_empty`")));
            }
            if let Some(max) = declared.max_length()
                && text.chars().count() > max as usize
            {
                errors.push(syn::Error::new(
                    literal.span(),
                    format!("`{name}` is declared with `max_length = {max}`; this is {} long", text.chars().count()),
                ));
            }
        }
    }
}

fn string_literal(expr: &Expr) -> Option<&LitStr> {
    match expr {
        Expr::Lit(syn::ExprLit { lit: Lit::Str(literal), .. }) => Some(literal),
        Expr::Group(group) => string_literal(&group.expr),
        Expr::Paren(paren) => string_literal(&paren.expr),
        _ => None,
    }
}

/// When an expression is evaluated, checking its use of `ret` and `err`.
fn timing(value: &Expr, site: Site, returns: Option<Returns>, errors: &mut Errors) -> Timing {
    let Some(returns) = returns else { return Timing::Call };
    let tokens = value.to_token_stream();
    let ret = find_ident(&tokens, "ret");
    let err = find_ident(&tokens, "err");
    match site {
        Site::Attribute => {
            if let Some(span) = err {
                errors.push(syn::Error::new(
                    span,
                    "`err` is only bound inside `on_err(…)`, for the failure event; the success event's values \
                     can use `ret` and the function's arguments",
                ));
            }
            match (ret, returns) {
                (Some(span), Returns::Unit) => {
                    errors.push(syn::Error::new(
                        span,
                        "`ret` is not bound: the function returns `()`; use the function's arguments, or return a value",
                    ));
                    Timing::Call
                }
                (Some(_), Returns::Value) => Timing::Return,
                (None, _) => Timing::Call,
            }
        }
        Site::OnErr => {
            if let Some(span) = ret {
                errors.push(syn::Error::new(
                    span,
                    "`ret` is not bound inside `on_err(…)`: the function failed; use `err`, the `Err` value",
                ));
            }
            if err.is_some() { Timing::Return } else { Timing::Call }
        }
        Site::Track => Timing::Call,
    }
}

/// The span of the first identifier `name` in `tokens`, at any depth (macro arguments included).
pub(crate) fn find_ident(tokens: &TokenStream, name: &str) -> Option<Span> {
    tokens.clone().into_iter().find_map(|tree| match tree {
        TokenTree::Ident(ident) if ident == name => Some(ident.span()),
        TokenTree::Group(group) => find_ident(&group.stream(), name),
        _ => None,
    })
}

/// Errors collected so that one compilation reports all of them.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    /// Adds an error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// `Err` with every error pushed, if any.
    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}
