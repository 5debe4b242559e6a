//! How an annotated function produces its value, which decides where the expansion waits for
//! the outcome: after a plain body, after an `async fn`'s body, or inside the async block a
//! synchronous function returns.
//!
//! The last case is what `#[async_trait]` (and so every tonic service) turns an `async fn`
//! into before `#[track_event]` runs, since attributes expand outermost first:
//!
//! ```text
//! fn get<'life0, 'async_trait>(&'life0 self, req: Request<Get>)
//!     -> Pin<Box<dyn Future<Output = Result<Response<Item>, Status>> + Send + 'async_trait>>
//! {
//!     Box::pin(async move {
//!         if let Some(__ret) = None::<Result<Response<Item>, Status>> { return __ret; }
//!         let __self = self;
//!         let req = req;
//!         let __ret: Result<Response<Item>, Status> = { … };
//!         __ret
//!     })
//! }
//! ```
//!
//! async-trait before 0.1.44 (2021) wrote the body as an inner `async fn __get(_self: &Self, …)`
//! called as `Box::pin(__get(self, req))`. Both shapes are recognised as tracing-attributes'
//! `AsyncInfo` recognises them for `#[instrument]`, and so is the same shape written by hand
//! (`Box::pin(async move { … })`, `async move { … }`, `async move { … }.boxed()`).
//!
//! A function that returns a future in any other way is refused at the attribute: emitting
//! when the future is created would be emitting before the work ran.

use proc_macro2::Span;
use syn::{Expr, ExprAsync, GenericArgument, ItemFn, PathArguments, ReturnType, Stmt, Type, TypeParamBound};

/// How the function returns.
pub(crate) enum Body {
    /// A synchronous function that does not return a future: the outcome is its value.
    Sync,
    /// An `async fn`: the outcome is the body's value.
    Async,
    /// A synchronous function whose last statement (at `stmt`) builds the future from an async
    /// block: the outcome is that block's value. `output` is the future's `Output` when the
    /// return type names it.
    AsyncBlock { stmt: usize, output: Option<Box<Type>> },
    /// Old async-trait: the last statement calls an `async fn` declared in the body at `stmt`,
    /// whose receiver is renamed `_self`.
    InnerAsyncFn { stmt: usize },
}

/// Recognises the function's shape; a function returning a future whose completion the
/// expansion cannot see is an error at the attribute, naming what to write instead.
pub(crate) fn body(function: &ItemFn) -> syn::Result<Body> {
    if function.sig.asyncness.is_some() {
        return Ok(Body::Async);
    }
    let output = match &function.sig.output {
        ReturnType::Default => return Ok(Body::Sync),
        ReturnType::Type(_, ty) => &**ty,
    };
    let Some((index, last)) = function.block.stmts.iter().enumerate().rev().find_map(|(index, stmt)| match stmt {
        Stmt::Expr(expr, None) => Some((index, expr)),
        _ => None,
    }) else {
        return sync_unless_future(output, None);
    };
    let last = ungroup(last);
    if async_block(last).is_some() {
        return Ok(Body::AsyncBlock { stmt: index, output: future_output(output).map(Box::new) });
    }
    if let Some(called) = boxed_call(last)
        && let Some(stmt) = function.block.stmts.iter().position(|stmt| {
            matches!(stmt, Stmt::Item(syn::Item::Fn(inner)) if inner.sig.asyncness.is_some() && inner.sig.ident == called)
        })
    {
        return Ok(Body::InnerAsyncFn { stmt });
    }
    sync_unless_future(output, Some(last))
}

/// The shapes whose completion the expansion sees, for the error that refuses the others.
const ACCEPTED_SHAPES: &str = "write the function as an `async fn` (in a trait impl, under \
     `#[async_trait]` or `#[tonic::async_trait]`, with `#[track_event]` on the method), or end \
     its body with an async block written there: `async move { … }`, \
     `Box::pin(async move { … })` or `async move { … }.boxed()` (`.boxed_local()`)";

/// A function that returns a future the expansion cannot follow is refused; any other
/// synchronous function is instrumented around its body. `last` is the body's final expression:
/// a `.boxed()` or `Box::pin(…)` of some other future gets the rewrite that makes it followable.
fn sync_unless_future(output: &Type, last: Option<&Expr>) -> syn::Result<Body> {
    if !is_future(output) {
        return Ok(Body::Sync);
    }
    let message = match last {
        Some(Expr::MethodCall(call)) if is_boxed(call) => {
            let method = &call.method;
            format!(
                "#[track_event] cannot tell when this future completes: it follows `.{method}()` \
                 only on an async block written in the body, and emitting when the future is \
                 created would emit before the work ran; await it inside one, \
                 `async move {{ <future>.await }}.{method}()`, or {ACCEPTED_SHAPES}"
            )
        }
        Some(Expr::Call(call)) if is_box_pin(&call.func) => format!(
            "#[track_event] cannot tell when this future completes: it follows `Box::pin(…)` \
             only of an async block written in the body, and emitting when the future is created \
             would emit before the work ran; await it inside one, \
             `Box::pin(async move {{ <future>.await }})`, or {ACCEPTED_SHAPES}"
        ),
        _ => format!(
            "#[track_event] cannot tell when the future this function returns completes, and \
             emitting when it is created would emit before the work ran: {ACCEPTED_SHAPES}"
        ),
    };
    Err(syn::Error::new(Span::call_site(), message))
}

/// `.boxed()` or `.boxed_local()` (futures' `FutureExt`), with no arguments.
fn is_boxed(call: &syn::ExprMethodCall) -> bool {
    call.args.is_empty() && (call.method == "boxed" || call.method == "boxed_local")
}

/// `(expr)` and invisible groups (from `macro_rules!`) are transparent.
fn ungroup(expr: &Expr) -> &Expr {
    match expr {
        Expr::Paren(inner) => ungroup(&inner.expr),
        Expr::Group(inner) => ungroup(&inner.expr),
        other => other,
    }
}

/// `async { … }`, `Box::pin(async { … })` or `async { … }.boxed()` (`.boxed_local()`).
pub(crate) fn async_block(expr: &Expr) -> Option<&ExprAsync> {
    match ungroup(expr) {
        Expr::Async(block) => Some(block),
        Expr::Call(call) if is_box_pin(&call.func) && call.args.len() == 1 => match ungroup(&call.args[0]) {
            Expr::Async(block) => Some(block),
            _ => None,
        },
        Expr::MethodCall(call) if is_boxed(call) => match ungroup(&call.receiver) {
            Expr::Async(block) => Some(block),
            _ => None,
        },
        _ => None,
    }
}

/// Like [`async_block`], for a mutable rewrite.
pub(crate) fn async_block_mut(expr: &mut Expr) -> Option<&mut ExprAsync> {
    match expr {
        Expr::Paren(inner) => async_block_mut(&mut inner.expr),
        Expr::Group(inner) => async_block_mut(&mut inner.expr),
        Expr::Async(block) => Some(block),
        Expr::Call(call) if is_box_pin(&call.func) && call.args.len() == 1 => {
            call.args.first_mut().and_then(async_block_mut)
        }
        Expr::MethodCall(call) if is_boxed(call) => async_block_mut(&mut call.receiver),
        _ => None,
    }
}

/// The name of the function called in `Box::pin(name(…))`.
fn boxed_call(expr: &Expr) -> Option<String> {
    let Expr::Call(call) = expr else { return None };
    if !is_box_pin(&call.func) || call.args.len() != 1 {
        return None;
    }
    let Expr::Call(inner) = ungroup(&call.args[0]) else { return None };
    let Expr::Path(path) = ungroup(&inner.func) else { return None };
    path.path.get_ident().map(ToString::to_string)
}

/// `Box::pin`, `std::boxed::Box::pin`, `::alloc::boxed::Box::pin`, …
fn is_box_pin(func: &Expr) -> bool {
    let Expr::Path(path) = ungroup(func) else { return false };
    let segments: Vec<String> = path.path.segments.iter().map(|segment| segment.ident.to_string()).collect();
    segments.ends_with(&["Box".to_owned(), "pin".to_owned()])
}

/// Whether a return type is a future: `impl Future`, `Pin<Box<dyn Future>>`, a `BoxFuture`, or
/// any type whose name ends in `Future`.
fn is_future(ty: &Type) -> bool {
    match ty {
        Type::ImplTrait(bounds) => bounds.bounds.iter().any(bound_is_future),
        Type::TraitObject(bounds) => bounds.bounds.iter().any(bound_is_future),
        Type::Paren(inner) => is_future(&inner.elem),
        Type::Group(inner) => is_future(&inner.elem),
        Type::Path(path) => path.path.segments.last().is_some_and(|last| {
            last.ident.to_string().ends_with("Future")
                || ((last.ident == "Pin" || last.ident == "Box")
                    && generic_types(&last.arguments).next().is_some_and(is_future))
        }),
        _ => false,
    }
}

fn bound_is_future(bound: &TypeParamBound) -> bool {
    matches!(bound, TypeParamBound::Trait(bound)
        if bound.path.segments.last().is_some_and(|last| last.ident == "Future" || last.ident == "IntoFuture"))
}

/// The `Output` of a future type: `Output = T` in its bounds, or the type argument of a
/// `BoxFuture<'_, T>`.
fn future_output(ty: &Type) -> Option<Type> {
    match ty {
        Type::ImplTrait(bounds) => bounds.bounds.iter().find_map(bound_output),
        Type::TraitObject(bounds) => bounds.bounds.iter().find_map(bound_output),
        Type::Paren(inner) => future_output(&inner.elem),
        Type::Group(inner) => future_output(&inner.elem),
        Type::Path(path) => {
            let last = path.path.segments.last()?;
            if last.ident == "Pin" || last.ident == "Box" {
                generic_types(&last.arguments).next().and_then(future_output)
            } else if last.ident == "BoxFuture" || last.ident == "LocalBoxFuture" {
                generic_types(&last.arguments).next().cloned()
            } else {
                None
            }
        }
        _ => None,
    }
}

fn bound_output(bound: &TypeParamBound) -> Option<Type> {
    let TypeParamBound::Trait(bound) = bound else { return None };
    let last = bound.path.segments.last()?;
    let PathArguments::AngleBracketed(arguments) = &last.arguments else { return None };
    arguments.args.iter().find_map(|argument| match argument {
        GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(assoc.ty.clone()),
        _ => None,
    })
}

fn generic_types(arguments: &PathArguments) -> impl Iterator<Item = &Type> {
    let arguments = match arguments {
        PathArguments::AngleBracketed(arguments) => Some(arguments.args.iter()),
        _ => None,
    };
    arguments.into_iter().flatten().filter_map(|argument| match argument {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    })
}
