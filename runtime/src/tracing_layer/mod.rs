//! A `tracing_subscriber::Layer` that turns spans and events carrying `tally.event` into
//! catalog events.
//!
//! ```
//! use tracing_subscriber::prelude::*;
//! let subscriber = tracing_subscriber::registry().with(tally_runtime::tracing_layer::TallyLayer::new());
//! tracing::subscriber::with_default(subscriber, || {
//!     tracing::info!(tally.event = "workflow.execution_completed", workflow_id = "wf-1", duration = 412);
//! });
//! ```
//!
//! When each event fires:
//! - **A tracing event** with `tally.event = "<name>"` emits that catalog event at once. Its
//!   other fields become properties, converted to the catalog's declared types.
//! - **A span** with `tally.event` emits its event when it closes, with those of its fields
//!   the event declares (including fields recorded later with `Span::record`; other fields,
//!   such as the arguments `#[instrument]` records, are ignored) and, when the catalog declares a duration
//!   property (`fill = "duration_ms"`), the span's lifetime. If an ERROR event with an `error`
//!   field happened inside it (what `#[instrument(err)]` records) and the span names
//!   `tally.on_err = "<name>"`, that failure event is emitted instead.
//! - **Inheritance**: fields of enclosing spans fill the event's declared properties (the
//!   innermost wins, the event's own fields win over all); `tally.identity.<kind> = "…"` and
//!   `tally.group.<type> = "…"` on a span set the identity and groups, on top of the request
//!   [`Context`].
//! - **Errors as events** (off by default, [`TallyLayer::with_errors_as_events`]): an ERROR-level
//!   event inside a request becomes the catalog's `role = "error"` event, with the callsite as
//!   its message: never the formatted message or field values, which may hold personal data.
//!
//! The layer ignores tracing output from tally itself, posthog-rs, reqwest, hyper, h2 and
//! rustls, and everything on the tally worker thread, so delivery can never feed back into
//! events. Events without `tally.event` cost one field-name lookup.
//!
//! **Request context.** A span keeps the request [`Context`] current when it opens, for its
//! whole life: its own event carries that request's identity and request id whichever task
//! closes it, and events inside it take it in tasks that have no context of their own (a task
//! spawned with `.instrument(span)` or `.in_current_span()`, a blocking closure run in
//! `span.in_scope`). A task's own context wins over a span's.
//!
//! **Filters.** A global filter applies to every layer, this one included. When the global max
//! level hides INFO, the layer logs one WARN: when the subscriber is installed for a filter
//! added before this layer, at the first span or event it sees for one added after; keep
//! the level on the fmt layer only, or let `tally.event` through the `EnvFilter`:
//!
//! ```
//! use tracing_subscriber::{EnvFilter, prelude::*};
//! // Logs at WARN, analytics at every level: the filter belongs to the fmt layer only.
//! let subscriber = tracing_subscriber::registry()
//!     .with(tracing_subscriber::fmt::layer().with_filter(EnvFilter::new("warn")))
//!     .with(tally_runtime::tracing_layer::TallyLayer::new());
//! # let _guard = tracing::subscriber::set_default(subscriber);
//! ```
//!
//! ```
//! use tracing_subscriber::{EnvFilter, prelude::*};
//! // One global filter: WARN for everything, and every span and event with `tally.event`.
//! let subscriber = tracing_subscriber::registry()
//!     .with(EnvFilter::new("warn,[{tally.event}]=trace"))
//!     .with(tracing_subscriber::fmt::layer())
//!     .with(tally_runtime::tracing_layer::TallyLayer::new());
//! # let _guard = tracing::subscriber::set_default(subscriber);
//! ```

use std::fmt;
use std::mem::take;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tally_catalog::model::Role;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context as LayerContext, Layer};
use tracing_subscriber::registry::{LookupSpan, SpanRef};

use crate::context::Context;
use crate::event::{Event, Fact};
use crate::identity::Identity;
use crate::routing;
use crate::tracker::Tracker;

mod fields;
mod filters;

use fields::{EVENT_FIELD, Fields, MESSAGE_FIELD};
use filters::FilterCheck;

/// Targets whose output never becomes events: tally's own and its HTTP stack's.
const IGNORED_TARGETS: &[&str] = &["tally", "posthog_rs", "reqwest", "hyper", "hyper_util", "h2", "rustls", "tower"];

/// The catalog property that receives an `on_err` event's error.
const ERROR_PROPERTY: &str = "error";

/// The tally tracing layer. See the [module docs](crate::tracing_layer) for when events fire.
#[derive(Clone)]
pub struct TallyLayer {
    tracker: Option<Tracker>,
    errors_as_events: bool,
    filters: Arc<FilterCheck>,
}

impl Default for TallyLayer {
    fn default() -> Self {
        Self { tracker: None, errors_as_events: false, filters: FilterCheck::new() }
    }
}

impl fmt::Debug for TallyLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TallyLayer").field("explicit_tracker", &self.tracker.is_some()).finish()
    }
}

impl TallyLayer {
    /// A layer that emits to the current tracker (the one scoped around the task, else the
    /// installed default).
    pub fn new() -> Self {
        Self::default()
    }

    /// A layer that emits to `tracker`.
    pub fn with_tracker(tracker: Tracker) -> Self {
        Self { tracker: Some(tracker), ..Self::default() }
    }

    /// Turns ERROR-level events inside a request into the catalog's error event.
    pub fn with_errors_as_events(mut self, enabled: bool) -> Self {
        self.errors_as_events = enabled;
        self
    }

    /// How many `tally.event` callsites registered at a level the subscriber's global filter
    /// hides (shared by this layer's clones). Only callsites that register are seen: when no
    /// subscriber in the process enables a level, `tracing` skips its callsites before any
    /// layer, which is why the layer also warns once when it is installed.
    pub fn hidden_callsites(&self) -> u64 {
        self.filters.hidden_callsites()
    }

    /// Runs `f` with the layer's tracker, else `route()` (the tracker a span was routed to when
    /// it opened; asked only when the layer has none), else the current one, without cloning a
    /// handle (a clone is a shared reference count: contended when many threads emit).
    fn using_tracker<R>(&self, route: impl FnOnce() -> Option<Tracker>, f: impl FnOnce(&Tracker) -> R) -> Option<R> {
        if let Some(tracker) = &self.tracker {
            return Some(f(tracker));
        }
        match route() {
            Some(tracker) => Some(f(&tracker)),
            None => routing::with_current(f),
        }
    }
}

/// What the layer keeps per span (in the span's extensions, as tracing-opentelemetry keeps
/// its per-span data).
#[derive(Default)]
struct SpanFields {
    fields: Fields,
    started: Option<Instant>,
    /// The display of the error that failed the span (`#[instrument(err)]`), once one did.
    failure: Option<String>,
    /// The request context current when the span opened: the span keeps its request's
    /// identity for its whole life, whichever task enters or closes it.
    context: Option<Arc<Context>>,
    /// The tracker scoped around the task when the span opened, if one was: the span's event
    /// goes there whichever task closes it.
    route: Option<Tracker>,
}

/// The context captured by the innermost span of `scope` that captured one.
fn captured<'a, S>(scope: impl Iterator<Item = SpanRef<'a, S>>) -> Option<Arc<Context>>
where
    S: Subscriber + for<'l> LookupSpan<'l>,
{
    scope.into_iter().find_map(|span| span.extensions().get::<SpanFields>().and_then(|data| data.context.clone()))
}

/// The request context of an event: the task's own, else the one its spans captured.
fn event_context<S>(ctx: &LayerContext<'_, S>, event: &tracing::Event<'_>) -> Option<Arc<Context>>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    Context::current().or_else(|| captured(ctx.event_scope(event).into_iter().flatten()))
}

/// The tracker captured by the innermost span of `scope` that was opened in a routed task.
fn routed<'a, S>(scope: impl Iterator<Item = SpanRef<'a, S>>) -> Option<Tracker>
where
    S: Subscriber + for<'l> LookupSpan<'l>,
{
    scope.into_iter().find_map(|span| span.extensions().get::<SpanFields>().and_then(|data| data.route.clone()))
}

/// The tracker an event's spans were opened under, when none is scoped around the task (a
/// scoped one wins, and is used without a clone: `None` here lets [`routing::with_current`] find
/// it); `None` as well when no span has one (the installed default then).
fn event_route<S>(ctx: &LayerContext<'_, S>, event: &tracing::Event<'_>) -> Option<Tracker>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    if routing::has_scoped() {
        return None;
    }
    routed(ctx.event_scope(event).into_iter().flatten())
}

fn ignored(target: &str) -> bool {
    IGNORED_TARGETS
        .iter()
        .any(|ignored| target.strip_prefix(ignored).is_some_and(|rest| rest.is_empty() || rest.starts_with("::")))
        || crate::worker::on_worker_thread()
}

impl<S> Layer<S> for TallyLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_layer(&mut self, subscriber: &mut S) {
        self.filters.layered_over(subscriber.max_level_hint());
    }

    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        self.filters.installed(subscriber);
    }

    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        self.filters.registered(metadata);
        Interest::always()
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        if self.filters.pending() {
            self.filters.late_check();
        }
        // Spans opened in a request keep its context, fields or not (`#[instrument(skip_all)]`).
        let context = Context::current();
        if (attrs.fields().is_empty() && context.is_none()) || ignored(attrs.metadata().target()) {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        // The route is kept only where it can be read: a layer with its own tracker never asks.
        let route = if self.tracker.is_none() { routing::scoped() } else { None };
        let mut data = SpanFields { context, route, ..SpanFields::default() };
        attrs.record(&mut data.fields);
        if data.fields.event.is_some() {
            data.started = Some(Instant::now());
        }
        span.extensions_mut().insert(data);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        match extensions.get_mut::<SpanFields>() {
            Some(data) => {
                values.record(&mut data.fields);
                if data.fields.event.is_some() && data.started.is_none() {
                    data.started = Some(Instant::now());
                }
            }
            None => {
                let mut data = SpanFields::default();
                values.record(&mut data.fields);
                extensions.insert(data);
            }
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: LayerContext<'_, S>) {
        if self.filters.pending() {
            self.filters.late_check();
        }
        let metadata = event.metadata();
        let is_tally = metadata.fields().field(EVENT_FIELD).is_some();
        let is_error = *metadata.level() == Level::ERROR;
        if !is_tally && !is_error {
            return; // the common case: one field-name lookup
        }
        self.tally_or_error_event(event, ctx, is_tally);
    }

    fn on_close(&self, id: Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(data) = span.extensions_mut().remove::<SpanFields>() else { return };
        let SpanFields { mut fields, started, failure, context, route } = data;
        let Some(event) = fields.event.take() else { return };
        let on_err = fields.on_err.take();
        let (name, error) = match (failure, on_err) {
            (Some(error), Some(on_err)) => (on_err, Some(error)),
            _ => (event, None),
        };
        // The span's own request, whichever task closes it; else an enclosing span's; else the
        // closing task's.
        let context = context
            .or_else(|| captured(span.parent().into_iter().flat_map(|parent| parent.scope())))
            .or_else(Context::current);
        let route = || route.or_else(|| routed(span.parent().into_iter().flat_map(|parent| parent.scope())));
        self.using_tracker(route, |tracker| {
            // `#[instrument]` records every argument; only what the event declares is a property.
            let def = tracker.catalog().event(&name);
            let declares = |property: &str| def.is_some_and(|def| def.property(property).is_some());
            fields.properties.retain(|(field, _)| declares(field.as_ref()));
            if let Some(error) = &error
                && declares(ERROR_PROPERTY)
            {
                fields.set_property(ERROR_PROPERTY.into(), error.clone().into());
            }
            let parents = span.parent().into_iter().flat_map(|parent| parent.scope().from_root());
            let mut event = Event::from_name(name, 0);
            inherit(&mut event, tracker, parents, Some(&mut fields), context, started.map(|s| s.elapsed()));
            if let Some(error) = error {
                // Fills a `fill = "error_message"` property; scrubbed like any free text.
                event = event.with_fact(Fact::ErrorMessage, error);
            }
            let _ = tracker.emit(event);
        });
    }
}

impl TallyLayer {
    /// Out of line, so that `on_event`'s common case (neither) stays a few instructions.
    #[inline(never)]
    fn tally_or_error_event<S>(&self, event: &tracing::Event<'_>, ctx: LayerContext<'_, S>, is_tally: bool)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let metadata = event.metadata();
        if ignored(metadata.target()) {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        if !is_tally {
            // An ERROR-level event. One that fails a span with `tally.on_err` is reported by
            // that failure event: no error event on top.
            let handled = match fields.error.take() {
                Some(error) => mark_failed(&ctx, event, error),
                None => false,
            };
            if self.errors_as_events && !handled {
                self.error_event(event, &ctx);
            }
            return;
        }
        let Some(name) = fields.event.take() else { return };
        let context = event_context(&ctx, event);
        self.using_tracker(
            || event_route(&ctx, event),
            |tracker| {
                let def = tracker.catalog().event(&name);
                if let Some(message) = fields.message.take() {
                    if def.is_some_and(|def| def.property(MESSAGE_FIELD).is_some()) {
                        fields.set_property(MESSAGE_FIELD.into(), message);
                    } else {
                        tracker.count_ignored_field();
                    }
                }
                let scope = ctx.event_scope(event);
                let ancestors = scope.into_iter().flat_map(|s| s.from_root());
                let mut built = Event::from_name(name, 0);
                inherit(&mut built, tracker, ancestors, Some(&mut fields), context, None);
                let _ = tracker.emit(built);
            },
        );
    }

    fn error_event<S>(&self, event: &tracing::Event<'_>, ctx: &LayerContext<'_, S>)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        // Only inside a request: a context with a request id or the request's method and route
        // (a middleware that sets no request id).
        let Some(context) = event_context(ctx, event).filter(|c| c.names_request()) else { return };
        self.using_tracker(
            || event_route(ctx, event),
            |tracker| {
                let Some(mut error) = tracker.catalog().role_event(Role::Error).map(Event::named) else { return };
                let metadata = event.metadata();
                let location = match (metadata.file(), metadata.line()) {
                    (Some(file), Some(line)) => format!("{file}:{line}"),
                    _ => metadata.name().to_owned(),
                };
                error = error
                    .with_fact(Fact::ErrorType, metadata.target())
                    .with_fact(Fact::ErrorMessage, format!("error logged at {location}"));
                if let Some(scope) = ctx.event_scope(event) {
                    inherit(&mut error, tracker, scope.from_root(), None, Some(context.clone()), None);
                }
                // Held by the request until it ends: a front door reporting the same failure
                // replaces it (one error, one event). The held event carries a copy of the context
                // that does not hold the request's error slot in turn.
                let own = error.context.take().unwrap_or_else(|| context.clone());
                let error = error.with_context(Arc::new(own.detached()));
                crate::logged_error::hold(&context, tracker, error);
            },
        );
    }
}

/// Marks the nearest enclosing span that emits an event as failed with `error`; whether that
/// span names a `tally.on_err` event, which then reports the failure.
fn mark_failed<S>(ctx: &LayerContext<'_, S>, event: &tracing::Event<'_>, error: String) -> bool
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(scope) = ctx.event_scope(event) else { return false };
    for span in scope {
        let mut extensions = span.extensions_mut();
        if let Some(data) = extensions.get_mut::<SpanFields>()
            && data.fields.event.is_some()
        {
            let handled = data.fields.on_err.is_some();
            data.failure = Some(error);
            return handled;
        }
    }
    false
}

/// Applies the ancestors' fields (root first, so the innermost wins), then the event's own,
/// converted to the declared types; identities and groups go into a context nested over the
/// request's (`base`), which the event carries.
///
/// Works in place and takes the own fields by reference: an event is emitted per call, and
/// moving the few hundred bytes of `Fields` and `Event` around was most of its cost.
fn inherit<'a, S>(
    event: &mut Event,
    tracker: &Tracker,
    ancestors: impl Iterator<Item = SpanRef<'a, S>>,
    own: Option<&mut Fields>,
    base: Option<Arc<Context>>,
    duration: Option<Duration>,
) where
    S: Subscriber + for<'l> LookupSpan<'l>,
{
    // Looked up once, and only when a span has fields to inherit.
    let mut def = None;
    // Only made when a span has fields: most events are inside none.
    let mut inherited: Option<Fields> = None;
    for span in ancestors {
        let extensions = span.extensions();
        let Some(data) = extensions.get::<SpanFields>() else { continue };
        let def = *def.get_or_insert_with(|| tracker.catalog().event(event.name()));
        // Inherited fields only fill what the event declares.
        let declared =
            data.fields.properties.iter().filter(|(name, _)| def.is_some_and(|d| d.property(name.as_ref()).is_some()));
        inherited.get_or_insert_default().merge(
            declared.cloned(),
            data.fields.identity.iter().cloned(),
            data.fields.groups.iter().cloned(),
        );
    }
    // The event's own fields come last, so they win.
    let (identity, groups) = match (inherited, own) {
        (Some(mut inherited), Some(own)) => {
            inherited.merge(take(&mut own.properties), take(&mut own.identity), take(&mut own.groups));
            event.extend_properties(inherited.properties);
            (inherited.identity, inherited.groups)
        }
        (Some(inherited), None) => {
            event.extend_properties(inherited.properties);
            (inherited.identity, inherited.groups)
        }
        // The visitor's list becomes the event's: no second allocation.
        (None, Some(own)) => {
            event.extend_properties(take(&mut own.properties));
            (take(&mut own.identity), take(&mut own.groups))
        }
        (None, None) => (Vec::new(), Vec::new()),
    };
    // Values are converted to their declared types on the worker (tracing records numbers as
    // text, lists as Debug).
    event.coerce_types = true;
    if let Some(duration) = duration {
        event.set_duration(duration);
    }
    if identity.is_empty() && groups.is_empty() {
        event.context = base;
        return;
    }
    let mut person = Identity::new();
    for (kind, value) in identity {
        person.set(kind, value);
    }
    let mut context = Context::new().with_identity(person);
    for (group, key) in groups {
        context = context.with_group(group, key);
    }
    event.context = Some(Arc::new(match base {
        Some(base) => context.over(&base),
        None => context,
    }));
}
