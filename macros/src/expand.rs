//! Code generation: from a checked event and the annotated function to the instrumented
//! function (or, for `track!`, to the emitting block).
//!
//! The shape of an instrumented function:
//!
//! ```text
//! fn f(args) -> R {
//!     const _: &[u8] = include_bytes!("/abs/catalog.toml");   // edits recompile
//!     let __tally_pre = if is_active() { Some((call-time values…, Instant?)) } else { None };
//!     let __tally_ret = (|| { body })();                       // `async move { body }.await`
//!     if let Some((…)) = __tally_pre {
//!         match split(&__tally_ret) { Ok(ret) => emit success, Err(err) => emit failure }
//!     }
//!     __tally_ret
//! }
//! ```
//!
//! With no tracker in the process, the cost is one relaxed atomic load and two branches.
//! Generated locals use `Span::mixed_site()`, so they can never clash with the user's names;
//! paths are absolute (`::tally::__private`, `::core`).

use proc_macro2::{Delimiter, Group, Ident, Punct, Spacing, Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::visit_mut::VisitMut;
use syn::{AttrStyle, Expr, ItemFn, LitStr, ReturnType, Type};
use tally_catalog::model::PropertyType;

use crate::attr::{self, Site};
use crate::catalog::{self, ENV_VAR, Loaded};
use crate::check::{self, Presence, Returns, Shape, Timing};
use crate::shape::{self, Body};

/// `#[track_event(args)] item`.
pub(crate) fn track_event(args: TokenStream, item: TokenStream) -> TokenStream {
    match try_track_event(args, item.clone()) {
        Ok(expanded) => expanded,
        // The original item stays, so the rest of the crate (and the IDE) keeps working; its
        // arguments, which the attribute would have read, are not also reported as unused.
        Err(error) => {
            let error = error.to_compile_error();
            quote!(#error #[allow(unused_variables)] #item)
        }
    }
}

/// `track!(args)`.
pub(crate) fn track(args: TokenStream) -> TokenStream {
    match try_track(args) {
        Ok(expanded) => expanded,
        Err(error) => {
            let error = error.to_compile_error();
            quote!({ #error })
        }
    }
}

fn try_track_event(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let function: ItemFn = syn::parse2(item.clone()).map_err(|_| {
        syn::Error::new_spanned(
            &item,
            "#[track_event] goes on a function with a body: a `fn`, an `async fn` or a method in an `impl` block",
        )
    })?;
    if let Some(constness) = &function.sig.constness {
        return Err(syn::Error::new(constness.span, "#[track_event] cannot instrument a `const fn`"));
    }
    let body = shape::body(&function)?;
    // Old async-trait renamed the receiver of the inner `async fn` to `_self`.
    let args = match body {
        Body::InnerAsyncFn { .. } => rename_self(args),
        _ => args,
    };
    let loaded = catalog::load();
    let hint = |site: Site, event: Option<&str>| {
        check::valid_keys(loaded.as_ref().ok().map(|loaded| &loaded.catalog), site, event)
    };
    let parsed = attr::parse_track_event(args, &hint);
    let loaded = loaded.map_err(|message| syn::Error::new(Span::call_site(), message))?;
    let parsed = parsed?;
    let returns = match &body {
        Body::Sync | Body::Async => returns(&function.sig.output),
        Body::AsyncBlock { output: Some(output), .. } => returns_type(output),
        // The future's `Output` is not written out: `ret` is whatever it is.
        Body::AsyncBlock { output: None, .. } => Returns::Value,
        Body::InnerAsyncFn { stmt } => match &function.block.stmts[*stmt] {
            syn::Stmt::Item(syn::Item::Fn(inner)) => returns(&inner.sig.output),
            _ => Returns::Value,
        },
    };
    let catalog = &loaded.catalog;
    let success = check::event(catalog, parsed.event, Site::Attribute, Some(returns));
    let failure = parsed
        .on_err
        .map(|(keyword, args)| check::event(catalog, args, Site::OnErr, Some(returns)).map(|event| (keyword, event)))
        .transpose();
    let (success, failure) = match (success, failure) {
        (Ok(success), Ok(failure)) => (success, failure),
        (Err(mut error), Err(more)) => {
            error.combine(more);
            return Err(error);
        }
        (Err(error), _) | (_, Err(error)) => return Err(error),
    };
    let events = Events { loaded: &loaded, success, failure, returns };
    Ok(match body {
        Body::Sync | Body::Async => instrument(function, &events),
        Body::AsyncBlock { stmt, output } => instrument_async_block(function, stmt, output.as_deref(), &events),
        Body::InnerAsyncFn { stmt } => instrument_inner_fn(function, stmt, &events),
    })
}

fn returns(output: &ReturnType) -> Returns {
    match output {
        ReturnType::Default => Returns::Unit,
        ReturnType::Type(_, ty) => returns_type(ty),
    }
}

fn returns_type(ty: &Type) -> Returns {
    if matches!(ty, Type::Tuple(tuple) if tuple.elems.is_empty()) { Returns::Unit } else { Returns::Value }
}

/// `self` → `_self` in the attribute's arguments, for old async-trait's inner function.
fn rename_self(args: TokenStream) -> TokenStream {
    args.into_iter()
        .map(|tree| match tree {
            TokenTree::Ident(ident) if ident == "self" => TokenTree::Ident(Ident::new("_self", ident.span())),
            TokenTree::Group(group) => {
                let mut renamed = Group::new(group.delimiter(), rename_self(group.stream()));
                renamed.set_span(group.span());
                TokenTree::Group(renamed)
            }
            other => other,
        })
        .collect()
}

fn try_track(args: TokenStream) -> syn::Result<TokenStream> {
    let loaded = catalog::load();
    let hint = |site: Site, event: Option<&str>| {
        check::valid_keys(loaded.as_ref().ok().map(|loaded| &loaded.catalog), site, event)
    };
    let name = attr::event_name(&args);
    let parsed = attr::parse_track(args, &hint);
    let loaded =
        loaded.map_err(|message| syn::Error::new(name.as_ref().map_or_else(Span::call_site, LitStr::span), message))?;
    let event = check::event(&loaded.catalog, parsed?, Site::Track, None)?;
    let guard = catalog_guard(&loaded);
    let deprecation = deprecation(&event);
    let values = event.properties.iter().map(conversion).collect();
    let distinct_id = event.distinct_id.as_ref().map(distinct_id);
    let emit = build(&event, values, distinct_id, None);
    let body = match &event.when {
        Some(when) => {
            let condition = condition(when);
            quote!(if #condition { #emit })
        }
        None => emit,
    };
    Ok(quote! {
        {
            #guard
            #deprecation
            if ::tally::__private::is_active() {
                #body
            }
        }
    })
}

/// `const _` items that make the compiler re-run the macro when the catalog file or the
/// `TALLY_CATALOG` variable changes.
fn catalog_guard(loaded: &Loaded) -> TokenStream {
    let path = LitStr::new(&loaded.path.to_string_lossy(), Span::call_site());
    quote! {
        const _: &[::core::primitive::u8] = ::core::include_bytes!(#path);
        const _: ::core::option::Option<&::core::primitive::str> = ::core::option_env!(#ENV_VAR);
    }
}

/// A use of a `#[deprecated]` constant at the event name: rustc's own deprecation warning,
/// on stable, naming the replacement.
fn deprecation(event: &check::Event) -> TokenStream {
    let Some(note) = &event.deprecated else { return TokenStream::new() };
    let span = event.name.span();
    let name = Ident::new("deprecated_event", span);
    quote! {
        {
            #[deprecated(note = #note)]
            #[allow(non_upper_case_globals)]
            const deprecated_event: () = ();
            let () = #name;
        }
    }
}

/// The conversion of a property value to JSON. The call is spanned at the property's name and
/// its argument at the user's expression, so that a value of the wrong type is a type error
/// pointing at the expression, with the property named by "required by a bound introduced by
/// this call".
fn conversion(property: &check::Property) -> TokenStream {
    let base = match property.shape {
        Shape::Scalar(ty) => type_fn(ty).to_owned(),
        Shape::Array(items) => format!("{}_array", items.map_or("any", type_fn)),
    };
    let function = match property.presence {
        Presence::Required => base,
        Presence::Nullable | Presence::Optional => format!("{base}_maybe"),
    };
    let span = property.key;
    let function = Ident::new(&function, span);
    let argument = by_ref(&property.value);
    let call = quote_spanned!(span=> ::tally::convert::#function(#argument));
    match property.presence {
        Presence::Nullable => quote_spanned!(span=> ::tally::__private::or_null(#call)),
        Presence::Required | Presence::Optional => call,
    }
}

fn type_fn(ty: PropertyType) -> &'static str {
    match ty {
        PropertyType::String => "string",
        PropertyType::Integer => "integer",
        PropertyType::Number => "number",
        PropertyType::Boolean => "boolean",
        PropertyType::Datetime => "datetime",
        PropertyType::Uuid => "uuid",
        PropertyType::Enum => "enumeration",
        PropertyType::Object => "object",
        PropertyType::Array => "any",
        // A type newer than this macro: any value; the runtime validates it against the catalog.
        _ => "any",
    }
}

/// `distinct_id = …` → `Option<DistinctId>`.
fn distinct_id(checked: &check::Checked<Expr>) -> TokenStream {
    let argument = by_ref(&checked.value);
    quote_spanned!(checked.key=> ::tally::convert::distinct_id(#argument))
}

/// `when = …` → `bool`.
fn condition(checked: &check::Checked<Expr>) -> TokenStream {
    let value = &checked.value;
    let local = Ident::new("__tally_when", Span::mixed_site());
    quote_spanned!(checked.key=> { let #local: ::core::primitive::bool = #value; #local })
}

/// The spans of an expression's first and last tokens.
fn bounds(value: &Expr) -> (Span, Span) {
    let tokens: Vec<TokenTree> = value.to_token_stream().into_iter().collect();
    let first = tokens.first().map_or_else(Span::call_site, TokenTree::span);
    let last = tokens.last().map_or(first, |tree| match tree {
        TokenTree::Group(group) => group.span_close(),
        other => other.span(),
    });
    (first, last)
}

/// `(expr)` whose span covers the user's expression.
fn parenthesized(value: &Expr) -> TokenStream {
    let (_, last) = bounds(value);
    let mut group = Group::new(Delimiter::Parenthesis, value.to_token_stream());
    group.set_span(last);
    group.into_token_stream()
}

/// `&(expr)`, spanned from the expression's first token to its last: a type error in the
/// argument points at exactly what the user wrote.
fn by_ref(value: &Expr) -> TokenStream {
    let (first, _) = bounds(value);
    let mut ampersand = Punct::new('&', Spacing::Alone);
    ampersand.set_span(first);
    let group = parenthesized(value);
    quote!(#ampersand #group)
}

/// The statements that build and emit one event. `values` holds the tokens of each property's
/// JSON value (a conversion, or a local computed at call time), in property order.
fn build(
    event: &check::Event,
    values: Vec<TokenStream>,
    distinct_id: Option<TokenStream>,
    elapsed: Option<TokenStream>,
) -> TokenStream {
    let local = Ident::new("__tally_event", Span::mixed_site());
    let name = LitStr::new(&event.name.value(), event.name.span());
    let capacity = event.properties.len();
    let inserts = event.properties.iter().zip(values).map(|(property, value)| {
        let property_name = LitStr::new(&property.name, Span::call_site());
        match property.presence {
            Presence::Required | Presence::Nullable => quote!(#local.insert(#property_name, #value);),
            Presence::Optional => {
                let present = Ident::new("__tally_value", Span::mixed_site());
                quote! {
                    if let ::core::option::Option::Some(#present) = #value {
                        #local.insert(#property_name, #present);
                    }
                }
            }
        }
    });
    let duration = elapsed.map(|elapsed| quote!(#local = #local.with_duration(#elapsed);));
    let distinct_id = distinct_id.map(|id| {
        let present = Ident::new("__tally_distinct_id", Span::mixed_site());
        quote! {
            if let ::core::option::Option::Some(#present) = #id {
                #local = #local.with_distinct_id(#present);
            }
        }
    });
    quote! {
        #[allow(unused_mut)]
        let mut #local = ::tally::__private::Event::with_capacity(#name, #capacity);
        #(#inserts)*
        #duration
        #distinct_id
        ::tally::__private::emit(#local);
    }
}

/// Values computed when the function is called, bound to locals before the body runs.
#[derive(Default)]
struct CallTime {
    locals: Vec<Ident>,
    values: Vec<TokenStream>,
}

impl CallTime {
    fn bind(&mut self, value: TokenStream) -> Ident {
        let local = Ident::new(&format!("__tally_pre_{}", self.locals.len()), Span::mixed_site());
        self.locals.push(local.clone());
        self.values.push(value);
        local
    }
}

/// The emitting statements of one event, with its call-time values bound in `pre`.
fn event_statements(event: &check::Event, pre: &mut CallTime, started: Option<&Ident>) -> TokenStream {
    let values = event
        .properties
        .iter()
        .map(|property| match property.timing {
            Timing::Call => pre.bind(conversion(property)).into_token_stream(),
            Timing::Return => conversion(property),
        })
        .collect();
    let distinct_id = event.distinct_id.as_ref().map(|checked| match checked.timing {
        Timing::Call => pre.bind(distinct_id(checked)).into_token_stream(),
        Timing::Return => distinct_id(checked),
    });
    let elapsed = started.filter(|_| event.measure).map(|started| quote!(#started.elapsed()));
    let emit = build(event, values, distinct_id, elapsed);
    match &event.when {
        Some(when) => {
            let condition = match when.timing {
                Timing::Call => pre.bind(condition(when)).into_token_stream(),
                Timing::Return => condition(when),
            };
            quote!(if #condition { #emit })
        }
        None => emit,
    }
}

/// The checked events of one annotated function.
struct Events<'a> {
    loaded: &'a Loaded,
    success: check::Event,
    failure: Option<(Ident, check::Event)>,
    returns: Returns,
}

/// The instrumented function: a plain `fn` or an `async fn`.
fn instrument(function: ItemFn, events: &Events<'_>) -> TokenStream {
    let ItemFn { attrs, vis, sig, block } = function;
    let (inner, outer): (Vec<_>, Vec<_>) =
        attrs.into_iter().partition(|attr| matches!(attr.style, AttrStyle::Inner(_)));
    let output = match &sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => Some(&**ty),
    };
    let body = fake_return(output, *block);
    let run = if sig.asyncness.is_some() { quote!(async move #body.await) } else { quote!((|| #body)()) };
    let statements = statements(events, &run);
    quote! {
        #(#outer)*
        #vis #sig {
            #(#inner)*
            #statements
        }
    }
}

/// A function whose last statement builds its future from an async block (async-trait's
/// shape, or the same written by hand): the async block becomes one that runs the original
/// block and then emits. Everything else is left as it is.
fn instrument_async_block(
    mut function: ItemFn,
    stmt: usize,
    output: Option<&Type>,
    events: &Events<'_>,
) -> TokenStream {
    if let syn::Stmt::Expr(expr, None) = &mut function.block.stmts[stmt]
        && let Some(block) = shape::async_block_mut(expr)
    {
        let capture = &block.capture;
        let original = fake_return(output, block.block.clone());
        let run = quote!(async #capture #original.await);
        let statements = statements(events, &run);
        block.block = syn::parse_quote!({ #statements });
    }
    function.into_token_stream()
}

/// Old async-trait: the inner `async fn` is instrumented.
fn instrument_inner_fn(mut function: ItemFn, stmt: usize, events: &Events<'_>) -> TokenStream {
    if let syn::Stmt::Item(syn::Item::Fn(inner)) = &function.block.stmts[stmt] {
        let instrumented = instrument(inner.clone(), events);
        function.block.stmts[stmt] = syn::Stmt::Item(syn::Item::Verbatim(instrumented));
    }
    function.into_token_stream()
}

/// The statements of an instrumented body: call-time values, `run` (the original body, as
/// an expression), then the emission, then the value.
fn statements(events: &Events<'_>, run: &TokenStream) -> TokenStream {
    let Events { loaded, success, failure, returns } = events;
    let guard = catalog_guard(loaded);
    let deprecations = [Some(success), failure.as_ref().map(|(_, event)| event)]
        .into_iter()
        .flatten()
        .map(deprecation)
        .collect::<TokenStream>();

    let mut pre = CallTime::default();
    let measure = success.measure || failure.as_ref().is_some_and(|(_, event)| event.measure);
    let started = measure.then(|| pre.bind(quote!(::tally::__private::Instant::now())));
    let on_success = event_statements(success, &mut pre, started.as_ref());
    let on_failure = failure.as_ref().map(|(_, event)| event_statements(event, &mut pre, started.as_ref()));

    let ret_used = success.uses_outcome();
    let err_used = failure.as_ref().is_some_and(|(_, event)| event.uses_outcome());
    let result = Ident::new("__tally_ret", Span::mixed_site());
    let binding = |name: &str, used: bool, span: Span| {
        if used {
            Ident::new(name, Span::call_site().located_at(span)).into_token_stream()
        } else {
            quote_spanned!(span=> _)
        }
    };
    let post = match (failure, on_failure, returns) {
        (Some((keyword, _)), Some(on_failure), _) => {
            // One error, at `on_err`, for a return type that is not a `Result`: the check's
            // tokens all share one span and context.
            let check_span = Span::mixed_site().located_at(keyword.span());
            let checked = Ident::new("__tally_ret", check_span);
            let check = quote_spanned!(check_span=> ::tally::outcome::fallible(&#checked););
            let (ret, err) = (binding("ret", ret_used, Span::call_site()), binding("err", err_used, Span::call_site()));
            quote! {
                #check
                #[allow(unused_imports)]
                use ::tally::outcome::{ResultOutcome as _, ValueOutcome as _};
                match (&::tally::outcome::Outcome(&#result)).split() {
                    ::core::result::Result::Ok(#ret) => { #on_success }
                    ::core::result::Result::Err(#err) => { #on_failure }
                }
            }
        }
        (_, _, Returns::Unit) => on_success,
        (_, _, Returns::Value) => {
            let ret = binding("ret", ret_used, Span::call_site());
            quote! {
                #[allow(unused_imports)]
                use ::tally::outcome::{ResultOutcome as _, ValueOutcome as _};
                if let ::core::result::Result::Ok(#ret) = (&::tally::outcome::Outcome(&#result)).split() {
                    #on_success
                }
            }
        }
    };
    let CallTime { locals, values } = pre;
    quote! {
        #guard
        #deprecations
        let __tally_pre = if ::tally::__private::is_active() {
            ::core::option::Option::Some((#(#values,)*))
        } else {
            ::core::option::Option::None
        };
        #[allow(clippy::let_unit_value, clippy::redundant_closure_call)]
        let #result = #run;
        if let ::core::option::Option::Some((#(#locals,)*)) = __tally_pre {
            #post
        }
        #result
    }
}

/// The body with an unreachable `return` of the declared type first, so that `?` and
/// `return` inside the closure or async block infer the function's return type. The body's
/// statements are spliced in, not nested as a block: a nested one-expression block would make
/// rustc warn `unused_braces` at the user's code.
fn fake_return(output: Option<&Type>, block: syn::Block) -> TokenStream {
    let Some(ty) = output else { return block.into_token_stream() };
    let mut ty = ty.clone();
    EraseImplTrait.visit_type_mut(&mut ty);
    let span = syn::spanned::Spanned::span(&ty);
    let local = format_ident!("__tally_fake_return", span = Span::mixed_site());
    let fake = quote_spanned! {span=>
        #[allow(unreachable_code, clippy::diverging_sub_expression, clippy::let_unit_value, clippy::unreachable)]
        if false {
            let #local: #ty = ::core::unreachable!();
            return #local;
        }
    };
    let stmts = &block.stmts;
    let mut body = Group::new(Delimiter::Brace, quote!(#fake #(#stmts)*));
    body.set_span(block.brace_token.span.join());
    body.into_token_stream()
}

/// `impl Trait` in a return type becomes `_` in the fake return's annotation.
struct EraseImplTrait;

impl VisitMut for EraseImplTrait {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(impl_trait) = ty {
            *ty = Type::Infer(syn::TypeInfer {
                underscore_token: syn::Token![_](syn::spanned::Spanned::span(impl_trait)),
            });
        } else {
            syn::visit_mut::visit_type_mut(self, ty);
        }
    }
}
