//! A `tracing_subscriber::Layer` that turns spans and events carrying `tally.event` into
//! catalog events.
//!
//! ```
//! use tracing_subscriber::prelude::*;
//! let subscriber = tracing_subscriber::registry().with(tally_runtime::TallyLayer::new());
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
//! - **Errors as events** (off by default, [`TallyLayer::errors_as_events`]): an ERROR-level
//!   event inside a request becomes the catalog's `role = "error"` event, with the callsite as
//!   its message: never the formatted message or field values, which may hold personal data.
//!
//! The layer ignores tracing output from tally itself, posthog-rs, reqwest, hyper, h2 and
//! rustls, and everything on the tally worker thread, so delivery can never feed back into
//! events. Events without `tally.event` cost one field-name lookup.

use std::borrow::Cow;
use std::fmt;
use std::mem::take;
use std::time::{Duration, Instant};

use smol_str::SmolStr;
use tally_catalog::model::Role;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Level, Subscriber};
use tracing_subscriber::layer::{Context as LayerContext, Layer};
use tracing_subscriber::registry::{LookupSpan, SpanRef};

use crate::context::Context;
use crate::event::{Event, Fact, Properties, PropertyName};
use crate::identity::Identity;
use crate::tracker::{self, Tracker};
use crate::value::PropertyValue;

const EVENT_FIELD: &str = "tally.event";
const ON_ERR_FIELD: &str = "tally.on_err";
const IDENTITY_PREFIX: &str = "tally.identity.";
const GROUP_PREFIX: &str = "tally.group.";

/// Targets whose output never becomes events: tally's own and its HTTP stack's.
const IGNORED_TARGETS: &[&str] = &["tally", "posthog_rs", "reqwest", "hyper", "hyper_util", "h2", "rustls", "tower"];

/// The tally tracing layer. See the [module docs](crate::tracing_layer) for when events fire.
#[derive(Clone, Default)]
pub struct TallyLayer {
    tracker: Option<Tracker>,
    errors_as_events: bool,
}

impl fmt::Debug for TallyLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TallyLayer").field("explicit_tracker", &self.tracker.is_some()).finish()
    }
}

impl TallyLayer {
    /// A layer that emits to the current tracker (the context's, else the installed default).
    pub fn new() -> Self {
        Self::default()
    }

    /// A layer that emits to `tracker`.
    pub fn with_tracker(tracker: Tracker) -> Self {
        Self { tracker: Some(tracker), ..Self::default() }
    }

    /// Turns ERROR-level events inside a request into the catalog's error event.
    pub fn errors_as_events(mut self, enabled: bool) -> Self {
        self.errors_as_events = enabled;
        self
    }

    /// Runs `f` with the layer's tracker, else the current one, without cloning the handle
    /// (a clone is a shared reference count: contended when many threads emit).
    fn using_tracker<R>(&self, f: impl FnOnce(&Tracker) -> R) -> Option<R> {
        match &self.tracker {
            Some(tracker) => Some(f(tracker)),
            None => tracker::with_current(f),
        }
    }
}

/// What the layer keeps per span (in the span's extensions).
#[derive(Default)]
struct SpanFields {
    fields: Fields,
    started: Option<Instant>,
    failed: bool,
}

/// Field values collected by a visitor.
#[derive(Default)]
struct Fields {
    /// Inline up to 23 bytes: most names cost no allocation.
    event: Option<SmolStr>,
    on_err: Option<SmolStr>,
    /// Inline up to six, like the event's own list it becomes: no allocation on the emitting
    /// thread that the worker would free on another core.
    properties: Properties,
    identity: Vec<(&'static str, String)>,
    groups: Vec<(&'static str, String)>,
    has_error: bool,
}

impl Fields {
    /// Later values win.
    fn merge(
        &mut self,
        properties: impl IntoIterator<Item = (PropertyName, PropertyValue)>,
        identity: impl IntoIterator<Item = (&'static str, String)>,
        groups: impl IntoIterator<Item = (&'static str, String)>,
    ) {
        properties.into_iter().for_each(|(name, value)| self.set_property(name, value));
        identity.into_iter().for_each(|(kind, value)| set_keyed(&mut self.identity, kind, value));
        groups.into_iter().for_each(|(group, key)| set_keyed(&mut self.groups, group, key));
    }

    /// Sets a property, replacing an earlier value (a span may record a field again). Called
    /// for every field of every tally event: the value goes straight into the list, not
    /// through a temporary collection, whose copies stalled the visitor.
    #[inline]
    fn set_property(&mut self, name: PropertyName, value: PropertyValue) {
        self.properties.retain(|(n, _)| *n != name);
        self.properties.push((name, value));
    }

    fn set(&mut self, field: &Field, value: PropertyValue) {
        let name = field.name();
        let text = || match value.as_str() {
            Some(text) => SmolStr::new(text),
            None => SmolStr::from(value.to_string()),
        };
        if name == EVENT_FIELD {
            self.event = Some(text());
        } else if name == ON_ERR_FIELD {
            self.on_err = Some(text());
        } else if let Some(kind) = name.strip_prefix(IDENTITY_PREFIX) {
            set_keyed(&mut self.identity, kind, text().into());
        } else if let Some(group) = name.strip_prefix(GROUP_PREFIX) {
            set_keyed(&mut self.groups, group, text().into());
        } else if name == "error" {
            self.has_error = true;
        } else if name != "message" {
            self.set_property(Cow::Borrowed(name), value);
        }
    }
}

/// Sets an identity's or a group's value, replacing an earlier one of the same kind.
fn set_keyed(list: &mut Vec<(&'static str, String)>, key: &'static str, value: String) {
    list.retain(|(k, _)| *k != key);
    list.push((key, value));
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.set(field, value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.set(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.set(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.set(field, value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == EVENT_FIELD {
            self.event = Some(SmolStr::new(value)); // the hot field: inline, no allocation
        } else {
            self.set(field, PropertyValue::text(value));
        }
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.set(field, value.to_string().into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.set(field, format!("{value:?}").into());
    }
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
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        if attrs.fields().is_empty() || ignored(attrs.metadata().target()) {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut data = SpanFields::default();
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
        let SpanFields { mut fields, started, failed } = data;
        let Some(event) = fields.event.take() else { return };
        let name = match (failed, fields.on_err.take()) {
            (true, Some(on_err)) => on_err,
            _ => event,
        };
        self.using_tracker(|tracker| {
            // `#[instrument]` records every argument; only what the event declares is a property.
            let def = tracker.catalog().event(&name);
            fields.properties.retain(|(field, _)| def.is_some_and(|def| def.properties.contains_key(field.as_ref())));
            let parents = span.parent().into_iter().flat_map(|parent| parent.scope().from_root());
            let _ = tracker.emit(build(tracker, name, &mut fields, parents, started.map(|s| s.elapsed())));
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
            // An ERROR-level event.
            if fields.has_error {
                mark_failed(&ctx, event);
            }
            if self.errors_as_events {
                self.error_event(event, &ctx);
            }
            return;
        }
        let Some(name) = fields.event.take() else { return };
        self.using_tracker(|tracker| {
            let scope = ctx.event_scope(event);
            let ancestors = scope.into_iter().flat_map(|s| s.from_root());
            let _ = tracker.emit(build(tracker, name, &mut fields, ancestors, None));
        });
    }

    fn error_event<S>(&self, event: &tracing::Event<'_>, ctx: &LayerContext<'_, S>)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        // Only inside a request: a context with a request id.
        let Some(context) = Context::current().filter(|c| c.get_request_id().is_some()) else { return };
        self.using_tracker(|tracker| {
            let Some(mut error) = tracker.catalog().role_event(Role::Error).map(Event::named) else { return };
            let metadata = event.metadata();
            let location = match (metadata.file(), metadata.line()) {
                (Some(file), Some(line)) => format!("{file}:{line}"),
                _ => metadata.name().to_owned(),
            };
            error = error
                .with_fact(Fact::ErrorType, metadata.target())
                .with_fact(Fact::ErrorMessage, format!("error logged at {location}"))
                .with_context(context);
            if let Some(scope) = ctx.event_scope(event) {
                inherit(&mut error, tracker, scope.from_root(), None, None);
            }
            let _ = tracker.emit(error);
        });
    }
}

/// Marks the nearest enclosing span that emits an event as failed.
fn mark_failed<S>(ctx: &LayerContext<'_, S>, event: &tracing::Event<'_>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(scope) = ctx.event_scope(event) else { return };
    for span in scope {
        let mut extensions = span.extensions_mut();
        if let Some(data) = extensions.get_mut::<SpanFields>()
            && data.fields.event.is_some()
        {
            data.failed = true;
            return;
        }
    }
}

/// The catalog event for `name` from the collected fields and the enclosing spans.
fn build<'a, S>(
    tracker: &Tracker,
    name: SmolStr,
    fields: &mut Fields,
    ancestors: impl Iterator<Item = SpanRef<'a, S>>,
    duration: Option<Duration>,
) -> Event
where
    S: Subscriber + for<'l> LookupSpan<'l>,
{
    let mut event = Event::from_name(name, 0);
    inherit(&mut event, tracker, ancestors, Some(fields), duration);
    event
}

/// Applies the ancestors' fields (root first, so the innermost wins), then the event's own,
/// converted to the declared types; identities and groups go into a nested context.
///
/// Works in place and takes the own fields by reference: an event is emitted per call, and
/// moving the few hundred bytes of `Fields` and `Event` around was most of its cost.
fn inherit<'a, S>(
    event: &mut Event,
    tracker: &Tracker,
    ancestors: impl Iterator<Item = SpanRef<'a, S>>,
    own: Option<&mut Fields>,
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
        let declared = data
            .fields
            .properties
            .iter()
            .filter(|(name, _)| def.is_some_and(|d| d.properties.contains_key(name.as_ref())));
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
    if !identity.is_empty() || !groups.is_empty() {
        let mut person = Identity::new();
        for (kind, value) in identity {
            person.set(kind, value);
        }
        let mut context = Context::new().identity(person);
        for (group, key) in groups {
            context = context.group(group, key);
        }
        event.context = Some(context.nested());
    }
}
