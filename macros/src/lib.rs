//! tally's procedural macros, re-exported by the `tally` crate: use them as
//! `#[tally::track_event]` and `tally::track!`.
//!
//! Both read the compiling crate's catalog at compile time and reject, on the exact span, an
//! unknown event, an unknown or missing property, an enum literal outside its values and a
//! value of the wrong type; a deprecated event is a warning naming its replacement. The guide
//! is [docs/macros.md](https://github.com/tally-rs/tally/blob/main/docs/macros.md), also the
//! documentation of `tally::track_event` in the `tally` crate.

use proc_macro::TokenStream;

mod attr;
mod catalog;
mod check;
mod expand;
mod shape;

/// Emits a catalog event when the annotated function returns.
///
/// ```text
/// #[tally::track_event("project.created", project_id = ret.id, has_client = req.client_id.is_some())]
/// async fn create_project(req: NewProject) -> Result<Project, ApiError> { … }
///
/// #[tally::track_event("auth.login", on_err("auth.login_failed", reason = err.kind()))]
/// async fn login(form: Form<Login>) -> Result<Session, AuthError> { … }
/// ```
///
/// - The first argument names a catalog event; `name = expr` pairs give its properties.
///   Expressions read the function's arguments and `ret`: the `Ok` value of a `Result`, or
///   the return value. A `Result` that is an `Err` emits nothing, unless `on_err("event", …)`
///   names a failure event, whose values read `err`, the `Err` value.
/// - `when = expr` (a `bool`) emits only when true; `distinct_id = expr` keys the event by
///   this id instead of the context's identity. Inside `on_err(…)` they apply to the failure
///   event.
/// - A property the catalog declares with `fill = "duration_ms"` or `"duration_secs"` is
///   filled with the function's duration.
///
/// Values that mention `ret` or `err` are computed when the function returns; the others when
/// it is called, before the body runs (so they can read arguments the body consumes). Without a
/// tracker in the process, the instrumentation costs one atomic load.
#[proc_macro_attribute]
pub fn track_event(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::track_event(args.into(), item.into()).into()
}

/// Emits a catalog event from inside a body, with the same compile-time checks as
/// `#[track_event]`.
///
/// ```text
/// tally::track!("export.csv", export_type = "projects", num_rows = rows.len());
/// ```
///
/// Accepts properties, `when = expr` and `distinct_id = expr`.
#[proc_macro]
pub fn track(input: TokenStream) -> TokenStream {
    expand::track(input.into()).into()
}
